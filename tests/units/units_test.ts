import assert from "node:assert/strict";
import fc from "fast-check";
import {
  dim,
  Dimension,
  DimensionMismatchError,
} from "../../lib/units/dimension.ts";
import { parseQuantity, parseQuantityAs } from "../../lib/units/quantity.ts";
import * as U from "../../lib/units/constants.ts";
import { UNITS } from "../../lib/units/registry.ts";

const arbDim = fc.array(fc.integer({ min: -4, max: 4 }), {
  minLength: 7,
  maxLength: 7,
}).map((e) => new Dimension(e));

Deno.test("Dimension", async (t) => {
  await t.step("group laws: (a*b)/b = a, a*1 = a, a^2 = a*a, a/a = 1", () => {
    fc.assert(fc.property(arbDim, arbDim, (a, b) => {
      assert.ok(a.mul(b).div(b).equals(a));
      assert.ok(a.mul(Dimension.NONE).equals(a));
      assert.ok(a.pow(2).equals(a.mul(a)));
      assert.ok(a.div(a).isDimensionless);
      assert.ok(a.mul(b).equals(b.mul(a)));
    }));
  });
  await t.step("named dimensions print by name", () => {
    assert.equal(dim(2, 1, -3, -1).toString(), "volt");
    assert.equal(dim(-2, -1, 3, 2).toString(), "siemens");
    assert.equal(Dimension.NONE.toString(), "1");
    assert.equal(dim(1, 0, -1).toString(), "m s^-1");
  });
  await t.step("DimensionMismatchError names both dimensions", () => {
    const e = new DimensionMismatchError(
      "cannot add",
      dim(2, 1, -3, -1),
      dim(0, 0, 0, 1),
    );
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /volt/);
    assert.match(e.message, /amp/);
  });
});

Deno.test("unit constants", async (t) => {
  await t.step("are SI numbers", () => {
    assert.equal(-65 * U.mV, -0.065);
    assert.equal(U.ms, 1e-3);
    assert.equal(U.nS, 1e-9);
    assert.equal(U.uS, 1e-6);
    assert.equal(U.pF, 1e-12);
    assert.equal(U.nA, 1e-9);
    assert.equal(U.amp, 1);
    assert.equal(U.volt, 1);
    assert.equal(U.cm, 1e-2);
    assert.equal(U.umetre, 1e-6);
    assert.ok(Math.abs(U.um2 - 1e-12) < 1e-27);
  });
  await t.step("every SI prefix exists for volt", () => {
    for (
      const p of [
        "y",
        "z",
        "a",
        "f",
        "p",
        "n",
        "u",
        "m",
        "c",
        "d",
        "da",
        "h",
        "k",
        "M",
        "G",
        "T",
        "P",
        "E",
        "Z",
        "Y",
      ]
    ) {
      assert.ok(UNITS.has(`${p}volt`), p);
    }
  });
});

Deno.test("parseQuantity()", async (t) => {
  await t.step("parses values with units", () => {
    assert.equal(parseQuantity("10 nS").value, 1e-8);
    assert.equal(parseQuantity("-65*mV").value, -0.065);
    assert.ok(Math.abs(parseQuantity("1*ufarad*cm**-2").value - 1e-2) < 1e-15);
    assert.equal(
      parseQuantity("1*ufarad*cm**-2").dim.toString(),
      dim(-4, -1, 4, 2).toString(),
    );
    assert.equal(
      parseQuantity("siemens/meter**2").dim.toString(),
      dim(-4, -1, 3, 2).toString(),
    );
    assert.equal(parseQuantity("100 Mohm").value, 1e8);
    const area = parseQuantity("20000 um2").value;
    assert.ok(
      Math.abs(parseQuantity("1 uF/cm2").value * area - 200e-12) < 1e-24,
    );
  });
  await t.step("round trip: value * unit parses back", () => {
    const names = ["mV", "nA", "pF", "nS", "ms", "uS", "Hz", "cm", "um2", "mM"];
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.constantFrom(...names),
        (v, u) => {
          const q = parseQuantity(`${v} ${u}`);
          const one = UNITS.get(u)!;
          assert.ok(
            Math.abs(q.value - v * one.scale) <=
              1e-12 * Math.abs(v * one.scale) + 1e-300,
          );
          assert.ok(q.dim.equals(one.dim));
        },
      ),
    );
  });
  await t.step("errors name the problem", () => {
    assert.throws(() => parseQuantity("10 nSS"), /unknown unit 'nSS'/);
    assert.throws(() => parseQuantity("1 mV + 1 nA"), DimensionMismatchError);
    assert.throws(
      () => parseQuantityAs("10 mV", dim(-2, -1, 3, 2), "gl"),
      /gl = "10 mV" has dimension volt, expected siemens/,
    );
  });
});
