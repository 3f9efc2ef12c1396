// Minimal WebAssembly binary encoder for the SIMD kernels (spec: WebAssembly
// Core Specification 2.0, "Binary Format"; SIMD opcodes from the fixed-width
// SIMD proposal, merged in 2.0).

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit range). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let more = true;
  while (more) {
    let b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      more = false;
    } else b |= 0x80;
    out.push(b);
  }
  return out;
}

export const T = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
} as const;

export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  f32_load: 0x2a,
  f64_load: 0x2b,
  i32_store: 0x36,
  f32_store: 0x38,
  f64_store: 0x39,
  i32_const: 0x41,
  f64_const: 0x44,
  f32_const: 0x43,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_ge_s: 0x4e,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_rem_s: 0x6f,
  i32_and: 0x71,
  i32_shl: 0x74,
  f64_add: 0xa0,
  f64_mul: 0xa2,
  f64_convert_i32_s: 0xb7,
  f32_convert_i32_s: 0xb2,
  f32_demote_f64: 0xb6,
} as const;

/** SIMD opcodes (prefix 0xfd). */
export const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  f64x2_splat: 0x14,
  f32x4_extract: 0x1f,
  f32x4_replace: 0x20,
  f64x2_extract: 0x21,
  f64x2_replace: 0x22,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  f64x2_eq: 0x47,
  f64x2_ne: 0x48,
  f64x2_lt: 0x49,
  f64x2_gt: 0x4a,
  f64x2_le: 0x4b,
  f64x2_ge: 0x4c,
  not: 0x4d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  any_true: 0x53,
  i32x4_extract: 0x1b,
  i8x16_shuffle: 0x0d,
  f32x4_ceil: 0x67,
  f32x4_floor: 0x68,
  f32x4_trunc: 0x69,
  f32x4_nearest: 0x6a,
  f64x2_ceil: 0x74,
  f64x2_floor: 0x75,
  f64x2_trunc: 0x7a,
  f64x2_nearest: 0x94,
  i32x4_shl: 0xab,
  i32x4_add: 0xae,
  i64x2_extend_low_i32x4_s: 0xc7,
  i64x2_shl: 0xcb,
  i64x2_add: 0xce,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_pmin: 0xea,
  f32x4_pmax: 0xeb,
  f64x2_abs: 0xec,
  f64x2_neg: 0xed,
  f64x2_sqrt: 0xef,
  f64x2_add: 0xf0,
  f64x2_sub: 0xf1,
  f64x2_mul: 0xf2,
  f64x2_div: 0xf3,
  f64x2_pmin: 0xf6,
  f64x2_pmax: 0xf7,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  i32x4_trunc_sat_f64x2_s_zero: 0xfc,
} as const;

/** A function body under construction. */
export class Body {
  readonly code: number[] = [];
  readonly locals: number[] = [];
  readonly nParams: number;

  constructor(nParams: number) {
    this.nParams = nParams;
  }

  /** Declare a local of a type; returns its index. */
  local(type: number): number {
    this.locals.push(type);
    return this.nParams + this.locals.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  simd(op: number, ...imm: number[]): this {
    this.code.push(0xfd, ...uleb(op), ...imm);
    return this;
  }

  get(i: number): this {
    return this.op(OP.local_get, ...uleb(i));
  }

  set(i: number): this {
    return this.op(OP.local_set, ...uleb(i));
  }

  tee(i: number): this {
    return this.op(OP.local_tee, ...uleb(i));
  }

  i32(n: number): this {
    return this.op(OP.i32_const, ...sleb(n | 0));
  }

  f64(x: number): this {
    const b = new Uint8Array(new Float64Array([x]).buffer);
    return this.op(OP.f64_const, ...b);
  }

  f32(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(OP.f32_const, ...b);
  }

  v128f64(a: number, b: number): this {
    const bytes = new Uint8Array(new Float64Array([a, b]).buffer);
    return this.simd(SIMD.const, ...bytes);
  }

  v128f32(a: number): this {
    const bytes = new Uint8Array(new Float32Array([a, a, a, a]).buffer);
    return this.simd(SIMD.const, ...bytes);
  }

  /** Encoded body (locals + code + end). */
  encode(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.locals) {
      if (groups.length && groups[groups.length - 1][1] === t) {
        groups[groups.length - 1][0]++;
      } else groups.push([1, t]);
    }
    const body = [
      ...uleb(groups.length),
      ...groups.flatMap(([n, t]) => [...uleb(n), t]),
      ...this.code,
      OP.end,
    ];
    return [...uleb(body.length), ...body];
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** A module: one imported memory, functions with their types, exports. */
export function encodeModule(
  funcs: { params: number[]; results: number[]; body: Body; export?: string }[],
  memoryPages: number,
): Uint8Array {
  const types = funcs.map((
    f,
  ) => [
    0x60,
    ...vec(f.params.map((p) => [p])),
    ...vec(f.results.map((r) => [r])),
  ]);
  const imports = vec([[
    ...str("env"),
    ...str("memory"),
    0x02,
    0x00,
    ...uleb(memoryPages),
  ]]);
  const fsec = vec(funcs.map((_, i) => uleb(i)));
  const exps = funcs.map((
    f,
    i,
  ) => (f.export ? [...str(f.export), 0x00, ...uleb(i)] : null)).filter((x) =>
    x
  ) as number[][];
  const code = vec(funcs.map((f) => f.body.encode()));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, fsec),
    ...section(7, vec(exps)),
    ...section(10, code),
  ]);
}
