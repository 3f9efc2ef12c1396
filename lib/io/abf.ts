/**
 * Axon Binary Format (pCLAMP / Clampex / AxoScope) reader: ABF1 (1.6 – 1.83)
 * and ABF2 (2.x) files, episodic and gap-free, values in SI units, the DAC
 * command waveform synthesised from the epoch table.
 *
 * The header is read when the file is opened; sample data are read lazily,
 * one sweep ({@linkcode AbfRecording.readSweep}) or one chunk
 * ({@linkcode AbfRecording.chunks}) at a time, so a gap-free file of any
 * length can be streamed.
 *
 * @example
 * ```ts ignore
 * import { readAbf } from "./abf.ts";
 * const abf = await readAbf("cell.abf", { channels: ["IN 0"] });
 * const [v] = await abf.readSweep(0); // volts
 * const i = abf.stimulus(0); // amperes, the command of DAC 0
 * abf.close();
 * ```
 * @module
 */

import { DataFormatError } from "./errors.ts";
import type { BinarySource } from "./_bytes.ts";
import { openRandomAccess, type RandomAccess } from "./_random_access.ts";
import { siUnit } from "./_si_units.ts";
import type { RecordingChunk } from "./_chunk_type.ts";

const BLOCK = 512;

/** Names of ABF operation modes (`nOperationMode`). */
export const ABF_OPERATION_MODES: Readonly<Record<number, string>> = {
  1: "event-driven variable-length",
  2: "event-driven fixed-length",
  3: "gap-free",
  4: "high-speed oscilloscope",
  5: "episodic stimulation",
};

/** Names of ABF epoch types (`nEpochType`). */
export const ABF_EPOCH_TYPES: Readonly<Record<number, string>> = {
  0: "disabled",
  1: "step",
  2: "ramp",
  3: "pulse",
  4: "triangle",
  5: "cosine",
  6: "resistance",
  7: "biphasic",
};

/** One recorded (ADC) channel. */
export interface AbfChannel {
  /** Position of the channel in the file's sampling sequence (0-based). */
  index: number;
  /** Physical ADC number. */
  adcNum: number;
  /** Name as stored ("IN 0", "Potential"). */
  name: string;
  /** Units as stored ("mV", "pA"). */
  units: string;
  /** The SI unit of the values returned ("V", "A"; the stored units when not recognised). */
  siUnit: string;
  /** Factor from `units` to SI. */
  toSi: number;
  /** Stored value → `units`: `int16 · gain + offset` (1 and 0 for float data). */
  gain: number;
  /** See `gain`. */
  offset: number;
}

/** One epoch of a DAC's waveform table. */
export interface AbfEpoch {
  /** Epoch number (0 = "A"). */
  index: number;
  /** `"step"`, `"ramp"`, … (see {@linkcode ABF_EPOCH_TYPES}). */
  type: string;
  /** The stored `nEpochType`. */
  typeCode: number;
  /** Level in the DAC's units in sweep 0. */
  initLevel: number;
  /** Level added per sweep. */
  levelInc: number;
  /** Duration in samples (per channel) in sweep 0. */
  initDuration: number;
  /** Duration added per sweep. */
  durationInc: number;
  /** Pulse period (samples), pulse epochs only. */
  pulsePeriod: number;
  /** Pulse width (samples), pulse epochs only. */
  pulseWidth: number;
}

/** One command (DAC) channel. */
export interface AbfDac {
  /** DAC number. */
  dac: number;
  /** Name as stored ("Cmd 0"). */
  name: string;
  /** Units as stored ("pA", "mV"). */
  units: string;
  /** SI unit of {@linkcode AbfRecording.stimulus} ("A", "V"). */
  siUnit: string;
  /** Factor from `units` to SI. */
  toSi: number;
  /** Holding level in `units`. */
  holding: number;
  /** Whether the epoch waveform is enabled. */
  waveformEnabled: boolean;
  /** 0 none, 1 epoch table, 2 stimulus file (not supported). */
  waveformSource: number;
  /** Enabled epochs, in order. */
  epochs: AbfEpoch[];
}

/** A tag (comment) placed during the recording. */
export interface AbfTag {
  /** Time from the start of the recording, seconds. */
  time: number;
  /** The stored time (`lTagTime`). */
  rawTime: number;
  /** The comment text (Latin-1 decoded, trimmed). */
  comment: string;
  /** `nTagType` (0 time, 1 comment, 2 external, 3 voice, 4 new file, 5 annotation). */
  type: number;
}

/** One sweep (episode) of a recording. */
export interface AbfSweep {
  /** Sweep number in the file (0-based). */
  index: number;
  /** Start time from the start of the recording, seconds. */
  start: number;
  /** Samples per channel. */
  samples: number;
}

