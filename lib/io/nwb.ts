/**
 * NWB 2.x intracellular (icephys) reader: `CurrentClampSeries`,
 * `VoltageClampSeries`, `IZeroClampSeries` and their stimulus series, in SI
 * units, grouped into sweeps by the legacy `sweep_table` (NWB 2.2) or by the
 * NWB ≥ 2.4 icephys tables (`intracellular_recordings`,
 * `simultaneous_recordings`). HDF5 is read with h5wasm, loaded on first use.
 * Series data are read by range, so a long series is read in chunks.
 *
 * @example
 * ```ts ignore
 * import { readNwb } from "./nwb.ts";
 * const nwb = await readNwb("cell.nwb");
 * const v = await nwb.readSeries(nwb.series[0].name); // volts
 * nwb.close();
 * ```
 * @module
 */

import { DataFormatError } from "./errors.ts";
import type { BinarySource } from "./_bytes.ts";
import { collectBytes } from "./_bytes.ts";
import { siUnit } from "./_si_units.ts";
import { type H5wasm, loadH5wasm } from "./_nwb_deps.ts";
import type { RecordingChunk } from "./_chunk_type.ts";

/** Icephys series types read as responses. */
export const NWB_RESPONSE_TYPES: readonly string[] = [
  "CurrentClampSeries",
  "VoltageClampSeries",
  "IZeroClampSeries",
  "PatchClampSeries",
];
/** Icephys series types read as stimuli. */
export const NWB_STIMULUS_TYPES: readonly string[] = [
  "CurrentClampStimulusSeries",
  "VoltageClampStimulusSeries",
];

/** One icephys time series. */
export interface NwbSeries {
  /** Name (the last part of the path). */
  name: string;
  /** HDF5 path, e.g. `/acquisition/CurrentClampSeries_01`. */
  path: string;
  /** `neurodata_type`. */
  neurodataType: string;
  /** `"response"` or `"stimulus"`. */
  kind: "response" | "stimulus";
  /** `data.unit` as stored ("volts"). */
  unit: string;
  /** SI unit of the values returned ("V", "A"). */
  siUnit: string;
  /** `data.conversion` (1 when absent). */
  conversion: number;
  /** `data.offset` (0 when absent). */
  offset: number;
  /** `data.resolution` (NaN when absent; -1 means unknown). */
  resolution: number;
  /** Number of samples. */
  samples: number;
  /** Sampling rate (Hz), when the series is regularly sampled. */
  rate: number | undefined;
  /** `starting_time` (s); the first timestamp for irregular series. */
  startingTime: number;
  /** Whether the series has a `timestamps` dataset instead of a rate. */
  hasTimestamps: boolean;
  /** `sweep_number` attribute, when present. */
  sweepNumber: number | undefined;
  /** `stimulus_description` attribute. */
  stimulusDescription: string | undefined;
  /** Path of the electrode the series links to. */
  electrode: string | undefined;
  /** `gain` dataset, when present. */
  gain: number | undefined;
}

/** A sweep: the series recorded together. */
export interface NwbSweep {
  /** Sweep number (`sweep_number`, or the simultaneous-recordings row id). */
  sweep: number;
  /** Names of the response series. */
  responses: string[];
  /** Names of the stimulus series. */
  stimuli: string[];
}

/** Options of {@linkcode readNwb}. */
export interface ReadNwbOptions {
  /** Series to expose by name or path (default: every icephys series). */
  series?: readonly string[];
}

