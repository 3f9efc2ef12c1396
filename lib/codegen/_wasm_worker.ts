// Worker of the CPU backend's threaded wasm engine: runs one WasmKernel on a
// contiguous range of neurons. Messages: {type:"init", spec} -> "ready";
// {type:"run", steps} -> {type:"done", chunk}; {type:"state"} and
// {type:"accumulator"} -> {type:"value", value}. Errors -> {type:"error"}.
import { WasmKernel } from "./_wasm_kernel.ts";
import type { KernelSpec } from "./backend.ts";

let kernel: WasmKernel | null = null;

self.onmessage = async (ev: MessageEvent) => {
  const m = ev.data;
  try {
    if (m.type === "init") {
      kernel = new WasmKernel(m.spec as KernelSpec);
      self.postMessage({ type: "ready" });
    } else if (m.type === "run") {
      const chunk = await kernel!.run(m.steps);
      self.postMessage({ type: "done", chunk });
    } else if (m.type === "state") {
      self.postMessage({ type: "value", value: await kernel!.readState() });
    } else if (m.type === "accumulator") {
      self.postMessage({
        type: "value",
        value: await kernel!.readAccumulator(),
      });
    }
  } catch (e) {
    self.postMessage({ type: "error", message: (e as Error).message });
  }
};
