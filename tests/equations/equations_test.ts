import assert from "node:assert/strict";
import fc from "fast-check";
import { parseEquations } from "../../lib/equations/equations.ts";
import { describeModel } from "../../lib/equations/model.ts";
import { EquationSyntaxError } from "../../lib/equations/errors.ts";
import { DimensionMismatchError } from "../../lib/units/dimension.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { HH_NAMESPACE, HH_TUTORIAL } from "../golden/_models.ts";

Deno.test("parseEquations()", async (t) => {
  await t.step(
    "differential equations, subexpressions, parameters, flags, comments, multi-line",
    () => {
      const defs = parseEquations(`
      dv/dt = (gl*(El - v) + I)/Cm   # leak
              + 0*mV/ms : volt (unless refractory)
      I_syn = g*(E - v) : amp
      g : siemens (constant, shared)
    `);
      assert.deepEqual(defs.map((d) => [d.kind, d.name, d.unit, d.flags]), [
        ["differential", "v", "volt", ["unless refractory"]],
        ["subexpression", "I_syn", "amp", []],
        ["parameter", "g", "siemens", ["constant", "shared"]],
      ]);
    },
  );
  await t.step("syntax errors carry line, column and a caret", () => {
    try {
      parseEquations("dv/dt = -v/tau : volt\ndw/dt = (v + ) : 1");
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof EquationSyntaxError);
      assert.equal(e.line, 2);
      assert.equal(e.column, 14);
      assert.match(e.message, /\n {2}dw\/dt = \(v \+ \) : 1\n {15}\^/);
    }
  });
  await t.step(
    "fuzz: any input gives definitions or a typed error, never a crash",
    () => {
      const pieces = [
        "dv/dt",
        "=",
        "v",
        "-v/tau",
        ":",
        "volt",
        "(",
        ")",
        "constant",
        "\n",
        "#",
        "*",
        "**",
        "exp(",
        "mV",
        "1",
        " ",
        "and",
        "x",
      ];
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 60 }),
            fc.array(fc.constantFrom(...pieces), { maxLength: 20 }).map((a) =>
              a.join(" ")
            ),
          ),
          (src) => {
            try {
              describeModel(src, { namespace: { tau: "10 ms" } });
            } catch (e) {
              if (
                !(e instanceof SyntaxError || e instanceof TypeError ||
                  e instanceof ReferenceError || e instanceof RangeError)
              ) throw e;
            }
          },
        ),
        { numRuns: 2000 },
      );
    },
  );
});

Deno.test("describeModel() dimension checks", async (t) => {
  await t.step("infers input and plain-number constant dimensions", () => {
    const m = describeModel(HH_TUTORIAL, {
      namespace: { ...HH_NAMESPACE, El: -0.065 },
    });
    assert.deepEqual(m.inputs, ["I"]);
    assert.equal(m.variables.get("I")!.dim.toString(), "amp");
    assert.equal(m.variables.get("El")!.dim.toString(), "volt");
  });
  await t.step(
    "unit mismatch in a sum: DimensionMismatchError with position",
    () => {
      try {
        describeModel("dv/dt = (El - v)/tau : volt\nEl : amp", {
          namespace: { tau: "10 ms" },
        });
        assert.fail("no error");
      } catch (e) {
        assert.ok(e instanceof DimensionMismatchError);
        assert.match(
          e.message,
          /cannot subtract quantities of different dimensions.*amp, volt/,
        );
        assert.equal(e.line, 1);
        assert.equal(e.column, 9); // the parenthesised difference
      }
    },
  );
  await t.step("RHS of dx/dt must have dim(x)/second", () => {
    assert.throws(
      () => describeModel("dv/dt = -v : volt"),
      (e: Error) =>
        e instanceof DimensionMismatchError &&
        /right-hand side of dv\/dt has dimension volt, expected/.test(
          e.message,
        ),
    );
  });
  await t.step("exp needs a dimensionless argument", () => {
    assert.throws(
      () => describeModel("dv/dt = exp(v)/ms * mV : volt"),
      /exp\(\) needs a dimensionless argument/,
    );
  });
  await t.step("unknown flag", () => {
    assert.throws(
      () =>
        describeModel("dv/dt = -v/tau : volt (constant)", {
          namespace: { tau: "1 ms" },
        }),
      (e: Error) =>
        e instanceof EquationSyntaxError &&
        /unknown flag 'constant' for a differential equation/.test(e.message),
    );
  });
  await t.step("non-base unit in a declaration", () => {
    assert.throws(
      () =>
        describeModel("dv/dt = -v/tau : mV", { namespace: { tau: "1 ms" } }),
      /must be a base unit/,
    );
  });
  await t.step("unknown function", () => {
    assert.throws(
      () =>
        describeModel("dv/dt = foo(v)/tau : volt", {
          namespace: { tau: "1 ms" },
        }),
      /unknown function 'foo'/,
    );
  });
  await t.step(
    "a constant whose dimension cannot be inferred must be given with units",
    () => {
      assert.throws(
        () =>
          describeModel("dv/dt = (El - v + R*I)/tau : volt", {
            namespace: { R: 1e8, tau: "10 ms", El: "-70 mV" },
          }),
        /cannot infer/,
      );
      const ok = describeModel("dv/dt = (El - v + R*I)/tau : volt", {
        namespace: { R: 1e8, tau: "10 ms", El: "-70 mV" },
        inputUnits: { I: "amp" },
      });
      assert.equal(ok.variables.get("R")!.dim.toString(), "ohm");
    },
  );
});

