/**
 * `loadTraces`: a user's ABF or NWB recording as SI traces ready for
 * `TraceFitter` (one row per sweep), in one call.
 * @module
 */

import { readAbf } from "./abf.ts";
import type { PathLike } from "./files.ts";
import type { RecordingChunk } from "./_chunk_type.ts";

/** Recording formats {@linkcode loadTraces} reads. */
export type RecordingFormat = "abf" | "nwb";

/** Options of {@linkcode loadTraces}. */
export interface LoadTracesOptions {
  /** `"abf"` or `"nwb"`; default from the file extension. */
  format?: RecordingFormat;
  /**
   * Sweeps to take (ABF: sweep numbers from 0; NWB: `sweep_number`s).
   * Default: every sweep.
   */
  sweeps?: readonly number[];
  /**
   * The recorded trace. ABF: a channel name or position (default the first
   * channel). NWB: a series type (`"CurrentClampSeries"`) or, with one sweep,
   * a series name (default every `CurrentClampSeries`, else every response).
   */
  output?: string | number;
  /**
   * The stimulus. ABF: `"stimulus"` (the command of the active DAC,
   * default), `"DAC n"`, a DAC name, or an ADC channel name (a recorded
   * command). NWB: `"stimulus"` (the stimulus series of each sweep).
   * `null`: no input.
   */
  input?: string | number | null;
}

/** Traces loaded by {@linkcode loadTraces}. */
export interface LoadedTraces {
  /** Stimulus rows (SI), one per sweep; empty with `input: null`. */
  input: Float64Array[];
  /** Recorded rows (SI), one per sweep. */
  output: Float64Array[];
  /** Sampling interval, seconds. */
  dt: number;
  /** SI units of input and output ("A", "V"). */
  units: { input: string | undefined; output: string };
  /** The sweeps taken. */
  sweeps: number[];
}

/** The format of a path from its extension. */
export function recordingFormat(
  path: PathLike,
  format?: RecordingFormat,
): RecordingFormat {
  if (format) return format;
  const p = String(path instanceof URL ? path.pathname : path).toLowerCase();
  if (p.endsWith(".abf")) return "abf";
  if (p.endsWith(".nwb") || p.endsWith(".h5") || p.endsWith(".hdf5")) {
    return "nwb";
  }
  throw new RangeError(
    `cannot tell the format of ${
      JSON.stringify(String(path))
    } from its extension; pass format: "abf" or "nwb"`,
  );
}

/**
 * Loads sweeps of an ABF or NWB recording as SI traces: rows = sweeps.
 *
 * @example
 * ```ts ignore
 * const { input, output, dt } = await loadTraces("cell.abf", { sweeps: [0, 1, 2], output: "IN 0", input: "stimulus" });
 * ```
 * @param path the file
 * @param options sweeps, output and input selection
 * @returns input and output rows and dt
 * @throws {RangeError} for a channel, series or sweep not in the file (the
 *   message lists what the file has)
 * @throws {DataFormatError} for a malformed file
 */
export async function loadTraces(
  path: PathLike,
  options: LoadTracesOptions = {},
): Promise<LoadedTraces> {
  const format = recordingFormat(path, options.format);
  return format === "abf"
    ? await loadAbf(path, options)
    : await loadNwb(path, options);
}

