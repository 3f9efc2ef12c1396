// Device choice: `device: "auto"` says why it chose the CPU, and an explicit
// precision "f64" with WebGPU (always f32) is an error, not a silent switch.
// This module does not import gpu/, so no WebGPU backend is registered until
// the steps below register stand-ins (the registry is per test module).
import assert from "node:assert/strict";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { chooseBackend, Runner } from "../../lib/simulation/runner.ts";
import {
  type Backend,
  getBackend,
  registerBackend,
} from "../../lib/codegen/backend.ts";
import { cpuBackend } from "../../lib/codegen/cpu_backend.ts";

const model = new NeuronModel("dv/dt = -v/tau : volt", {
  namespace: { tau: "10 ms" },
});
const opts = { dt: 1e-4, steps: 10, init: { v: 0.01 } };

/** A stand-in WebGPU backend that must never compile. */
function fakeGpu(over: Partial<Backend>): Backend {
  return {
    name: "webgpu",
    available: () => Promise.resolve(true),
    compile: () => Promise.reject(new Error("the stand-in must not compile")),
    ...over,
  };
}

Deno.test('device: "auto" says why it chose the CPU', async (t) => {
  await t.step("gpu module not imported", async () => {
    assert.equal(getBackend("webgpu"), undefined);
    const r = await simulate(model, { ...opts, device: "auto" });
    assert.equal(r.device, "cpu");
    assert.match(
      r.deviceReason,
      /chose the CPU: the WebGPU backend is not loaded/,
    );
    assert.match(r.deviceReason, /import "@neurofit\/neurofit\/gpu"/);
  });
  await t.step("explicit cpu says so", async () => {
    const r = await simulate(model, opts);
    assert.equal(r.deviceReason, 'device "cpu" requested');
    const runner = await Runner.create(model, { ...opts, device: "auto" });
    assert.match(runner.deviceReason, /chose the CPU/);
    runner.dispose();
  });
  await t.step("no adapter: the backend's own reason", async () => {
    registerBackend(fakeGpu({
      available: () => Promise.resolve(false),
      unavailableReason: () =>
        Promise.resolve("navigator.gpu.requestAdapter() returned null"),
    }));
    const r = await simulate(model, { ...opts, device: "auto" });
    assert.equal(r.device, "cpu");
    assert.match(
      r.deviceReason,
      /chose the CPU: navigator\.gpu\.requestAdapter\(\) returned null/,
    );
  });
  await t.step("model unsupported on WebGPU", async () => {
    let asked = 0;
    registerBackend(fakeGpu({
      unsupportedReason: (p) => {
        asked++;
        assert.equal(p, model.program);
        return "function 'erf' cannot be rendered to WGSL";
      },
    }));
    const r = await simulate(model, { ...opts, device: "auto" });
    assert.equal(asked, 1);
    assert.equal(r.device, "cpu");
    assert.match(r.deviceReason, /cannot run this model: function 'erf'/);
    // the result is the CPU's: v = 10 mV exp(-t/tau)
    assert.ok(Math.abs(r.traces.v[0][9] - 0.01 * Math.exp(-0.09)) < 1e-15);
  });
  await t.step(
    "a usable WebGPU backend is chosen, with the reason",
    async () => {
      const gpu = fakeGpu({ unsupportedReason: () => null });
      registerBackend(gpu);
      const c = await chooseBackend("auto", model.program);
      assert.equal(c.backend, gpu);
      assert.match(c.reason, /chose WebGPU/);
    },
  );
});

Deno.test('precision "f64" with WebGPU is an error, not a silent f32', async (t) => {
  registerBackend(fakeGpu({ unsupportedReason: () => null }));
  await t.step("device webgpu + f64: RangeError before compiling", async () => {
    await assert.rejects(
      () => simulate(model, { ...opts, device: "webgpu", precision: "f64" }),
      (e: Error) =>
        e instanceof RangeError &&
        /precision "f64".*WebGPU computes in f32/.test(e.message),
    );
  });
  await t.step("device auto + f64 stays on the CPU and says why", async () => {
    const c = await chooseBackend("auto", model.program, "f64");
    assert.equal(c.backend, cpuBackend);
    assert.match(c.reason, /precision "f64" was asked for/);
    const r = await simulate(model, {
      ...opts,
      device: "auto",
      precision: "f64",
    });
    assert.equal(r.device, "cpu");
  });
  await t.step("device webgpu + f32 or no precision is fine", async () => {
    const gpu = getBackend("webgpu");
    assert.equal(
      (await chooseBackend("webgpu", model.program, "f32")).backend,
      gpu,
    );
    assert.equal((await chooseBackend("webgpu", model.program)).backend, gpu);
  });
  await t.step("an unknown device is a RangeError", async () => {
    await assert.rejects(
      () => chooseBackend("tpu" as "cpu"),
      (e: Error) => e instanceof RangeError && /"tpu"/.test(e.message),
    );
  });
});