/** Options of {@linkcode readAbf}. */
export interface ReadAbfOptions {
  /** Sweep numbers to expose (default all). */
  sweeps?: readonly number[];
  /** Channels to read, by position or name (default all). */
  channels?: readonly (number | string)[];
}

/** Options of {@linkcode AbfRecording.chunks}. */
export interface AbfChunkOptions {
  /** Samples per chunk (default 65536); the last chunk may be shorter. */
  chunkSamples?: number;
  /**
   * Recycle memory: a chunk's arrays are reused once the next chunk is
   * requested and the file is read into one reused buffer, so streaming
   * allocates nothing per chunk. For consumers that use each chunk before
   * asking for the next. Default false.
   */
  reuseBuffers?: boolean;
}

/** An opened ABF file. */
export interface AbfRecording {
  /** The file name (or `"<bytes>"`). */
  readonly file: string;
  /** `"1.83"` for ABF1, `"2.9.0.0"` for ABF2. */
  readonly version: string;
  /** 1 or 2. */
  readonly major: 1 | 2;
  /** `nOperationMode` (3 gap-free, 5 episodic, …). */
  readonly operationMode: number;
  /** Its name (see {@linkcode ABF_OPERATION_MODES}). */
  readonly operationModeName: string;
  /** Storage of samples. */
  readonly dataFormat: "int16" | "float32";
  /** Sample rate per channel, Hz. */
  readonly sampleRate: number;
  /** 1 / sampleRate, seconds. */
  readonly dt: number;
  /** Every recorded channel of the file. */
  readonly allChannels: readonly AbfChannel[];
  /** The selected channels, in the order `readSweep` returns them. */
  readonly channels: readonly AbfChannel[];
  /** Number of sweeps in the file. */
  readonly sweepCount: number;
  /** The selected sweeps. */
  readonly sweeps: readonly AbfSweep[];
  /** Command channels (ABF1: DAC 0 and 1; ABF2: every DAC entry). */
  readonly dacs: readonly AbfDac[];
  /** The DAC that drives the protocol (ABF1 `nActiveDACChannel`; ABF2 the first DAC with an epoch waveform, else 0). */
  readonly activeDac: number;
  /** Samples at the start of each sweep before the first epoch (`floor(samples / 64)`). */
  readonly preEpochSamples: number;
  /** Tags and comments. */
  readonly tags: readonly AbfTag[];
  /** Recording start as local time `YYYY-MM-DDTHH:MM:SS.mmm`, when stored. */
  readonly startDateTime: string | undefined;
  /**
   * Reads one sweep: one array per selected channel, in SI units.
   * @param sweep sweep number in the file
   */
  readSweep(sweep: number): Promise<Float64Array[]>;
  /**
   * The command waveform of one sweep, synthesised from the epoch table, in
   * SI units (holding level before the first epoch and after the last).
   * @param sweep sweep number in the file
   * @param dac DAC number (default {@linkcode activeDac})
   */
  stimulus(sweep: number, dac?: number): Float64Array;
  /**
   * The selected sweeps one after the other, in chunks of consecutive
   * samples (SI units); reads one chunk at a time.
   */
  chunks(options?: AbfChunkOptions): AsyncGenerator<RecordingChunk>;
  /** Closes the file. */
  close(): void;
}

