/**
 * A small row-major `Float32Array` matrix used by every public inference API
 * (samples, simulations, parameters). No tfjs tensor ever crosses the public
 * API: tensors are created and disposed inside `estimators/`.
 * @module
 */

/** Anything the inference APIs accept as a table of rows. */
export type MatrixLike = Matrix | number[][] | ArrayLike<number>[];

/** A dense row-major matrix of 32-bit floats. */
export class Matrix {
  /** Row-major values, `rows * cols` long. */
  readonly data: Float32Array;
  /** Number of rows (samples / simulations). */
  readonly rows: number;
  /** Number of columns (dimensions). */
  readonly cols: number;

  /**
   * Creates the object from its options.
   * @param rows number of rows
   * @param cols number of columns
   * @param data optional row-major values (`rows * cols` long); zeros when omitted
   * @throws {RangeError} if a size is negative or not an integer
   * @throws {TypeError} if `data` has the wrong length
   * @example
   * ```ts
   * import { Matrix } from "./matrix.ts";
   * const m = new Matrix(2, 3);
   * m.set(1, 2, 5);
   * console.log(m.get(1, 2)); // 5
   * ```
   */
  constructor(rows: number, cols: number, data?: Float32Array) {
    if (!Number.isInteger(rows) || rows < 0) {
      throw new RangeError(
        `Matrix rows must be a non-negative integer, got ${rows}`,
      );
    }
    if (!Number.isInteger(cols) || cols < 0) {
      throw new RangeError(
        `Matrix cols must be a non-negative integer, got ${cols}`,
      );
    }
    if (data !== undefined && data.length !== rows * cols) {
      throw new TypeError(
        `Matrix data has length ${data.length}, expected rows*cols = ${
          rows * cols
        }`,
      );
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float32Array(rows * cols);
  }

  /**
   * Builds a matrix from nested arrays (rows of equal length) or copies a Matrix.
   * @param value rows of numbers, or a Matrix (copied)
   * @param cols number of columns to use when `value` has no rows
   * @returns a new Matrix
   * @throws {TypeError} if the rows have different lengths
   * @example
   * ```ts
   * import { Matrix } from "./matrix.ts";
   * const m = Matrix.from([[1, 2], [3, 4]]);
   * console.log(m.rows, m.cols, m.toArray()); // 2 2 [[1, 2], [3, 4]]
   * ```
   */
  static from(value: MatrixLike, cols?: number): Matrix {
    if (value instanceof Matrix) {
      return new Matrix(value.rows, value.cols, value.data.slice());
    }
    if (!Array.isArray(value)) {
      throw new TypeError(
        `expected a Matrix or an array of rows, got ${typeof value}`,
      );
    }
    const rows = value.length;
    const c = rows > 0 ? value[0].length : (cols ?? 0);
    const out = new Matrix(rows, c);
    for (let i = 0; i < rows; i++) {
      const r = value[i];
      if (r === null || typeof r !== "object" || r.length !== c) {
        throw new TypeError(
          `row ${i} has length ${r?.length}, expected ${c} (all rows must have equal length)`,
        );
      }
      for (let j = 0; j < c; j++) out.data[i * c + j] = r[j];
    }
    return out;
  }

  /**
   * Like {@linkcode Matrix.from} but returns Matrix inputs unchanged (no copy).
   * @param value rows of numbers or a Matrix
   * @returns a Matrix view of `value`
   * @throws {TypeError} if the rows have different lengths
   */
  static of(value: MatrixLike): Matrix {
    return value instanceof Matrix ? value : Matrix.from(value);
  }

  /**
   * Element (i, j).
   * @param i row index
   * @param j column index
   * @returns the value
   */
  get(i: number, j: number): number {
    return this.data[i * this.cols + j];
  }

  /**
   * Sets element (i, j).
   * @param i row index
   * @param j column index
   * @param v value
   */
  set(i: number, j: number, v: number): void {
    this.data[i * this.cols + j] = v;
  }

  /**
   * A view (no copy) of row `i`.
   * @param i row index
   * @returns the row as a Float32Array sharing memory with this matrix
   * @throws {RangeError} if `i` is out of range
   */
  row(i: number): Float32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.rows) {
      throw new RangeError(`row index ${i} out of range [0, ${this.rows})`);
    }
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }

  /**
   * Column `j` as a new array.
   * @param j column index
   * @returns a copy of the column
   * @throws {RangeError} if `j` is out of range
   */
  col(j: number): Float32Array {
    if (!Number.isInteger(j) || j < 0 || j >= this.cols) {
      throw new RangeError(`column index ${j} out of range [0, ${this.cols})`);
    }
    const out = new Float32Array(this.rows);
    for (let i = 0; i < this.rows; i++) out[i] = this.data[i * this.cols + j];
    return out;
  }

  /**
   * Rows `start` (inclusive) to `end` (exclusive) as a new Matrix sharing memory.
   * @param start first row
   * @param end one past the last row
   * @returns a Matrix view
   */
  sliceRows(start: number, end: number): Matrix {
    const s = Math.max(0, Math.min(start, this.rows));
    const e = Math.max(s, Math.min(end, this.rows));
    return new Matrix(
      e - s,
      this.cols,
      this.data.subarray(s * this.cols, e * this.cols),
    );
  }

  /**
   * Nested arrays of numbers.
   * @returns `rows` arrays of `cols` numbers
   */
  toArray(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.row(i)));
    return out;
  }

  /**
   * Column means (float64).
   * @returns one mean per column
   */
  mean(): Float64Array {
    const m = new Float64Array(this.cols);
    for (let i = 0; i < this.rows; i++) {
      for (let j = 0; j < this.cols; j++) m[j] += this.data[i * this.cols + j];
    }
    for (let j = 0; j < this.cols; j++) m[j] /= Math.max(1, this.rows);
    return m;
  }

  /**
   * Stacks matrices with equal column counts vertically.
   * @param parts matrices to stack
   * @returns a new Matrix
   * @throws {TypeError} if column counts differ
   */
  static vstack(parts: Matrix[]): Matrix {
    if (parts.length === 0) return new Matrix(0, 0);
    const c = parts[0].cols;
    let rows = 0;
    for (const p of parts) {
      if (p.cols !== c) {
        throw new TypeError(`vstack: column counts differ (${p.cols} vs ${c})`);
      }
      rows += p.rows;
    }
    const out = new Matrix(rows, c);
    let off = 0;
    for (const p of parts) {
      out.data.set(p.data, off);
      off += p.data.length;
    }
    return out;
  }
}

/**
 * Converts a vector-like value (number[], typed array, or 1-row Matrix) to a Float32Array.
 * @param v the vector
 * @returns a Float32Array copy
 * @throws {TypeError} if `v` is a matrix with more than one row
 */
export function toVector(
  v: ArrayLike<number> | Matrix | number[][],
): Float32Array {
  if (v instanceof Matrix) {
    if (v.rows !== 1) {
      throw new TypeError(
        `expected a single row, got a ${v.rows}x${v.cols} Matrix`,
      );
    }
    return v.data.slice();
  }
  if (Array.isArray(v) && v.length > 0 && Array.isArray(v[0])) {
    if (v.length !== 1) {
      throw new TypeError(`expected a single row, got ${v.length} rows`);
    }
    return Float32Array.from(v[0] as number[]);
  }
  return Float32Array.from(v as ArrayLike<number>);
}
