// WGSL rendering of the IR (no GPU needed).
import assert from "node:assert/strict";
import { renderWgslKernel, WgslRenderer } from "../../gpu/mod.ts";
import { call, name, num } from "../../lib/equations/ast.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { hhSynthetic, hhTutorial, lif } from "../golden/_models.ts";

Deno.test("WgslRenderer", async (t) => {
  const r = new WgslRenderer(lif().program);
  await t.step("literals are f32 values that parse back exactly", () => {
    assert.equal(r.literal(1), "1.0f");
    assert.equal(r.literal(-0.065), `(-${Math.fround(0.065)}f)`);
    assert.equal(r.literal(1e-10), `${Math.fround(1e-10)}f`);
    assert.equal(r.literal(1e21), `${Math.fround(1e21)}f`);
    assert.equal(r.literal(Infinity), "_inf()");
    for (
      const x of [0.1, 1 / 3, 2e-10, 123456.789, 2 ** 40, 2 ** -40, 7, 1e30]
    ) {
      const s = r.literal(x).replace(/[()f]/g, "");
      assert.match(
        r.literal(x),
        /^(\(-)?(\d+\.\d*|\.\d+)(e[+-]?\d+)?f\)?$/,
        "WGSL decimal float literal",
      );
      assert.equal(Math.fround(Number(s)), Math.fround(x));
    }
  });
  await t.step(
    "integer powers are products (WGSL's pow is NaN for negative bases)",
    () => {
      const x = name("v");
      const pw = (e: number) =>
        r.expr({
          kind: "binary",
          op: "**",
          left: x,
          right: num(e),
          start: -1,
          end: -1,
        });
      assert.equal(pw(2), "_p2(m_v)");
      assert.equal(pw(3), "_p3(m_v)");
      assert.equal(pw(-1), "(1.0f / m_v)");
      assert.equal(pw(0.5), "sqrt(m_v)");
      assert.equal(pw(1.7), `_pow(m_v, ${r.literal(1.7)})`);
    },
  );
  await t.step(
    "booleans in arithmetic become 0/1; int() of a condition",
    () => {
      assert.equal(
        r.expr(call("int", name("not_refractory"))),
        "select(0.0f, 1.0f, nr)",
      );
      const cmp = {
        kind: "binary" as const,
        op: ">" as const,
        left: name("v"),
        right: num(0),
        start: -1,
        end: -1,
      };
      assert.equal(
        r.expr({
          kind: "binary",
          op: "*",
          left: cmp,
          right: name("v"),
          start: -1,
          end: -1,
        }),
        "(select(0.0f, 1.0f, (m_v > 0.0f)) * m_v)",
      );
    },
  );
  await t.step(
    "the refractory test uses integer steps since the last spike",
    () => {
      const e = call("timestep", {
        kind: "binary",
        op: "-",
        left: name("t"),
        right: name("lastspike"),
        start: -1,
        end: -1,
      }, name("dt"));
      assert.equal(r.expr(e), "f32(k - ls)");
    },
  );
  await t.step("unknown functions throw a TypeError", () => {
    assert.throws(() => r.expr(call("gamma", num(1))), TypeError);
  });
});

Deno.test("renderWgslKernel()", async (t) => {
  await t.step("one kernel per method, with the Brian per-step order", () => {
    for (
      const method of [
        "euler",
        "rk2",
        "rk4",
        "heun",
        "exponential_euler",
        "exact",
      ]
    ) {
      const m = new NeuronModel("dv/dt = (1 - v)/tau : 1", {
        method,
        namespace: { tau: "10 ms" },
        threshold: "v > 0.9",
        reset: "v = 0",
      });
      const src = renderWgslKernel(m.program, {
        record: ["v"],
        accumulate: null,
        lanes: 1,
      });
      const rec = src.indexOf("rec[");
      const upd = src.indexOf("m_v_0 = m__v_0");
      const thr = src.indexOf("if ((m_v_0 > ");
      assert.ok(
        rec > 0 && upd > rec && thr > upd,
        `${method}: record → integrate → threshold`,
      );
      assert.ok(src.includes("ring["), "spikes go to the ring buffer");
    }
  });
  await t.step("noise draws use the counter-based generator", () => {
    const m = new NeuronModel("dv/dt = -v/tau + xi*tau**-0.5 : 1", {
      namespace: { tau: "10 ms" },
      method: "milstein",
    });
    const src = renderWgslKernel(m.program, { record: [], lanes: 1 });
    assert.match(src, /_randn\(i_0, k \+ u\.origin, 0u\)/);
    assert.match(src, /fn _hash32/);
  });
  await t.step(
    "two lanes render two independent neurons; t comes from the time table only when used",
    () => {
      const src = renderWgslKernel(hhTutorial().program, {
        record: [],
        lanes: 2,
      });
      assert.ok(src.includes("m_v_0") && src.includes("m_v_1"));
      assert.ok(!src.includes("tt["));
      assert.ok(
        renderWgslKernel(hhSynthetic().program, { record: [] }).includes(
          "let t_f = tt[",
        ),
      );
    },
  );
  await t.step("accumulation reads <var>_target and the weights", () => {
    const src = renderWgslKernel(hhTutorial().program, {
      record: [],
      accumulate: { variable: "v", weighted: true },
    });
    assert.match(src, /acc_0 = acc_0 \+ w \* d_0 \* d_0/);
  });
});