Deno.test("NeuronModel() bad input", async (t) => {
  await t.step(
    "typo in a variable name is reported with a suggestion at simulate",
    async () => {
      const m = new NeuronModel(
        "dv/dt = (gll*(El - v) + I)/Cm : volt\ngl : siemens",
        {
          namespace: { El: "-65 mV", Cm: "200 pF" },
          inputUnits: { I: "amp", gll: "siemens" },
        },
      );
      await assert.rejects(
        () =>
          simulate(m, {
            dt: 1e-5,
            steps: 10,
            input: { I: [[0]] },
            params: { gl: 1e-8 },
          }),
        (e: Error) =>
          e.name === "UndefinedNameError" &&
          /'gll' is not defined.*did you mean 'gl'\?/s.test(e.message) &&
          /line 1/.test(e.message),
      );
    },
  );
  await t.step(
    "typo in a threshold is an EquationSyntaxError with position",
    () => {
      assert.throws(
        () =>
          new NeuronModel("dv/dt = -v/tau : volt", {
            namespace: { tau: "1 ms" },
            threshold: "vv > 1*mV",
          }),
        (e: Error) =>
          e instanceof EquationSyntaxError &&
          /unknown name 'vv' in the threshold; did you mean 'v'\?/.test(
            e.message,
          ),
      );
    },
  );
  await t.step(
    "missing constant: the name becomes an input that must be given",
    async () => {
      const m = new NeuronModel("dv/dt = (El - v)/tau : volt", {
        namespace: { tau: "1 ms" },
      });
      assert.deepEqual(m.inputs, ["El"]);
      await assert.rejects(
        () => simulate(m, { dt: 1e-4, steps: 2 }),
        /the model uses the input 'El' \(volt\) but no input 'El' was given/,
      );
    },
  );
  await t.step("unknown method", () => {
    assert.throws(
      () =>
        new NeuronModel("dv/dt = -v/tau : volt", {
          namespace: { tau: "1 ms" },
          method: "rk3",
        }),
      /unknown integration method 'rk3'/,
    );
  });
  await t.step(
    "exponential_euler rejects a non-linear equation like Brian",
    () => {
      assert.throws(
        () =>
          new NeuronModel("dv/dt = -v**2/(tau*mV) : volt", {
            namespace: { tau: "1 ms" },
            method: "exponential_euler",
          }),
        /not conditionally linear/,
      );
    },
  );
  await t.step("input with the wrong number of rows", async () => {
    const m = new NeuronModel("dv/dt = (I*R - v)/tau : volt", {
      namespace: { tau: "1 ms", R: "1 Mohm" },
    });
    await assert.rejects(
      () =>
        simulate(m, {
          dt: 1e-4,
          steps: 2,
          nNeurons: 4,
          input: { I: [[0], [0], [0]] },
        }),
      (e: Error) =>
        e instanceof RangeError &&
        /input 'I' has 3 rows, but 4 neurons need/.test(e.message),
    );
  });
  await t.step("a reset with the wrong unit", () => {
    assert.throws(
      () =>
        new NeuronModel("dv/dt = -v/tau : volt", {
          namespace: { tau: "1 ms" },
          threshold: "v > 1*mV",
          reset: "v = 2*nA",
        }),
      DimensionMismatchError,
    );
  });
});

Deno.test("default method choice matches Brian", async (t) => {
  const cases: [string, Record<string, string>, string][] = [
    ["dv/dt = (El - v + R*I)/tau : volt (unless refractory)", {
      El: "-70 mV",
      R: "100 Mohm",
      tau: "10 ms",
    }, "exact"],
    [
      "dv/dt = (gL*(EL - v) + gL*DeltaT*exp((v - VT)/DeltaT) - w + I)/C : volt\ndw/dt = (a*(v - EL) - w)/tau_w : amp",
      {
        C: "281 pF",
        gL: "30 nS",
        EL: "-70.6 mV",
        VT: "-50.4 mV",
        DeltaT: "2 mV",
        tau_w: "144 ms",
        a: "4 nS",
      },
      "euler",
    ],
    [HH_TUTORIAL, HH_NAMESPACE, "euler"],
    ["dv/dt = -v/tau + sigma*sqrt(2/tau)*xi : volt", {
      tau: "10 ms",
      sigma: "1 mV",
    }, "euler"],
    ["dv/dt = -v/tau + sigma*v*sqrt(2/tau)*xi/mV : volt", {
      tau: "10 ms",
      sigma: "1 mV",
    }, "heun"],
  ];
  for (const [eqs, ns, expected] of cases) {
    await t.step(`${expected}: ${eqs.split("\n")[0].slice(0, 50)}`, () => {
      assert.equal(new NeuronModel(eqs, { namespace: ns }).method, expected);
    });
  }
});
