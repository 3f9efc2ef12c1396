// Throughput tracked over time (issue #17): runs the benches, writes
// bench/results/<date>_<machine-tag>.json, and prints each figure's change
// against the last committed result for the same machine tag, flagging the
// changes beyond the run-to-run noise measured.
//
//   deno task bench              quick profile: each quick bench 3 times
//   deno task bench --full       also the long benches, once each, at their
//                                default (long) sizes
//   options: --repeats N (quick repeats, default 3), --tag NAME (machine tag,
//   default from the CPU model and core count), --note TEXT (stored in the
//   result, e.g. "machine loaded by other processes"), --only a,b (bench
//   names), --no-write (compare only)
//
// Figures: every numeric field named *PerSecond / *PerCpuSecond / ratio*
// (higher is better) of the rows in each bench's JSON, named by the row's identifying
// fields (strings and the size-like fields below), and each bench's wall
// time. The median over the repeats is the figure; its noise is the relative
// spread (max − min) / median of the repeats. A change against the previous
// result is flagged when it exceeds the larger of the two results' noise for
// that figure (a figure measured once takes the noise of the quick figure of
// the same name, else it is never flagged: "noise unknown").
import { parseArgs } from "node:util";

const root = new URL("../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    full: { type: "boolean", default: false },
    repeats: { type: "string", default: "3" },
    tag: { type: "string" },
    note: { type: "string", default: "" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) {
  throw new RangeError(
    `--repeats must be a positive integer, got ${values.repeats}`,
  );
}

interface Bench {
  name: string;
  file: string;
  args: string[];
  /** The JSON it writes (relative to the repo root); none: wall time only. */
  json?: string;
  /** Quick benches run `repeats` times in both profiles; long ones once, with --full. */
  quick: boolean;
}
const BENCHES: Bench[] = [
  {
    name: "simulate",
    file: "bench/simulate_bench.ts",
    args: ["--sizes", "10000", "--steps", "1000"],
    json: "out/simulate_bench.json",
    quick: true,
  },
  {
    name: "brian",
    file: "bench/brian_bench.ts",
    args: ["--sizes", "10000", "--steps", "500", "--no-standalone"],
    json: "out/brian_bench.json",
    quick: true,
  },
  {
    name: "fit",
    file: "bench/fit_bench.ts",
    args: [
      "--quick",
      "--throughput-only",
      "--devices",
      "cpu",
      "--batches",
      "100",
    ],
    json: "out/fit_bench.json",
    quick: true,
  },
  // long ones (--full), at their own defaults
  {
    name: "simulate-full",
    file: "bench/simulate_bench.ts",
    args: [],
    json: "out/simulate_bench.json",
    quick: false,
  },
  {
    name: "brian-full",
    file: "bench/brian_bench.ts",
    args: ["--out", "out/brian_bench_full.json"],
    json: "out/brian_bench_full.json",
    quick: false,
  },
  {
    name: "fit-full",
    file: "bench/fit_bench.ts",
    args: ["--devices", "cpu"],
    json: "out/fit_bench.json",
    quick: false,
  },
  {
    name: "stream",
    file: "bench/stream_bench.ts",
    args: ["--quick"],
    json: "out/stream_bench.json",
    quick: false,
  },
  {
    name: "simulate-gpu",
    file: "bench/simulate_gpu_bench.ts",
    args: [],
    json: "out/simulate_gpu_bench.json",
    quick: false,
  },
  {
    name: "inference",
    file: "bench/inference_bench.ts",
    args: [],
    json: "out/inference_bench.json",
    quick: false,
  },
  {
    name: "nle",
    file: "bench/nle_bench.ts",
    args: [],
    json: "out/nle_bench.json",
    quick: false,
  },
  {
    name: "nre",
    file: "bench/nre_bench.ts",
    args: [],
    json: "out/nre_bench.json",
    quick: false,
  },
  {
    name: "optimizer",
    file: "bench/optimizer_bench.ts",
    args: [],
    json: "out/optimizer_bench.json",
    quick: false,
  },
  {
    name: "distributed",
    file: "bench/distributed_bench.ts",
    args: [],
    json: "out/distributed_bench.json",
    quick: false,
  },
  {
    name: "stream-refine",
    file: "bench/stream_refine_bench.ts",
    args: [],
    quick: false,
  },
  {
    name: "abf-stream-rss",
    file: "bench/abf_stream_rss.ts",
    args: [],
    quick: false,
  },
];
const only = values.only?.split(",");
const benches = BENCHES.filter((b) =>
  (b.quick || values.full) && (!only || only.includes(b.name))
);
if (only) {
  for (const o of only) {
    if (!BENCHES.some((b) => b.name === o)) {
      throw new RangeError(
        `--only: unknown bench "${o}" (known: ${
          BENCHES.map((b) => b.name).join(", ")
        })`,
      );
    }
  }
}

// ------------------------------------------------------------ the machine
const loadavg = (): number[] =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
function cpuModel(): string {
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(
      /^model name\s*:\s*(.+)$/m,
    );
    return m ? m[1].trim() : "unknown";
  } catch {
    return "unknown";
  }
}
const model = cpuModel();
const cores = navigator.hardwareConcurrency;
const tag = values.tag ??
  `${
    model.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, "")
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
  }-${cores}c`;