async function loadAbf(
  path: PathLike,
  o: LoadTracesOptions,
): Promise<LoadedTraces> {
  const abf = await readAbf(path, { sweeps: o.sweeps });
  try {
    const out = abf.allChannels[resolveAbfChannel(abf, o.output ?? 0)];
    const input = o.input === undefined ? "stimulus" : o.input;
    const outputRows: Float64Array[] = [];
    const inputRows: Float64Array[] = [];
    let inUnit: string | undefined;
    let inChannel: number | undefined;
    let dac: number | undefined;
    if (input !== null) {
      const s = String(input);
      const m = /^DAC\s*(\d+)$/i.exec(s);
      if (s === "stimulus") dac = abf.activeDac;
      else if (m) dac = Number(m[1]);
      else if (abf.dacs.some((d) => d.name === s)) {
        dac = abf.dacs.find((d) => d.name === s)!.dac;
      } else inChannel = resolveAbfChannel(abf, input);
      if (dac !== undefined) {
        const d = abf.dacs.find((x) => x.dac === dac);
        if (!d) {
          throw new RangeError(
            `${abf.file}: no DAC ${dac}; inputs: "stimulus", ${listAbf(abf)}`,
          );
        }
        inUnit = d.siUnit;
      } else inUnit = abf.allChannels[inChannel!].siUnit;
    }
    const reader = await readAbf(path, {
      sweeps: o.sweeps,
      channels: inChannel === undefined ? [out.index] : [out.index, inChannel],
    });
    try {
      for (const sw of reader.sweeps) {
        const rows = await reader.readSweep(sw.index);
        outputRows.push(rows[0]);
        if (inChannel !== undefined) inputRows.push(rows[1]);
        else if (dac !== undefined) {
          inputRows.push(reader.stimulus(sw.index, dac));
        }
      }
    } finally {
      reader.close();
    }
    return {
      input: inputRows,
      output: outputRows,
      dt: abf.dt,
      units: { input: inUnit, output: out.siUnit },
      sweeps: abf.sweeps.map((s) => s.index),
    };
  } finally {
    abf.close();
  }
}

function listAbf(abf: Awaited<ReturnType<typeof readAbf>>): string {
  return `channels: ${
    abf.allChannels.map((c) =>
      `${c.index} ${JSON.stringify(c.name)} (${c.units})`
    ).join(", ")
  }; DACs: ${
    abf.dacs.map((d) => `"DAC ${d.dac}" ${JSON.stringify(d.name)} (${d.units})`)
      .join(", ")
  }`;
}

function resolveAbfChannel(
  abf: Awaited<ReturnType<typeof readAbf>>,
  c: string | number,
): number {
  const ch = typeof c === "number"
    ? abf.allChannels[c]
    : abf.allChannels.find((x) => x.name === c) ??
      abf.allChannels.find((x) =>
        x.name.replace(/\s/g, "") === c.replace(/\s/g, "")
      );
  if (!ch) {
    throw new RangeError(
      `${abf.file}: no channel ${JSON.stringify(c)}; ${listAbf(abf)}`,
    );
  }
  return ch.index;
}

async function loadNwb(
  path: PathLike,
  o: LoadTracesOptions,
): Promise<LoadedTraces> {
  const { readNwb } = await import("./nwb.ts");
  const nwb = await readNwb(path);
  try {
    const list = () =>
      nwb.series.map((s) => `${s.name} (${s.neurodataType}, ${s.unit})`).join(
        ", ",
      );
    let sweeps = [...nwb.sweeps];
    if (o.sweeps) {
      sweeps = o.sweeps.map((n) => {
        const s = nwb.sweeps.find((x) => x.sweep === n);
        if (!s) {
          throw new RangeError(
            `${nwb.file}: no sweep ${n}; sweeps: ${
              nwb.sweeps.map((x) => x.sweep).join(", ")
            }`,
          );
        }
        return s;
      });
    }
    const want = o.output;
    const pick = (names: string[]) => {
      const series = names.map((n) => nwb.series.find((s) => s.name === n)!);
      if (want === undefined) {
        return series.find((s) => s.neurodataType === "CurrentClampSeries") ??
          series[0];
      }
      return series.find((s) => s.neurodataType === want || s.name === want);
    };
    const outputRows: Float64Array[] = [], inputRows: Float64Array[] = [];
    let dt: number | undefined, outUnit = "", inUnit: string | undefined;
    const taken: number[] = [];
    const anyCC = nwb.series.some((s) =>
      s.neurodataType === "CurrentClampSeries"
    );
    for (const sw of sweeps) {
      const r = pick(sw.responses);
      if (!r) {
        if (want === undefined || o.sweeps) {
          throw new RangeError(
            `${nwb.file}: sweep ${sw.sweep} has no ${
              want ?? "response"
            } series; series: ${list()}`,
          );
        }
        continue;
      }
      if (
        want === undefined && anyCC && r.neurodataType !== "CurrentClampSeries"
      ) continue;
      if (r.rate === undefined) {
        throw new RangeError(
          `${nwb.file}: ${r.path} has timestamps, not a rate; loadTraces needs regular sampling`,
        );
      }
      const d = 1 / r.rate;
      if (dt !== undefined && Math.abs(d - dt) > 1e-9 * dt) {
        throw new RangeError(
          `${nwb.file}: sweeps sampled at different rates (${
            1 / dt
          } and ${r.rate} Hz)`,
        );
      }
      dt = d;
      outputRows.push(await nwb.readSeries(r.name));
      outUnit = r.siUnit;
      if (o.input !== null) {
        const s = nwb.stimulusOf(r.name);
        if (!s) {
          throw new RangeError(
            `${nwb.file}: no stimulus series for ${r.name}; series: ${list()} (pass input: null to load the responses only)`,
          );
        }
        inputRows.push(await nwb.readSeries(s.name));
        inUnit = s.siUnit;
      }
      taken.push(sw.sweep);
    }
    if (outputRows.length === 0 || dt === undefined) {
      throw new RangeError(
        `${nwb.file}: no ${
          want ?? "response"
        } series in the chosen sweeps; series: ${list()}`,
      );
    }
    return {
      input: inputRows,
      output: outputRows,
      dt,
      units: { input: inUnit, output: outUnit },
      sweeps: taken,
    };
  } finally {
    nwb.close();
  }
}

