// Worker of the CPU backend: compiles the kernel source once and runs neuron
// ranges on shared memory. Messages: {type:"init", src, seed, nRandom, io}
// and {type:"run", n0, n1, k0, steps, rec, recordStart, recordCount}.
import { makeRuntime } from "./_cpu_runtime.ts";

type Run = (
  n0: number,
  n1: number,
  k0: number,
  steps: number,
  io: Record<string, unknown>,
) => void;
let run: Run | null = null;
let io: Record<string, unknown> = {};

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data;
  try {
    if (m.type === "init") {
      run = new Function("rt", m.src)(makeRuntime(m.seed, m.nRandom)) as Run;
      io = m.io;
      self.postMessage({ type: "ready" });
    } else if (m.type === "run") {
      const spN: number[] = [];
      const spK: number[] = [];
      const local = {
        ...io,
        rec: m.rec,
        recordStart: m.recordStart,
        recordCount: m.recordCount,
        spikeNeuron: spN,
        spikeStep: spK,
      };
      run!(m.n0, m.n1, m.k0, m.steps, local);
      self.postMessage({
        type: "done",
        spN: Int32Array.from(spN),
        spK: Int32Array.from(spK),
      });
    }
  } catch (e) {
    self.postMessage({ type: "error", message: (e as Error).message });
  }
};