/** An opened NWB file. */
export interface NwbRecording {
  /** The file name. */
  readonly file: string;
  /** `nwb_version`. */
  readonly nwbVersion: string;
  /** `identifier`. */
  readonly identifier: string;
  /** `session_description`. */
  readonly sessionDescription: string;
  /** `session_start_time` (ISO 8601 as stored). */
  readonly sessionStartTime: string;
  /** Icephys series (responses first, each group in natural name order). */
  readonly series: readonly NwbSeries[];
  /** Sweeps, in sweep order. */
  readonly sweeps: readonly NwbSweep[];
  /** Which table grouped the sweeps. */
  readonly grouping:
    | "sweep_table"
    | "intracellular_recordings"
    | "sweep_number"
    | "none";
  /** Electrodes under `/general/intracellular_ephys`, with their string fields. */
  readonly electrodes: Readonly<Record<string, Record<string, string>>>;
  /**
   * Reads samples `[start, start + count)` of a series in SI units
   * (`data · conversion + offset`, then the unit's factor to SI).
   */
  readSeries(
    name: string,
    start?: number,
    count?: number,
  ): Promise<Float64Array>;
  /** Sample times of a series (s): from `starting_time` and `rate`, or `timestamps`. */
  readTimes(name: string, start?: number, count?: number): Float64Array;
  /** The stimulus series recorded with a response, if any. */
  stimulusOf(name: string): NwbSeries | undefined;
  /** One series in chunks (one channel per chunk), read range by range. */
  chunks(
    name: string,
    options?: { chunkSamples?: number },
  ): AsyncGenerator<RecordingChunk>;
  /** Closes the file. */
  close(): void;
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function natural(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

// deno-lint-ignore no-explicit-any
type H5Obj = any;

function attr(obj: H5Obj, key: string): unknown {
  const a = obj?.attrs?.[key];
  if (!a) return undefined;
  const v = a.value;
  return Array.isArray(v) && v.length === 1 ? v[0] : v;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (ArrayBuffer.isView(v) && (v as Float64Array).length === 1) {
    return Number((v as Float64Array)[0]);
  }
  return undefined;
}

function scalarOf(ds: H5Obj): unknown {
  if (!ds || typeof ds.value === "undefined") return undefined;
  const v = ds.value;
  if (ArrayBuffer.isView(v)) return (v as Float64Array)[0];
  if (Array.isArray(v)) return v[0];
  return v;
}

/**
 * Rows of a compound dataset. h5wasm 0.10.3 decodes an object-reference
 * member of a compound as an empty list (the member's metadata has no
 * `total_size`); setting it to 1 before the read decodes the reference.
 */
function compoundRows(ds: H5Obj): unknown[][] {
  const md = ds.metadata;
  for (const m of md?.compound_type?.members ?? []) {
    if (m.ref_type !== undefined && m.total_size === undefined) {
      m.total_size = 1;
    }
  }
  return ds.value as unknown[][];
}

/**
 * Opens an NWB 2.x file and lists its icephys series and sweeps. Data are
 * read later, by range. Close the recording when done.
 *
 * @param source path or `file:` URL, bytes, or a byte stream (copied to a
 *   temporary file, removed on close)
 * @param options which series to expose
 * @returns the opened recording
 * @throws {DataFormatError} for a file that is not HDF5, HDF5 that is not
 *   NWB, or NWB without icephys series (the message names the file and the
 *   dataset path)
 * @throws {RangeError} for a series name not in the file (the message lists
 *   the series)
 */
export async function readNwb(
  source: BinarySource,
  options: ReadNwbOptions = {},
): Promise<NwbRecording> {
  let path: string;
  let temp: string | undefined;
  if (typeof source === "string") path = source;
  else if (source instanceof URL) path = decodeURIComponent(source.pathname);
  else {
    const bytes = source instanceof Uint8Array
      ? source
      : await collectBytes(source);
    temp = await Deno.makeTempFile({ suffix: ".nwb" });
    await Deno.writeFile(temp, bytes);
    path = temp;
  }
  const name = temp ? "<bytes>" : path;
  const cleanup = () => {
    if (temp) {
      try {
        Deno.removeSync(temp);
      } catch { /* already gone */ }
    }
  };
  try {
    const head = new Uint8Array(8);
    const fh = await Deno.open(path, { read: true });
    let got = 0;
    try {
      got = (await fh.read(head)) ?? 0;
    } finally {
      fh.close();
    }
    if (got < 8 || HDF5_MAGIC.some((b, i) => head[i] !== b)) {
      throw new DataFormatError(
        `${name}: not an HDF5 file (no HDF5 signature at byte 0), so not NWB`,
        { offset: 0 },
      );
    }
    const h5 = await loadH5wasm();
    let f: H5Obj;
    try {
      f = new h5.File(path, "r");
    } catch (e) {
      throw new DataFormatError(
        `${name}: HDF5 library cannot open the file: ${
          (e as Error)?.message ?? e
        }`,
        { offset: 0 },
      );
    }
    try {
      return open(h5, f, name, options, cleanup);
    } catch (e) {
      f.close();
      throw e;
    }
  } catch (e) {
    cleanup();
    throw e;
  }
}

function open(
  _h5: H5wasm,
  f: H5Obj,
  file: string,
  options: ReadNwbOptions,
  cleanup: () => void,
): NwbRecording {
  const version = attr(f, "nwb_version");
  if (typeof version !== "string") {
    throw new DataFormatError(
      `${file}: HDF5 file is not NWB: attribute /nwb_version is missing`,
    );
  }
  const all: NwbSeries[] = [];
  const datasets = new Map<string, H5Obj>();
  const visit = (group: string, kindHint: "response" | "stimulus") => {
    const g = f.get(group);
    if (!g || typeof g.keys !== "function") return;
    for (const key of g.keys()) {
      const p = `${group}/${key}`;
      const o = f.get(p);
      const type = attr(o, "neurodata_type");
      if (typeof type !== "string") continue;
      const isResp = NWB_RESPONSE_TYPES.includes(type);
      const isStim = NWB_STIMULUS_TYPES.includes(type);
      if (!isResp && !isStim) continue;
      const data = o.get("data");
      if (!data || !Array.isArray(data.shape)) {
        throw new DataFormatError(`${file}: ${p}/data: missing dataset`);
      }
      if (data.shape.length !== 1) {
        throw new DataFormatError(
          `${file}: ${p}/data: shape [${data.shape}] is not one-dimensional`,
        );
      }
      const unit = String(attr(data, "unit") ?? "");
      const st = o.get("starting_time");
      const rate = st ? num(attr(st, "rate")) : undefined;
      const ts = o.get("timestamps");
      if (!st && !ts) {
        throw new DataFormatError(
          `${file}: ${p}: neither starting_time nor timestamps`,
        );
      }
      const electrodeLink = o.get("electrode");
      all.push({
        name: key,
        path: p,
        neurodataType: type,
        kind: isStim || kindHint === "stimulus" ? "stimulus" : "response",
        unit,
        siUnit: siUnit(unit).unit,
        conversion: num(attr(data, "conversion")) ?? 1,
        offset: num(attr(data, "offset")) ?? 0,
        resolution: num(attr(data, "resolution")) ?? NaN,
        samples: data.shape[0],
        rate,
        startingTime: st
          ? Number(scalarOf(st))
          : Number(ts.slice([[0, 1]])?.[0] ?? NaN),
        hasTimestamps: !st,
        sweepNumber: num(attr(o, "sweep_number")),
        stimulusDescription: attr(o, "stimulus_description") as
          | string
          | undefined,
        electrode: electrodeLink
          ? `#${attr(electrodeLink, "object_id")}`
          : undefined,
        gain: num(scalarOf(o.get("gain"))),
      });
      datasets.set(key, o);
    }
  };
  visit("/acquisition", "response");
  visit("/stimulus/presentation", "stimulus");
  if (all.length === 0) {
    throw new DataFormatError(
      `${file}: NWB ${version} file has no icephys series (${
        NWB_RESPONSE_TYPES.join(", ")
      }) in /acquisition or /stimulus/presentation`,
    );
  }
  all.sort((a, b) =>
    a.kind === b.kind ? natural(a.name, b.name) : a.kind === "response" ? -1 : 1
  );
  const byPath = new Map(all.map((s) => [s.path, s]));
  const find = (n: string) =>
    all.find((s) => s.name === n) ?? byPath.get(n) ??
      byPath.get(n.startsWith("/") ? n : `/${n}`);
  const list = () =>
    all.map((s) => `${s.name} (${s.neurodataType}, ${s.unit})`).join(", ");
  let series = all;
  if (options.series) {
    series = options.series.map((n) => {
      const s = find(n);
      if (!s) {
        throw new RangeError(
          `${file}: no series ${JSON.stringify(n)}; series: ${list()}`,
        );
      }
      return s;
    });
  }

  // sweep grouping
  const deref = (r: H5Obj): string | undefined => {
    try {
      return f.dereference(r)?.path;
    } catch {
      return undefined;
    }
  };
  const groups = new Map<number, Set<string>>();
  const add = (sweep: number, p: string | undefined) => {
    const s = p ? byPath.get(p) : undefined;
    if (!s) return;
    if (!groups.has(sweep)) groups.set(sweep, new Set());
    groups.get(sweep)!.add(s.name);
  };
  let grouping: NwbRecording["grouping"] = "none";
  const ice = "/general/intracellular_ephys";
  const ir = f.get(`${ice}/intracellular_recordings`);
  const st = f.get(`${ice}/sweep_table`);
  if (ir) {
    grouping = "intracellular_recordings";
    const rowSeries: string[][] = [];
    for (
      const [sub, col] of [["responses", "response"], ["stimuli", "stimulus"]]
    ) {
      const ds = ir.get(`${sub}/${col}`);
      if (!ds) continue;
      const rows = compoundRows(ds);
      rows.forEach((row, i) => {
        const r = Array.isArray(row[2]) ? row[2][0] : row[2];
        const p = deref(r);
        (rowSeries[i] ??= []).push(p ?? "");
      });
    }
    const sim = f.get(`${ice}/simultaneous_recordings`);
    if (sim) {
      const ids = Array.from(sim.get("id").value as ArrayLike<number>, Number);
      const recs = Array.from(
        sim.get("recordings").value as ArrayLike<number>,
        Number,
      );
      const idx = Array.from(
        sim.get("recordings_index").value as ArrayLike<number>,
        Number,
      );
      ids.forEach((id, i) => {
        for (let k = i === 0 ? 0 : idx[i - 1]; k < idx[i]; k++) {
          for (const p of rowSeries[recs[k]] ?? []) add(id, p);
        }
      });
    } else {
      rowSeries.forEach((ps, i) => ps.forEach((p) => add(i, p)));
    }
  } else if (st) {
    grouping = "sweep_table";
    const refs = st.get("series").value as H5Obj[];
    const idx = Array.from(
      st.get("series_index").value as ArrayLike<number>,
      Number,
    );
    const sn = Array.from(
      st.get("sweep_number").value as ArrayLike<number>,
      Number,
    );
    sn.forEach((n, i) => {
      for (let k = i === 0 ? 0 : idx[i - 1]; k < idx[i]; k++) {
        add(n, deref(refs[k]));
      }
    });
  } else if (all.some((s) => s.sweepNumber !== undefined)) {
    grouping = "sweep_number";
    for (const s of all) {
      if (s.sweepNumber !== undefined) add(s.sweepNumber, s.path);
    }
  }
  const selected = new Set(series.map((s) => s.name));
  const sweeps: NwbSweep[] = [...groups.entries()].sort((a, b) => a[0] - b[0])
    .map(([sweep, names]) => {
      const ns = [...names].sort(natural);
      return {
        sweep,
        responses: ns.filter((n) =>
          find(n)!.kind === "response" && selected.has(n)
        ),
        stimuli: ns.filter((n) =>
          find(n)!.kind === "stimulus" && selected.has(n)
        ),
      };
    }).filter((s) => s.responses.length + s.stimuli.length > 0);

  const electrodes: Record<string, Record<string, string>> = {};
  const iceG = f.get(ice);
  for (const k of iceG?.keys?.() ?? []) {
    const o = f.get(`${ice}/${k}`);
    if (attr(o, "neurodata_type") !== "IntracellularElectrode") continue;
    const rec: Record<string, string> = {};
    for (const c of o.keys()) {
      const v = scalarOf(o.get(c));
      if (typeof v === "string" || typeof v === "number") rec[c] = String(v);
    }
    electrodes[`${ice}/${k}`] = rec;
    const id = `#${attr(o, "object_id")}`;
    for (const s of all) if (s.electrode === id) s.electrode = `${ice}/${k}`;
  }

  const get = (n: string) => {
    const s = find(n);
    if (!s) {
      throw new RangeError(
        `${file}: no series ${JSON.stringify(n)}; series: ${list()}`,
      );
    }
    return s;
  };
  const read = (s: NwbSeries, start: number, count: number) => {
    if (
      !Number.isInteger(start) || !Number.isInteger(count) || start < 0 ||
      count < 0 || start + count > s.samples
    ) {
      throw new RangeError(
        `${file}: ${s.path}: samples ${start}..${
          start + count
        } outside 0..${s.samples}`,
      );
    }
    const ds = datasets.get(s.name).get("data");
    const raw = count === 0 ? [] : ds.slice([[start, start + count]]);
    const k = siUnit(s.unit).factor;
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = (Number(raw[i]) * s.conversion + s.offset) * k;
    }
    return out;
  };
  let closed = false;
  return {
    file,
    nwbVersion: version,
    identifier: String(scalarOf(f.get("identifier")) ?? ""),
    sessionDescription: String(scalarOf(f.get("session_description")) ?? ""),
    sessionStartTime: String(scalarOf(f.get("session_start_time")) ?? ""),
    series,
    sweeps,
    grouping,
    electrodes,
    readSeries(n, start = 0, count?: number) {
      const s = get(n);
      return Promise.resolve(read(s, start, count ?? s.samples - start));
    },
    readTimes(n, start = 0, count?: number) {
      const s = get(n);
      const c = count ?? s.samples - start;
      if (s.hasTimestamps) {
        const ts = datasets.get(s.name).get("timestamps").slice([[
          start,
          start + c,
        ]]);
        return Float64Array.from(ts as ArrayLike<number>, Number);
      }
      const out = new Float64Array(c);
      for (let i = 0; i < c; i++) {
        out[i] = s.startingTime + (start + i) / s.rate!;
      }
      return out;
    },
    stimulusOf(n) {
      const s = get(n);
      const sw = sweeps.find((x) => x.responses.includes(s.name));
      const stim = sw?.stimuli[0] ??
        (s.sweepNumber !== undefined
          ? all.find((x) =>
            x.kind === "stimulus" && x.sweepNumber === s.sweepNumber
          )?.name
          : undefined);
      return stim ? find(stim) : undefined;
    },
    async *chunks(n, opts = {}) {
      const s = get(n);
      const size = opts.chunkSamples ?? 65536;
      if (!Number.isInteger(size) || size < 1) {
        throw new RangeError(
          `chunkSamples must be a positive integer, got ${size}`,
        );
      }
      for (let at = 0; at < s.samples; at += size) {
        const c = Math.min(size, s.samples - at);
        yield { start: at, samples: c, channels: [read(s, at, c)] };
        await Promise.resolve();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      f.close();
      cleanup();
    },
  };
}
