import assert from "node:assert/strict";
import { Matrix, toVector } from "../../lib/inference/matrix.ts";

Deno.test("Matrix", async (t) => {
  await t.step("from() / toArray() round trip, row-major data", () => {
    const m = Matrix.from([[1, 2, 3], [4, 5, 6]]);
    assert.equal(m.rows, 2);
    assert.equal(m.cols, 3);
    assert.deepEqual(Array.from(m.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(m.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(Array.from(m.row(1)), [4, 5, 6]);
    assert.deepEqual(Array.from(m.col(2)), [3, 6]);
  });
  await t.step("from(Matrix) copies, of(Matrix) does not", () => {
    const m = Matrix.from([[1, 2]]);
    const c = Matrix.from(m);
    c.set(0, 0, 9);
    assert.equal(m.get(0, 0), 1);
    assert.equal(Matrix.of(m), m);
  });
  await t.step("errors name the problem", () => {
    assert.throws(() => Matrix.from([[1, 2], [3]]), TypeError);
    assert.throws(() => new Matrix(2, 2, new Float32Array(3)), TypeError);
    assert.throws(() => new Matrix(-1, 2), RangeError);
    assert.throws(() => Matrix.from([[1]]).row(1), RangeError);
  });
  await t.step("vstack, sliceRows, mean, toVector", () => {
    const m = Matrix.vstack([
      Matrix.from([[1, 2]]),
      Matrix.from([[3, 4], [5, 6]]),
    ]);
    assert.deepEqual(m.toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(m.sliceRows(1, 3).toArray(), [[3, 4], [5, 6]]);
    assert.deepEqual(Array.from(m.mean()), [3, 4]);
    assert.deepEqual(Array.from(toVector([1, 2])), [1, 2]);
    assert.deepEqual(Array.from(toVector([[1, 2]])), [1, 2]);
    assert.throws(() => toVector(m), TypeError);
  });
});