/** Options of {@linkcode recordingChunks}. */
export interface RecordingChunksOptions {
  /** `"abf"` or `"nwb"`; default from the extension. */
  format?: RecordingFormat;
  /** Samples per chunk (default 65536). */
  chunkSamples?: number;
  /** ABF: sweeps, concatenated (default all). NWB: ignored. */
  sweeps?: readonly number[];
  /** ABF: channels by name or position (default all). NWB: series names (default the first response). */
  channels?: readonly (string | number)[];
  /** ABF: recycle chunk arrays and the read buffer (see `ReadChunksOptions.reuseBuffers`). NWB: ignored. */
  reuseBuffers?: boolean;
}

/**
 * A recording in chunks of consecutive samples, SI units: ABF channels (the
 * selected sweeps one after the other), or NWB series (one channel each,
 * same length required). Reads one chunk at a time.
 */
export async function* recordingChunks(
  path: PathLike,
  options: RecordingChunksOptions = {},
): AsyncGenerator<RecordingChunk> {
  const format = recordingFormat(path, options.format);
  if (format === "abf") {
    const abf = await readAbf(path, {
      sweeps: options.sweeps,
      channels: options.channels,
    });
    try {
      yield* abf.chunks({
        chunkSamples: options.chunkSamples,
        reuseBuffers: options.reuseBuffers,
      });
    } finally {
      abf.close();
    }
    return;
  }
  const { readNwb } = await import("./nwb.ts");
  const nwb = await readNwb(path);
  try {
    const names = (options.channels ?? [nwb.series[0].name]).map(String);
    const lengths = names.map((n) => {
      const s = nwb.series.find((x) => x.name === n || x.path === n);
      if (!s) {
        throw new RangeError(
          `${nwb.file}: no series ${JSON.stringify(n)}; series: ${
            nwb.series.map((x) => x.name).join(", ")
          }`,
        );
      }
      return s.samples;
    });
    if (new Set(lengths).size > 1) {
      throw new RangeError(
        `${nwb.file}: series ${names.join(", ")} have different lengths (${
          lengths.join(", ")
        })`,
      );
    }
    const its = names.map((n) =>
      nwb.chunks(n, { chunkSamples: options.chunkSamples })
    );
    while (true) {
      const rs = await Promise.all(its.map((it) => it.next()));
      if (rs.some((r) => r.done)) break;
      const cs = rs.map((r) => r.value as RecordingChunk);
      yield {
        start: cs[0].start,
        samples: cs[0].samples,
        channels: cs.map((c) => c.channels[0]),
      };
    }
  } finally {
    nwb.close();
  }
}
