// Device selection, pipeline caching and buffer lifetimes of the WebGPU backend.
import assert from "node:assert/strict";
import {
  GpuUnavailableError,
  liveBufferCount,
  pipelineCompileCount,
  webgpuBackend,
} from "../../gpu/mod.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { Runner, selectBackend } from "../../lib/simulation/runner.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { lif } from "../golden/_models.ts";
import { hasAdapter } from "./_gpu.ts";

const ignore = !hasAdapter;

Deno.test({
  name:
    "webgpuBackend: 200 simulations free every buffer and compile the pipeline once",
  ignore,
  fn: async (t) => {
    const model = lif();
    const I = [
      new Float64Array(300).fill(0.5e-9),
      new Float64Array(300).fill(0.3e-9),
    ];
    const opts = {
      dt: 0.1e-3,
      steps: 300,
      input: { I },
      init: { v: "-70 mV" },
      device: "webgpu" as const,
    };
    await simulate(model, opts); // compiles
    const start = liveBufferCount();
    const compiled = pipelineCompileCount();
    const first = await simulate(model, opts);
    for (let s = 0; s < 199; s++) {
      const r = await simulate(model, { ...opts, params: {} });
      if (s % 50 === 0) assert.deepEqual(r.spikeSteps, first.spikeSteps);
    }
    await t.step("live buffers return to their start value", () => {
      assert.equal(liveBufferCount(), start);
    });
    await t.step("no pipeline was compiled again", () => {
      assert.equal(pipelineCompileCount(), compiled);
    });
    await t.step(
      "a runner holds buffers until dispose(); dispose() during a run frees them after it",
      async () => {
        const r = await Runner.create(model, { ...opts, nNeurons: 2 });
        assert.ok(liveBufferCount() > start);
        const p = r.step(100);
        r.dispose();
        await p;
        assert.equal(liveBufferCount(), start);
        await assert.rejects(r.step(1), /disposed/);
      },
    );
    await t.step(
      "a new record list compiles a new pipeline, an old one is reused",
      async () => {
        await simulate(model, { ...opts, record: [] });
        assert.equal(pipelineCompileCount(), compiled + 1);
        await simulate(model, { ...opts, record: [] });
        await simulate(model, opts);
        assert.equal(pipelineCompileCount(), compiled + 1);
      },
    );
  },
});

Deno.test({
  name: "selectBackend(): webgpu, auto and the error without an adapter",
  ignore,
  fn: async (t) => {
    await t.step(
      '"auto" and "webgpu" pick the WebGPU backend when an adapter exists',
      async () => {
        assert.equal(await selectBackend("auto"), webgpuBackend);
        assert.equal(await selectBackend("webgpu"), webgpuBackend);
        const m = new NeuronModel("dv/dt = -v/tau : volt", {
          namespace: { tau: "10 ms" },
        });
        const r = await simulate(m, {
          dt: 1e-4,
          steps: 10,
          init: { v: 0.01 },
          device: "auto",
        });
        assert.equal(r.device, "webgpu");
        assert.match(r.deviceReason, /chose WebGPU/);
        assert.ok(Math.abs(r.traces.v[0][9] - 0.01 * Math.exp(-0.09)) < 1e-8);
        // WebGPU is f32: an explicit f64 is refused, and keeps "auto" on the CPU
        await assert.rejects(
          () =>
            simulate(m, {
              dt: 1e-4,
              steps: 10,
              device: "webgpu",
              precision: "f64",
            }),
          RangeError,
        );
        const f64 = await simulate(m, {
          dt: 1e-4,
          steps: 10,
          device: "auto",
          precision: "f64",
        });
        assert.equal(f64.device, "cpu");
        assert.match(f64.deviceReason, /precision "f64"/);
      },
    );
    await t.step(
      '"webgpu" without an adapter throws GpuUnavailableError with the reason (subprocess)',
      async () => {
        const code = `
        Object.defineProperty(navigator.gpu, "requestAdapter", { value: () => Promise.resolve(null) });
        const { GpuUnavailableError } = await import(${
          JSON.stringify(new URL("../../gpu/mod.ts", import.meta.url).href)
        });
        const { simulate } = await import(${
          JSON.stringify(
            new URL("../../lib/simulation/simulate.ts", import.meta.url).href,
          )
        });
        const { NeuronModel } = await import(${
          JSON.stringify(
            new URL("../../lib/simulation/neuron_model.ts", import.meta.url)
              .href,
          )
        });
        const m = new NeuronModel("dv/dt = -v/(10*ms) : volt");
        const auto = await simulate(m, { dt: 1e-4, steps: 5, init: { v: 0.01 }, device: "auto" });
        try {
          await simulate(m, { dt: 1e-4, steps: 5, device: "webgpu" });
          console.log("no error");
        } catch (e) {
          console.log(JSON.stringify({ ok: e instanceof GpuUnavailableError, name: e.name, message: e.message, auto: auto.device }));
        }`;
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["eval", code],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout).trim();
        const res = JSON.parse(text.split("\n").pop()!);
        assert.equal(res.ok, true, text);
        assert.equal(res.name, "GpuUnavailableError");
        assert.match(
          res.message,
          /device "webgpu" requested but .*no adapter.*mesa-vulkan-drivers/,
        );
        assert.equal(res.auto, "cpu");
      },
    );
    await t.step("GpuUnavailableError is an Error with its name", () => {
      const e = new GpuUnavailableError("x");
      assert.ok(e instanceof Error);
      assert.equal(e.name, "GpuUnavailableError");
    });
  },
});
