// URL import: a script with no deno.json (so no import map) imports each of
// the six entry points over http and uses it. The checkout is served by a
// small file server on 127.0.0.1; the script runs with `--no-config` in a
// temporary folder, with this process's DENO_DIR (npm packages cached).
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  md: "text/markdown; charset=utf-8",
};

/** Files of the checkout by path; nothing outside it, no directory listing. */
async function serveFile(req: Request): Promise<Response> {
  const path = decodeURIComponent(new URL(req.url).pathname);
  if (path.split("/").some((p) => p === ".." || p.startsWith("."))) {
    return new Response("forbidden", { status: 403 });
  }
  const url = new URL(path.slice(1), ROOT);
  try {
    const body = await Deno.readFile(url);
    const ext = path.slice(path.lastIndexOf(".") + 1);
    return new Response(body, {
      headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
    });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

/**
 * Deno caches remote modules by host and port: drop the copy of this run's
 * server (a fresh port each run) from DENO_DIR so runs do not pile up.
 */
async function removeCachedCopy(port: number): Promise<void> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const dirs = JSON.parse(new TextDecoder().decode(info.stdout));
  for (const key of ["modulesCache", "typescriptCache"]) {
    const cache = dirs[key] as string | undefined;
    if (!cache) continue;
    await Deno.remove(`${cache}/http/127.0.0.1_PORT${port}`, {
      recursive: true,
    }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

// The script: one dynamic import per entry point, so each reports its own
// result (the import error, if any) on one JSON line at the end.
const SCRIPT = String.raw`
const base = Deno.args[0];
const dir = Deno.args[1];
const report = {};
async function entry(name, use) {
  try {
    report[name] = { ok: true, ...(await use(await import(base + name))) };
  } catch (e) {
    report[name] = { ok: false, error: String(e?.stack ?? e) };
  }
}

await entry("mod.ts", async (nf) => {
  const lif = new nf.NeuronModel(
    "dv/dt = (El - v + R*I)/tau : volt (unless refractory)",
    {
      namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
      threshold: "v > -50*mV",
      reset: "v = -65*mV",
      refractory: 5 * nf.ms,
    },
  );
  const I = [new Float64Array(1000).fill(0.5e-9)];
  const r = await nf.simulate(lif, {
    dt: 0.1 * nf.ms,
    duration: 100 * nf.ms,
    input: { I },
    init: { v: -70 * nf.mV },
  });
  return { method: lif.method, spikes: r.spikes[0].length };
});

await entry("lib/inference/mod.ts", async (inf) => {
  const prior = new inf.BoxUniform({ low: [-1, -1], high: [1, 1] });
  const theta = prior.sample(300, 1);
  const x = theta.toArray().map(([a, b]) => [a + b, a - b]);
  const npe = new inf.NPE({ prior, densityEstimator: "maf", seed: 1 });
  npe.appendSimulations(theta, x);
  await npe.train({ maxEpochs: 2, showProgress: false });
  const posterior = npe.buildPosterior();
  const s = await posterior.sample(50, { x: [0.3, 0.1] });
  const inBox = s.data.every((v) => v >= -1 && v <= 1);
  posterior.dispose();
  npe.dispose();
  return { rows: s.rows, cols: s.cols, inBox };
});

await entry("streams/mod.ts", async (st) => {
  const path = dir + "/rec.csv";
  const lines = [];
  for (let i = 0; i < 25; i++) lines.push(i + "," + 2 * i);
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  const chunks = await new Promise((resolve, reject) => {
    const out = [];
    st.fromRecording(path, { format: "csv", chunkSamples: 10 }).subscribe({
      next: (c) => out.push({ start: c.start, ch1: Array.from(c.channels[1]) }),
      error: reject,
      complete: () => resolve(out),
    });
  });
  return {
    starts: chunks.map((c) => c.start),
    ch1: chunks.flatMap((c) => c.ch1),
  };
});

await entry("lib/plot/mod.ts", (plot) => {
  const cols = [[], []];
  for (let i = 0; i < 200; i++) {
    const a = Math.sin(i * 1.7), b = Math.cos(i * 0.9) + 0.5 * a;
    cols[0].push(a);
    cols[1].push(b);
  }
  const rows = cols[0].map((a, i) => [a, cols[1][i]]);
  const svg = plot.pairplot(rows, { labels: ["a", "b"] });
  return {
    svgOpen: svg.includes("<svg"),
    svgEnd: svg.trimEnd().slice(-6),
    paths: svg.split("<path").length - 1,
  };
});

await entry("gpu/mod.ts", async (gpu) => {
  const webgpu = await gpu.hasWebGpu();
  const out = { webgpu };
  if (webgpu) {
    const nf = await import(base + "mod.ts");
    const m = new nf.NeuronModel("dv/dt = -v/tau : volt", {
      namespace: { tau: "10 ms" },
    });
    const r = await nf.simulate(m, {
      dt: 1e-4,
      steps: 100,
      init: { v: 0.01 },
      device: "webgpu",
    });
    out.device = r.device;
    out.vEnd = r.traces.v[0][99];
  }
  return out;
});

await entry("distributed/mod.ts", async (d) => {
  const job = {
    kind: "simulate",
    equations: "dv/dt = -v/tau : volt\ntau : second (constant)",
    dt: 1e-4,
    steps: 100,
    params: ["tau"],
    init: { v: 0.01 },
    output: ["v"],
    features: { v: ["last"] },
  };
  const r = await d.simulateBatches(job, [[0.01], [0.02]], { batchSize: 1 });
  const m = d.decodeMatrix(
    d.encodeMatrix({ rows: 1, cols: 2, tag: 0, data: Float64Array.of(1, 2) }),
  );
  return { x: Array.from(r.x), round: Array.from(m.data) };
});

console.log("REPORT " + JSON.stringify(report));
`;

Deno.test({
  name: "every entry point imports by URL and works (no deno.json)",
  // the child process and the server are awaited and closed below
  sanitizeResources: true,
  sanitizeOps: true,
}, async (t) => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    serveFile,
  );
  const dir = await Deno.makeTempDir({ prefix: "neurofit_url_import_" });
  let report: Record<string, Record<string, unknown>>;
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const script = `${dir}/use_neurofit.js`;
    await Deno.writeTextFile(script, SCRIPT);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "-A", script, base, dir],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(240_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const line = stdout.split("\n").find((l) => l.startsWith("REPORT "));
    assert.ok(
      out.success && line,
      `script failed (code ${out.code}):\n${stdout}\n${stderr}`,
    );
    report = JSON.parse(line.slice("REPORT ".length));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await removeCachedCopy(server.addr.port);
  }
  const ok = (name: string) => {
    const r = report[name];
    assert.ok(r, `${name}: no result`);
    assert.ok(r.ok, `${name}: ${r.error}`);
    return r;
  };

  await t.step("mod.ts: simulates the LIF (exact method, 11 spikes)", () => {
    const r = ok("mod.ts");
    assert.equal(r.method, "exact");
    assert.equal(r.spikes, 11);
  });
  await t.step("lib/inference/mod.ts: trains an NPE and samples", () => {
    const r = ok("lib/inference/mod.ts");
    assert.deepEqual([r.rows, r.cols, r.inBox], [50, 2, true]);
  });
  await t.step("streams/mod.ts: streams a CSV file in chunks", () => {
    const r = ok("streams/mod.ts");
    assert.deepEqual(r.starts, [0, 10, 20]);
    assert.deepEqual(r.ch1, Array.from({ length: 25 }, (_, i) => 2 * i));
  });
  await t.step("lib/plot/mod.ts: draws a pairplot SVG", () => {
    const r = ok("lib/plot/mod.ts");
    assert.equal(r.svgOpen, true);
    assert.equal(r.svgEnd, "</svg>");
    assert.ok((r.paths as number) > 0, "no path drawn");
  });
  await t.step(
    "distributed/mod.ts: simulates batches locally (ioredis resolves)",
    () => {
      const r = ok("distributed/mod.ts");
      const x = r.x as number[];
      // v(t) = 10 mV * exp(-t/tau), last sample at t = 99 steps of 0.1 ms
      [0.01, 0.02].forEach((tau, i) => {
        const want = 0.01 * Math.exp(-99e-4 / tau);
        assert.ok(Math.abs(x[i] - want) < 1e-9 * 0.01, `x ${x[i]} vs ${want}`);
      });
      assert.deepEqual(r.round, [1, 2]);
    },
  );
  await t.step("gpu/mod.ts: imports; simulates on WebGPU when present", () => {
    const r = ok("gpu/mod.ts");
    console.log(`url import: WebGPU available: ${r.webgpu}`);
    if (r.webgpu) {
      assert.equal(r.device, "webgpu");
      // v(t) = 10 mV * exp(-t/tau) at t = 99 steps of 0.1 ms (f32)
      const want = 0.01 * Math.exp(-99e-4 / 10e-3);
      assert.ok(Math.abs((r.vEnd as number) - want) < 1e-6, `v ${r.vEnd}`);
    }
  });
});
