/**
 * NRE training throughput on sbibm two_moons with 10,000 simulations: NRE
 * (NRE-B, 10 atoms, sbi defaults: batch 200, Adam 5e-4) with the `resnet`
 * and `mlp` classifiers, epochs capped (`--epochs=N`, default 20; `--quick`:
 * 3). Throughput is reported as training rows (x values) per second and as
 * classifier evaluations ((θ, x) pairs, forward + backward) per second; NRE_A
 * (2 pairs per row) is measured too for comparison. Self-check: the best
 * validation loss must beat chance (log 10 for 10 atoms, log 2 for NRE_A).
 * Writes out/nre_bench.json.
 *
 *   deno run -A bench/nre_bench.ts [--quick] [--epochs=20]
 */
import { NRE, NRE_A } from "../lib/inference/methods/nre.ts";
import { activeBackend } from "../lib/inference/estimators/_backend.ts";
import { getTask } from "./sbibm/tasks.ts";

const quick = Deno.args.includes("--quick");
const epochsArg = Deno.args.find((a) => a.startsWith("--epochs="));
const epochs = epochsArg ? Number(epochsArg.slice(9)) : quick ? 3 : 20;
const nSim = 10_000;

const task = getTask("two_moons");
const theta = task.prior.sample(nSim, 1);
const x = task.simulate(theta, 2);

interface Row {
  method: string;
  classifier: string;
  atomsPerRow: number;
  epochs: number;
  seconds: number;
  trainingRowsPerSecond: number;
  pairsPerSecond: number;
  bestValidationLoss: number;
  chanceLoss: number;
}
const rows: Row[] = [];
const runs = [
  { method: "NRE (NRE_B)", classifier: "resnet", atoms: 10 },
  { method: "NRE (NRE_B)", classifier: "mlp", atoms: 10 },
  { method: "NRE_A", classifier: "resnet", atoms: 2 },
  { method: "NRE_A", classifier: "mlp", atoms: 2 },
] as const;
for (const r of runs) {
  const opts = { prior: task.prior, classifier: r.classifier, seed: 3 };
  const m = r.atoms === 10 ? new NRE(opts) : new NRE_A(opts);
  m.appendSimulations(theta, x);
  const s = await m.train({ maxEpochs: epochs, showProgress: false });
  m.dispose();
  const chance = Math.log(r.atoms);
  const row: Row = {
    method: r.method,
    classifier: r.classifier,
    atomsPerRow: r.atoms,
    epochs: s.epochs,
    seconds: s.trainingTime,
    trainingRowsPerSecond: s.samplesPerSecond,
    pairsPerSecond: s.samplesPerSecond * r.atoms,
    bestValidationLoss: s.bestValidationLoss,
    chanceLoss: chance,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  if (!(s.bestValidationLoss < chance)) {
    throw new Error(
      `${r.method} ${r.classifier}: validation loss ${s.bestValidationLoss} does not beat chance ${chance}`,
    );
  }
}
const result = {
  task: "two_moons",
  simulations: nSim,
  trainingBatchSize: 200,
  backend: activeBackend(),
  quick,
  runs: rows,
};
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/nre_bench.json", JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