if (!/^[a-z0-9][a-z0-9._-]*$/i.test(tag)) {
  throw new RangeError(`--tag must be letters, digits, . _ -, got "${tag}"`);
}

async function git(args: string[]): Promise<string | null> {
  try {
    const o = await new Deno.Command("git", {
      args,
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).output();
    return o.success ? new TextDecoder().decode(o.stdout) : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------ figures
const ID_KEYS = new Set([
  "n",
  "threads",
  "batch",
  "sets",
  "steps",
  "chunkSamples",
  "samples",
  "nNeurons",
  "size",
]);
const RATE = /(PerSecond|PerCpuSecond)$|^ratio/;
interface Figure {
  higherIsBetter: boolean;
  samples: number[];
  median: number;
  /** (max − min) / median over the samples; null with one sample. */
  noise: number | null;
}
function extract(prefix: string, x: unknown, into: Map<string, number>): void {
  if (Array.isArray(x)) {
    for (const e of x) extract(prefix, e, into);
    return;
  }
  if (x === null || typeof x !== "object") return;
  const o = x as Record<string, unknown>;
  const id = Object.entries(o)
    .filter(([k, v]) =>
      typeof v === "string" && k !== "date" ||
      ID_KEYS.has(k) && typeof v === "number"
    )
    .map(([k, v]) => (typeof v === "string" ? v : `${k}=${v}`))
    .join(" ");
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number" && RATE.test(k) && Number.isFinite(v)) {
      const name = `${prefix} ${id} ${k}`.replace(/\s+/g, " ").trim();
      into.set(name, v);
    } else if (typeof v === "object") {
      extract(`${prefix} ${k}`, v, into);
    }
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ------------------------------------------------------------ run
const started = new Date();
const loadStart = loadavg();
const samples = new Map<string, { higher: boolean; xs: number[] }>();
const add = (name: string, v: number, higher: boolean) => {
  if (!samples.has(name)) samples.set(name, { higher, xs: [] });
  samples.get(name)!.xs.push(v);
};
const benchRuns: {
  name: string;
  args: string[];
  runs: number;
  ok: boolean;
  seconds: number[];
  error?: string;
}[] = [];
for (const b of benches) {
  const times = b.quick ? repeats : 1;
  const run = {
    name: b.name,
    args: b.args,
    runs: 0,
    ok: true,
    seconds: [] as number[],
    error: undefined as string | undefined,
  };
  benchRuns.push(run);
  for (let r = 0; r < times; r++) {
    const t0 = performance.now();
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", b.file, ...b.args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const s = (performance.now() - t0) / 1000;
    run.runs++;
    if (!o.success) {
      run.ok = false;
      const err = new TextDecoder().decode(o.stderr).trim().split("\n").slice(
        -5,
      ).join("\n");
      run.error = err;
      console.log(
        `${b.name}: FAILED (exit ${o.code}) after ${s.toFixed(1)} s\n${err}`,
      );
      break;
    }
    run.seconds.push(+s.toFixed(2));
    add(`${b.name} wallSeconds`, s, false);
    let n = 0;
    if (b.json) {
      const m = new Map<string, number>();
      extract(b.name, JSON.parse(await Deno.readTextFile(root + b.json)), m);
      for (const [k, v] of m) add(k, v, true);
      n = m.size;
    }
    console.log(
      `${b.name} ${r + 1}/${times}: ${s.toFixed(1)} s, ${n} figures (load ${
        loadavg()[0]
      })`,
    );
  }
}
const figures: Record<string, Figure> = {};
for (
  const [name, { higher, xs }] of [...samples].sort(([a], [b]) =>
    a < b ? -1 : 1
  )
) {
  const med = median(xs);
  figures[name] = {
    higherIsBetter: higher,
    samples: xs.map((x) => +x.toPrecision(4)),
    median: +med.toPrecision(4),
    noise: xs.length > 1
      ? +((Math.max(...xs) - Math.min(...xs)) / med).toFixed(3)
      : null,
  };
}

const denoV = Deno.version;
const head = (await git(["rev-parse", "--short", "HEAD"]))?.trim() ?? null;
const dirty =
  ((await git(["status", "--porcelain", "--untracked-files=no"])) ?? "")
    .trim() !== "";
const date = started.toISOString().slice(0, 10);
const result = {
  date: started.toISOString(),
  profile: values.full ? "full" : "quick",
  repeats,
  commit: head === null
    ? null
    : head + (dirty ? " (with uncommitted changes)" : ""),
  machine: {
    tag,
    cpuModel: model,
    cores,
    deno: denoV.deno,
    v8: denoV.v8,
    typescript: denoV.typescript,
    os: Deno.build.os + "/" + Deno.build.arch,
  },
  loadAverageStart: loadStart,
  loadAverageEnd: loadavg(),
  note: values.note,
  seconds: +((Date.now() - started.getTime()) / 1000).toFixed(1),
  benches: benchRuns,
  figures,
};

// ------------------------------------------------------------ compare
const resultsDir = "bench/results/";
const committed =
  ((await git(["ls-tree", "--name-only", "HEAD", resultsDir])) ?? "")
    .split("\n").map((p) => p.trim())
    .filter((p) =>
      /^\d{4}-\d{2}-\d{2}_/.test(p.slice(resultsDir.length)) &&
      p.endsWith(`_${tag}.json`)
    )
    .sort();
const prevPath = committed.at(-1);
const prev = prevPath
  ? JSON.parse((await git(["show", `HEAD:${prevPath}`])) ?? "null") as
    | typeof result
    | null
  : null;
if (!prev) {
  console.log(
    `\nno committed result for machine tag ${tag} in ${resultsDir}: nothing to compare`,
  );
} else {
  console.log(
    `\nchange against ${prevPath} (${prev.commit ?? "?"}, load ${
      prev.loadAverageStart?.[0]
    }):`,
  );
  const noiseOf = (r: typeof result, name: string): number | null => {
    const f = r.figures[name];
    if (!f) return null;
    if (f.noise !== null) return f.noise;
    const quickName = name.replace(/^(\S+?)-full /, "$1 ");
    return r.figures[quickName]?.noise ?? null;
  };
  let flagged = 0;
  for (const [name, f] of Object.entries(figures)) {
    const p = prev.figures[name];
    if (!p) {
      console.log(`  new        ${name}: ${f.median}`);
      continue;
    }
    const change = f.median / p.median - 1;
    const noises = [noiseOf(result, name), noiseOf(prev, name)].filter((
      x,
    ): x is number => x !== null);
    const noise = noises.length ? Math.max(...noises) : null;
    const better = f.higherIsBetter ? change > 0 : change < 0;
    const mark = noise === null
      ? "?"
      : Math.abs(change) > noise
      ? (flagged++, better ? "BETTER" : "WORSE")
      : "";
    console.log(
      `  ${mark.padEnd(10)} ${name}: ${p.median} → ${f.median} (${
        change >= 0 ? "+" : ""
      }${(100 * change).toFixed(1)}%, noise ${
        noise === null ? "unknown" : `±${(100 * noise).toFixed(1)}%`
      })`,
    );
  }
  for (const name of Object.keys(prev.figures)) {
    const ran = benchRuns.some((b) => name.startsWith(`${b.name} `));
    if (!(name in figures) && ran) console.log(`  gone       ${name}`);
  }
  console.log(`${flagged} figure(s) changed beyond the run-to-run noise`);
}

if (!values["no-write"]) {
  const path = `${resultsDir}${date}_${tag}.json`;
  await Deno.mkdir(root + resultsDir, { recursive: true });
  await Deno.writeTextFile(root + path, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path}`);
}
if (benchRuns.some((b) => !b.ok)) Deno.exit(1);