/** Bounds-checked little-endian reads of a header block. */
class Fields {
  readonly #view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly base: number,
    readonly file: string,
    readonly section: string,
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  #check(at: number, n: number) {
    if (at < 0 || at + n > this.bytes.length) {
      throw new DataFormatError(
        `${this.file}: ${this.section} truncated: ${n} bytes needed at byte ${
          this.base + at
        }, ${this.section} ends at byte ${this.base + this.bytes.length}`,
        { offset: this.base + at },
      );
    }
  }
  i16(at: number): number {
    this.#check(at, 2);
    return this.#view.getInt16(at, true);
  }
  u16(at: number): number {
    this.#check(at, 2);
    return this.#view.getUint16(at, true);
  }
  i32(at: number): number {
    this.#check(at, 4);
    return this.#view.getInt32(at, true);
  }
  u32(at: number): number {
    this.#check(at, 4);
    return this.#view.getUint32(at, true);
  }
  i64(at: number): number {
    this.#check(at, 8);
    return Number(this.#view.getBigInt64(at, true));
  }
  f32(at: number): number {
    this.#check(at, 4);
    return this.#view.getFloat32(at, true);
  }
  u8(at: number): number {
    this.#check(at, 1);
    return this.bytes[at];
  }
  text(at: number, n: number): string {
    this.#check(at, n);
    return latin1(this.bytes.subarray(at, at + n));
  }
  fail(message: string, at: number): DataFormatError {
    return new DataFormatError(
      `${this.file}: ${this.section}: ${message} (byte ${this.base + at})`,
      { offset: this.base + at },
    );
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trim();
}

/** Everything the header says, before selection. */
interface Layout {
  version: string;
  major: 1 | 2;
  mode: number;
  dataFormat: "int16" | "float32";
  bytesPerSample: number;
  dataStart: number;
  totalSamples: number;
  nCh: number;
  rate: number;
  samplesPerEpisode: number; // all channels
  episodes: number;
  synchUnit: number;
  episodeStartToStart: number;
  synch: { start: number; length: number }[];
  channels: AbfChannel[];
  dacs: AbfDac[];
  activeDac: number;
  tags: AbfTag[];
  startDateTime: string | undefined;
}

function isoLocal(
  y: number,
  mo: number,
  d: number,
  ms: number,
): string | undefined {
  if (!(y > 1900 && y < 3000 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) {
    return undefined;
  }
  if (!(ms >= 0 && ms < 86400000)) return undefined;
  const p = (n: number, w = 2) => String(Math.floor(n)).padStart(w, "0");
  const h = ms / 3600000, mi = (ms % 3600000) / 60000, s = (ms % 60000) / 1000;
  return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}.${
    p(ms % 1000, 3)
  }`;
}

function unitsOf(units: string) {
  const u = siUnit(units);
  return { siUnit: u.unit, toSi: u.factor };
}

async function parseAbf1(ra: RandomAccess, head: Uint8Array): Promise<Layout> {
  const h = new Fields(head, 0, ra.name, "ABF1 header");
  const fver = h.f32(4);
  const version = (Math.round(fver * 100) / 100).toFixed(2);
  if (!(fver >= 1.6 && fver < 2)) {
    throw h.fail(
      `ABF1 version ${version} is not supported (readable: 1.6 to 1.83)`,
      4,
    );
  }
  if (head.length < 6144) {
    throw h.fail("truncated: ABF1 header is 6144 bytes", 0);
  }
  const mode = h.i16(8);
  const totalSamples = h.i32(10);
  const ignored = h.i16(14);
  const episodes = h.i32(16);
  const fmt = h.i16(100);
  const nCh = h.i16(120);
  const interval = h.f32(122);
  const synchUnit = h.f32(130);
  const samplesPerEpisode = h.i32(138);
  const adcRange = h.f32(244);
  const resolution = h.i32(252);
  if (nCh < 1 || nCh > 16) {
    throw h.fail(`nADCNumChannels ${nCh} not in 1..16`, 120);
  }
  if (!(interval > 0 && Number.isFinite(interval))) {
    throw h.fail(`fADCSampleInterval ${interval} is not positive`, 122);
  }
  if (fmt !== 0 && fmt !== 1) {
    throw h.fail(`nDataFormat ${fmt} not 0 or 1`, 100);
  }
  const bytesPerSample = fmt === 0 ? 2 : 4;
  const dataStart = h.i32(40) * BLOCK + ignored * bytesPerSample;
  const channels: AbfChannel[] = [];
  for (let i = 0; i < nCh; i++) {
    const adc = h.i16(410 + 2 * i);
    if (adc < 0 || adc > 15) {
      throw h.fail(`nADCSamplingSeq[${i}] = ${adc} not in 0..15`, 410 + 2 * i);
    }
    const units = h.text(602 + 8 * adc, 8);
    let gain = 1, offset = 0;
    if (fmt === 0) {
      gain = adcRange / h.f32(922 + 4 * adc) / h.f32(1050 + 4 * adc) /
        h.f32(730 + 4 * adc) / resolution;
      if (h.i16(4512 + 2 * adc) === 1) gain /= h.f32(4576 + 4 * adc);
      offset = h.f32(986 + 4 * adc) - h.f32(1114 + 4 * adc);
      if (!Number.isFinite(gain) || !Number.isFinite(offset)) {
        throw h.fail(
          `ADC ${adc}: scaling gives gain ${gain}, offset ${offset}`,
          922,
        );
      }
    }
    channels.push({
      index: i,
      adcNum: adc,
      name: h.text(442 + 10 * adc, 10),
      units,
      ...unitsOf(units),
      gain,
      offset,
    });
  }
  const dacs: AbfDac[] = [];
  for (let d = 0; d < 2; d++) {
    const epochs: AbfEpoch[] = [];
    for (let k = 0; k < 10; k++) {
      const j = d * 10 + k;
      const code = h.i16(2308 + 2 * j);
      if (code === 0) continue;
      epochs.push({
        index: k,
        type: ABF_EPOCH_TYPES[code] ?? `type ${code}`,
        typeCode: code,
        initLevel: h.f32(2348 + 4 * j),
        levelInc: h.f32(2428 + 4 * j),
        initDuration: h.i32(2508 + 4 * j),
        durationInc: h.i32(2588 + 4 * j),
        pulsePeriod: 0,
        pulseWidth: 0,
      });
    }
    const units = h.text(1346 + 8 * d, 8);
    dacs.push({
      dac: d,
      name: h.text(1306 + 10 * d, 10),
      units,
      ...unitsOf(units),
      holding: h.f32(1394 + 4 * d),
      waveformEnabled: h.i16(2296 + 2 * d) !== 0,
      waveformSource: h.i16(2300 + 2 * d),
      epochs,
    });
  }
  let activeDac = h.i16(1440);
  if (activeDac < 0 || activeDac > 1) activeDac = 0;
  // tags: 64-byte records at lTagSectionPtr · 512
  const tags = await readTags(
    ra,
    h.i32(44) * BLOCK,
    h.i32(48),
    64,
    (raw) => raw * interval * 1e-6 / nCh,
    "ABF1 tag section",
  );
  const synch = await readSynch(
    ra,
    h.i32(92) * BLOCK,
    h.i32(96),
    "ABF1 synch array",
  );
  const date = h.i32(20), time = h.i32(24), msec = h.i16(366);
  return {
    version,
    major: 1,
    mode,
    dataFormat: fmt === 0 ? "int16" : "float32",
    bytesPerSample,
    dataStart,
    totalSamples,
    nCh,
    rate: 1e6 / (interval * nCh),
    samplesPerEpisode,
    episodes,
    synchUnit,
    episodeStartToStart: 0,
    synch,
    channels,
    dacs,
    activeDac,
    tags,
    startDateTime: isoLocal(
      Math.floor(date / 10000),
      Math.floor(date / 100) % 100,
      date % 100,
      time * 1000 + msec,
    ),
  };
}

async function readTags(
  ra: RandomAccess,
  at: number,
  count: number,
  recordBytes: number,
  time: (raw: number) => number,
  section: string,
): Promise<AbfTag[]> {
  if (count <= 0) return [];
  if (recordBytes < 64 || at < 0 || at + count * recordBytes > ra.size) {
    throw new DataFormatError(
      `${ra.name}: ${section}: ${count} tags of ${recordBytes} bytes at byte ${at} run past the end of the file (${ra.size} bytes)`,
      { offset: at },
    );
  }
  const b = await ra.read(at, count * recordBytes);
  const f = new Fields(b, at, ra.name, section);
  const tags: AbfTag[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * recordBytes;
    const raw = f.i32(o);
    tags.push({
      time: time(raw),
      rawTime: raw,
      comment: f.text(o + 4, 56),
      type: f.i16(o + 60),
    });
  }
  return tags;
}

async function readSynch(
  ra: RandomAccess,
  at: number,
  count: number,
  section: string,
): Promise<{ start: number; length: number }[]> {
  if (count <= 0) return [];
  if (at <= 0 || at + count * 8 > ra.size) {
    throw new DataFormatError(
      `${ra.name}: ${section}: ${count} entries at byte ${at} run past the end of the file (${ra.size} bytes)`,
      { offset: at },
    );
  }
  const b = await ra.read(at, count * 8);
  const f = new Fields(b, at, ra.name, section);
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push({ start: f.i32(8 * i), length: f.i32(8 * i + 4) });
  }
  return out;
}

const SECTIONS = [
  "Protocol",
  "ADC",
  "DAC",
  "Epoch",
  "ADCPerDAC",
  "EpochPerDAC",
  "UserList",
  "StatsRegion",
  "Math",
  "Strings",
  "Data",
  "Tag",
  "Scope",
  "Delta",
  "VoiceTag",
  "SynchArray",
  "Annotation",
  "Stats",
] as const;
type SectionName = typeof SECTIONS[number];
interface Section {
  name: SectionName;
  at: number;
  bytes: number;
  entries: number;
}

async function parseAbf2(ra: RandomAccess, head: Uint8Array): Promise<Layout> {
  const h = new Fields(head, 0, ra.name, "ABF2 header");
  const version = [7, 6, 5, 4].map((i) => h.u8(i)).join(".");
  const episodes = h.u32(12);
  const date = h.u32(16), timeMs = h.u32(20);
  const fmt = h.u16(30);
  const map = new Map<SectionName, Section>();
  for (let i = 0; i < SECTIONS.length; i++) {
    const o = 76 + 16 * i;
    const s: Section = {
      name: SECTIONS[i],
      at: h.u32(o) * BLOCK,
      bytes: h.u32(o + 4),
      entries: h.i64(o + 8),
    };
    if (s.at === 0 || s.entries <= 0) continue;
    if (s.entries * s.bytes + s.at > ra.size || s.bytes === 0) {
      throw h.fail(
        `${s.name}Section: ${s.entries} entries of ${s.bytes} bytes at byte ${s.at} run past the end of the file (${ra.size} bytes)`,
        o,
      );
    }
    map.set(s.name, s);
  }
  const need = async (name: SectionName, minBytes: number) => {
    const s = map.get(name);
    if (!s) throw h.fail(`no ${name}Section in the section map`, 76);
    if (s.bytes < minBytes) {
      throw h.fail(
        `${name}Section entries are ${s.bytes} bytes, expected at least ${minBytes}`,
        76 + 16 * SECTIONS.indexOf(name),
      );
    }
    return {
      s,
      f: new Fields(
        await ra.read(s.at, s.bytes * s.entries),
        s.at,
        ra.name,
        `${name}Section`,
      ),
    };
  };
  const { f: p } = await need("Protocol", 126);
  const mode = p.i16(0);
  const seqInterval = p.f32(2);
  const synchUnit = p.f32(14);
  const samplesPerEpisode = p.i32(22);
  const episodeStartToStart = p.f32(62);
  const adcRange = p.f32(110);
  const resolution = p.i32(118);
  if (!(seqInterval > 0 && Number.isFinite(seqInterval))) {
    throw p.fail(`fADCSequenceInterval ${seqInterval} is not positive`, 2);
  }
  if (fmt !== 0 && fmt !== 1) throw h.fail(`nDataFormat ${fmt} not 0 or 1`, 30);
  const bytesPerSample = fmt === 0 ? 2 : 4;
  const strings = await readStrings(ra, map.get("Strings"));
  const str = (f: Fields, at: number) => {
    const i = f.i32(at);
    if (i === 0) return "";
    if (i < 0 || i >= strings.length) {
      throw f.fail(`string index ${i} not in 0..${strings.length - 1}`, at);
    }
    return strings[i];
  };
  const { s: adcS, f: a } = await need("ADC", 82);
  const nCh = adcS.entries;
  if (nCh > 16) throw a.fail(`${nCh} ADC entries (at most 16)`, 0);
  const channels: AbfChannel[] = [];
  for (let i = 0; i < nCh; i++) {
    const o = i * adcS.bytes;
    let gain = 1, offset = 0;
    if (fmt === 0) {
      gain = adcRange / a.f32(o + 40) / a.f32(o + 48) / a.f32(o + 28) /
        resolution;
      if (a.i16(o + 2)) gain /= a.f32(o + 6);
      offset = a.f32(o + 44) - a.f32(o + 52);
      if (!Number.isFinite(gain) || !Number.isFinite(offset)) {
        throw a.fail(
          `ADC ${i}: scaling gives gain ${gain}, offset ${offset}`,
          o,
        );
      }
    }
    const units = str(a, o + 78);
    channels.push({
      index: i,
      adcNum: a.i16(o),
      name: str(a, o + 74),
      units,
      ...unitsOf(units),
      gain,
      offset,
    });
  }
  const dacs: AbfDac[] = [];
  const dacSec = map.get("DAC");
  if (dacSec) {
    const { s, f: d } = await need("DAC", 46);
    for (let i = 0; i < s.entries; i++) {
      const o = i * s.bytes;
      const units = str(d, o + 28);
      dacs.push({
        dac: d.i16(o),
        name: str(d, o + 24),
        units,
        ...unitsOf(units),
        holding: d.f32(o + 12),
        waveformEnabled: d.i16(o + 40) !== 0,
        waveformSource: d.i16(o + 42),
        epochs: [],
      });
    }
  }
  if (map.get("EpochPerDAC")) {
    const { s, f: e } = await need("EpochPerDAC", 30);
    for (let i = 0; i < s.entries; i++) {
      const o = i * s.bytes;
      const dacNum = e.i16(o + 2);
      const dac = dacs.find((x) => x.dac === dacNum);
      if (!dac) {
        throw e.fail(`epoch ${i} names DAC ${dacNum}, not in DACSection`, o);
      }
      const code = e.i16(o + 4);
      if (code === 0) continue;
      dac.epochs.push({
        index: e.i16(o),
        type: ABF_EPOCH_TYPES[code] ?? `type ${code}`,
        typeCode: code,
        initLevel: e.f32(o + 6),
        levelInc: e.f32(o + 10),
        initDuration: e.i32(o + 14),
        durationInc: e.i32(o + 18),
        pulsePeriod: e.i32(o + 22),
        pulseWidth: e.i32(o + 26),
      });
    }
    for (const d of dacs) d.epochs.sort((x, y) => x.index - y.index);
  }
  const active = dacs.find((d) => d.waveformEnabled && d.epochs.length > 0);
  const rate = 1e6 / seqInterval;
  const tag = map.get("Tag");
  const tags = tag
    ? await readTags(
      ra,
      tag.at,
      tag.entries,
      tag.bytes,
      (raw) => synchUnit !== 0 ? raw * synchUnit * 1e-6 : raw / (rate * nCh),
      "TagSection",
    )
    : [];
  const sy = map.get("SynchArray");
  if (sy && sy.bytes !== 8) {
    throw h.fail(`SynchArray entries of ${sy.bytes} bytes`, 76 + 16 * 15);
  }
  const synch = sy
    ? await readSynch(ra, sy.at, sy.entries, "SynchArraySection")
    : [];
  const data = map.get("Data");
  if (data && data.bytes !== bytesPerSample) {
    throw h.fail(
      `DataSection samples of ${data.bytes} bytes, nDataFormat ${fmt} needs ${bytesPerSample}`,
      76 + 16 * 10,
    );
  }
  return {
    version,
    major: 2,
    mode,
    dataFormat: fmt === 0 ? "int16" : "float32",
    bytesPerSample,
    dataStart: data?.at ?? 0,
    totalSamples: data?.entries ?? 0,
    nCh,
    rate,
    samplesPerEpisode,
    episodes,
    synchUnit,
    episodeStartToStart,
    synch,
    channels,
    dacs,
    activeDac: active?.dac ?? 0,
    tags,
    startDateTime: isoLocal(
      Math.floor(date / 10000),
      Math.floor(date / 100) % 100,
      date % 100,
      timeMs,
    ),
  };
}

/** The indexed strings of an ABF2 StringsSection (index 1 = the creator). */
async function readStrings(
  ra: RandomAccess,
  s: Section | undefined,
): Promise<string[]> {
  if (!s) return [""];
  const b = await ra.read(s.at, s.bytes);
  // the indexed strings follow the last double NUL of the block's preamble
  let start = -1;
  for (let i = b.length - 2; i >= 0; i--) {
    if (b[i] === 0 && b[i + 1] === 0) {
      // skip runs of trailing NULs: the preamble ends before the first string
      let j = i;
      while (j > 0 && b[j - 1] === 0) j--;
      if (i + 2 < b.length && hasText(b, i + 2)) {
        start = i + 2;
        break;
      }
      i = j;
    }
  }
  const out = [""];
  if (start < 0) return out;
  let cur: number[] = [];
  for (let i = start; i < b.length; i++) {
    if (b[i] === 0) {
      out.push(String.fromCharCode(...cur).trim());
      cur = [];
    } else cur.push(b[i]);
  }
  if (cur.length) out.push(String.fromCharCode(...cur).trim());
  return out;
}

function hasText(b: Uint8Array, at: number): boolean {
  return b[at] !== 0;
}

/** Sweep boundaries in the data section, in multiplexed samples. */
function sweepTable(
  file: string,
  L: Layout,
): { start: number; samples: number; at: number }[] {
  const { nCh, rate, totalSamples: total } = L;
  const fail = (msg: string, offset = L.dataStart): never => {
    throw new DataFormatError(`${file}: DataSection: ${msg}`, { offset });
  };
  if (total < 0 || total % nCh !== 0) {
    fail(`${total} samples is not a multiple of ${nCh} channels`);
  }
  if (L.dataStart <= 0) fail("no data section");
  const out: { start: number; samples: number; at: number }[] = [];
  if (L.mode === 3) {
    out.push({ start: 0, samples: total / nCh, at: 0 });
  } else if (L.synch.length > 0 && (L.mode === 1 || L.mode === 2)) {
    let at = 0;
    for (const s of L.synch) {
      let len = s.length;
      if (L.mode === 1 && L.synchUnit !== 0) len = len / L.synchUnit;
      if (!Number.isInteger(len) || len <= 0 || len % nCh !== 0) {
        fail(
          `synch array sweep length ${s.length} is not a positive multiple of ${nCh} channels`,
        );
      }
      out.push({ start: s.start, samples: len / nCh, at });
      at += len;
    }
  } else {
    const per = L.samplesPerEpisode;
    if (!(per > 0) || per % nCh !== 0) {
      fail(
        `${per} samples per episode is not a positive multiple of ${nCh} channels`,
      );
    }
    const n = Math.floor(total / per);
    if (n * per !== total) {
      fail(`${total} samples is not a whole number of ${per}-sample episodes`);
    }
    for (let i = 0; i < n; i++) {
      const s = L.synch[i];
      out.push({
        start: s ? s.start : -1 - i,
        samples: per / nCh,
        at: i * per,
      });
    }
  }
  let end = 0;
  for (const s of out) end = Math.max(end, s.at + s.samples * nCh);
  if (end > total) {
    fail(`sweeps need ${end} samples, the section holds ${total}`);
  }
  return out.map((s, i) => ({
    ...s,
    start: s.start < 0
      ? (L.episodeStartToStart > 0
        ? i * L.episodeStartToStart
        : i * s.samples / rate)
      : (L.synchUnit !== 0 ? s.start * L.synchUnit * 1e-6 : s.start / rate),
  }));
}

/**
 * Opens an ABF file (ABF1 1.6 – 1.83 or ABF2) and reads its header, channel
 * scaling, sweep table, DAC epoch table and tags. Sample data are read
 * later, per sweep or per chunk. Close the recording when done (a path stays
 * open until then).
 *
 * Values are returned in SI units: `(int16 · gain + offset) · toSi`, where
 * the gain includes the ADC range and resolution, the instrument scale
 * factor, the signal and programmable gains and the telegraph gain.
 *
 * @param source path or `file:` URL, bytes, or a byte stream
 * @param options which sweeps and channels to expose
 * @returns the opened recording
 * @throws {DataFormatError} for a file that is not ABF, is truncated, or
 *   whose sections point past its end (the message names the file, the
 *   section and the byte offset)
 * @throws {RangeError} for a sweep or channel not in the file
 */
export async function readAbf(
  source: BinarySource,
  options: ReadAbfOptions = {},
): Promise<AbfRecording> {
  const ra = await openRandomAccess(source);
  try {
    return await openAbf(ra, options);
  } catch (e) {
    ra.close();
    throw e;
  }
}

async function openAbf(
  ra: RandomAccess,
  options: ReadAbfOptions,
): Promise<AbfRecording> {
  const head = await ra.read(0, 6144);
  if (head.length < 8) {
    throw new DataFormatError(
      `${ra.name}: not an ABF file: ${head.length} bytes, no header`,
      { offset: 0 },
    );
  }
  const sig = latin1(head.subarray(0, 4));
  const L = head[3] === 0x32 && sig === "ABF2"
    ? await parseAbf2(ra, head)
    : sig === "ABF"
    ? await parseAbf1(ra, head)
    : (() => {
      throw new DataFormatError(
        `${ra.name}: not an ABF file: signature ${
          JSON.stringify(latin1(head.subarray(0, 4)))
        } (expected "ABF " or "ABF2")`,
        { offset: 0 },
      );
    })();
  if (!(L.mode in ABF_OPERATION_MODES)) {
    throw new DataFormatError(
      `${ra.name}: header: nOperationMode ${L.mode} is not 1..5`,
      { offset: 8 },
    );
  }
  if (L.dataStart + L.totalSamples * L.bytesPerSample > ra.size) {
    throw new DataFormatError(
      `${ra.name}: DataSection: ${L.totalSamples} samples at byte ${L.dataStart} run past the end of the file (${ra.size} bytes)`,
      { offset: L.dataStart },
    );
  }
  const table = sweepTable(ra.name, L);
  const allSweeps: AbfSweep[] = table.map((s, i) => ({
    index: i,
    start: s.start,
    samples: s.samples,
  }));
  const sel = options.sweeps ?? allSweeps.map((s) => s.index);
  for (const s of sel) {
    if (!Number.isInteger(s) || s < 0 || s >= allSweeps.length) {
      throw new RangeError(
        `${ra.name}: sweep ${s} not in the file (sweeps 0..${
          allSweeps.length - 1
        })`,
      );
    }
  }
  const chSel = (options.channels ?? L.channels.map((c) => c.index)).map(
    (c) => {
      const ch = typeof c === "number"
        ? L.channels[c]
        : L.channels.find((x) => x.name === c) ??
          L.channels.find((x) => x.name.replace(/\s/g, "") === c);
      if (!ch || (typeof c === "number" && !Number.isInteger(c))) {
        throw new RangeError(
          `${ra.name}: no channel ${JSON.stringify(c)}; channels: ${
            L.channels.map((x, i) =>
              `${i} ${JSON.stringify(x.name)} (${x.units})`
            )
              .join(", ")
          }`,
        );
      }
      return ch;
    },
  );
  const preEpoch = (n: number) => Math.floor(n / 64);
  const nCh = L.nCh, bps = L.bytesPerSample;

  const decode = (
    bytes: Uint8Array,
    n: number,
    out: Float64Array[],
    o: number,
  ) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let k = 0; k < chSel.length; k++) {
      const c = chSel[k];
      const dst = out[k];
      const { gain, offset, toSi } = c;
      for (let i = 0; i < n; i++) {
        const at = (i * nCh + c.index) * bps;
        const raw = bps === 2
          ? view.getInt16(at, true)
          : view.getFloat32(at, true);
        dst[o + i] = (raw * gain + offset) * toSi;
      }
    }
  };

  const checkSweep = (sweep: number) => {
    if (!Number.isInteger(sweep) || sweep < 0 || sweep >= table.length) {
      throw new RangeError(
        `${ra.name}: sweep ${sweep} not in the file (sweeps 0..${
          table.length - 1
        })`,
      );
    }
    return table[sweep];
  };

  const rec: AbfRecording = {
    file: ra.name,
    version: L.version,
    major: L.major,
    operationMode: L.mode,
    operationModeName: ABF_OPERATION_MODES[L.mode],
    dataFormat: L.dataFormat,
    sampleRate: L.rate,
    dt: 1 / L.rate,
    allChannels: L.channels,
    channels: chSel,
    sweepCount: allSweeps.length,
    sweeps: sel.map((i) => allSweeps[i]),
    dacs: L.dacs,
    activeDac: L.activeDac,
    preEpochSamples: preEpoch(table[0]?.samples ?? 0),
    tags: L.tags,
    startDateTime: L.startDateTime,
    async readSweep(sweep) {
      const s = checkSweep(sweep);
      const at = L.dataStart + s.at * bps;
      const bytes = await ra.read(at, s.samples * nCh * bps);
      if (bytes.length < s.samples * nCh * bps) {
        throw new DataFormatError(
          `${ra.name}: DataSection: sweep ${sweep} truncated at byte ${
            at + bytes.length
          }`,
          { offset: at + bytes.length },
        );
      }
      const out = chSel.map(() => new Float64Array(s.samples));
      decode(bytes, s.samples, out, 0);
      return out;
    },
    stimulus(sweep, dacNum = L.activeDac) {
      const s = checkSweep(sweep);
      const dac = L.dacs.find((d) => d.dac === dacNum);
      if (!dac) {
        throw new RangeError(
          `${ra.name}: no DAC ${dacNum}; DACs: ${
            L.dacs.map((d) => `${d.dac} ${JSON.stringify(d.name)} (${d.units})`)
              .join(", ")
          }`,
        );
      }
      return synthesise(ra.name, dac, sweep, s.samples, L.mode);
    },
    async *chunks(opts = {}) {
      const size = opts.chunkSamples ?? 65536;
      if (!Number.isInteger(size) || size < 1) {
        throw new RangeError(
          `chunkSamples must be a positive integer, got ${size}`,
        );
      }
      let start = 0;
      const reuse = !!opts.reuseBuffers;
      const pool: Float64Array[][] = [];
      let flip = 0;
      // with reuse, two sets of arrays in turn: a chunk stays intact while
      // the next one fills
      const fresh = () =>
        reuse
          ? (pool[flip++ & 1] ??= chSel.map(() => new Float64Array(size)))
          : chSel.map(() => new Float64Array(size));
      let scratch: Uint8Array | null = null;
      const readBytes = async (at: number, len: number) => {
        if (!reuse || !ra.readInto) return await ra.read(at, len);
        if (!scratch || scratch.length < len) scratch = new Uint8Array(len);
        const got = await ra.readInto(at, scratch.subarray(0, len));
        return scratch.subarray(0, got);
      };
      let buf = fresh();
      let fill = 0;
      for (const sw of sel) {
        const s = table[sw];
        let i = 0;
        while (i < s.samples) {
          const n = Math.min(size - fill, s.samples - i);
          const at = L.dataStart + (s.at + i * nCh) * bps;
          const bytes = await readBytes(at, n * nCh * bps);
          if (bytes.length < n * nCh * bps) {
            throw new DataFormatError(
              `${ra.name}: DataSection: truncated at byte ${at + bytes.length}`,
              { offset: at + bytes.length },
            );
          }
          decode(bytes, n, buf, fill);
          fill += n;
          i += n;
          if (fill === size) {
            yield { start, samples: size, channels: buf };
            start += size;
            buf = fresh();
            fill = 0;
          }
        }
      }
      if (fill > 0) {
        yield {
          start,
          samples: fill,
          channels: buf.map((b) => b.slice(0, fill)),
        };
      }
    },
    close: () => ra.close(),
  };
  return rec;
}

/** The command waveform of one sweep of one DAC, in SI units. */
function synthesise(
  file: string,
  dac: AbfDac,
  sweep: number,
  n: number,
  mode: number,
): Float64Array {
  const k = dac.toSi;
  const y = new Float64Array(n).fill(dac.holding * k);
  if (!dac.waveformEnabled || dac.epochs.length === 0) return y;
  if (dac.waveformSource === 2) {
    throw new DataFormatError(
      `${file}: DACSection: DAC ${dac.dac} plays a stimulus file; only epoch-table waveforms are synthesised`,
    );
  }
  if (mode !== 5) return y;
  let i = Math.floor(n / 64);
  let level = dac.holding;
  for (const e of dac.epochs) {
    const dur = e.initDuration + e.durationInc * sweep;
    const to = e.initLevel + e.levelInc * sweep;
    if (dur < 0 || i + dur > n) {
      throw new DataFormatError(
        `${file}: EpochSection: DAC ${dac.dac} epoch ${e.index} of sweep ${sweep} spans samples ${i}..${
          i + dur
        }, the sweep has ${n} (epoch table inconsistent with the sweep length)`,
      );
    }
    if (e.typeCode === 1) {
      y.fill(to * k, i, i + dur);
    } else if (e.typeCode === 2) {
      for (let j = 0; j < dur; j++) {
        y[i + j] = (level + (to - level) * (j / dur)) * k;
      }
    } else {
      throw new DataFormatError(
        `${file}: EpochSection: DAC ${dac.dac} epoch ${e.index} is a ${e.type} epoch (type ${e.typeCode}); only step and ramp epochs are synthesised`,
      );
    }
    level = to;
    i += dur;
  }
  return y;
}
