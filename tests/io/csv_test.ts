import assert from "node:assert/strict";
import {
  formatCsv,
  parseCsvMatrix,
  readCsvMatrix,
  writeCsv,
} from "../../lib/io/csv.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const B2MF = new URL("../../data/b2mf/", import.meta.url);

Deno.test("readCsvMatrix()", async (t) => {
  await t.step(
    "tutorial input_traces_hh.csv loads as 5 × 1497 in amperes",
    async () => {
      const m = await readCsvMatrix(new URL("input_traces_hh.csv", B2MF));
      assert.equal(m.rows, 5);
      assert.equal(m.cols, 1497);
      assert.equal(m.data.length, 5);
      for (const r of m.data) assert.equal(r.length, 1497);
      assert.deepEqual(m.index, ["0", "1", "2", "3", "4"]);
      assert.equal(m.header?.length, 1497);
      assert.equal(m.header?.[1496], "1496");
      // README: trace 0 is 10 nA on samples 499..997, 0 elsewhere
      const r0 = m.data[0];
      assert.equal(r0[498], 0);
      assert.equal(r0[499], 1e-8);
      assert.equal(r0[997], 1e-8);
      assert.equal(r0[998], 0);
      // trace 2: 2 nA already on at t = 0
      assert.equal(m.data[2][0], 2e-9);
      // the file holds 50 * nA as Python computed it
      assert.equal(Math.max(...m.data[3]), 5.0000000000000004e-8);
      assert.equal(Math.max(...m.data[4]), 2.0000000000000003e-10);
    },
  );

  await t.step(
    "tutorial output_traces_hh.csv (path string) loads as 5 × 1497 mV, scale to V",
    async () => {
      const path = new URL("output_traces_hh.csv", B2MF).pathname;
      const m = await readCsvMatrix(path);
      assert.equal(m.rows, 5);
      assert.equal(m.cols, 1497);
      let lo = Infinity, hi = -Infinity;
      for (const r of m.data) {
        for (const v of r) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      }
      // README: min -87.45 mV, max 55.64 mV
      assert.ok(Math.abs(lo + 87.45) < 0.005, `min ${lo}`);
      assert.ok(Math.abs(hi - 55.64) < 0.005, `max ${hi}`);
      const v = await readCsvMatrix(path, { scale: 1e-3 });
      assert.ok(Math.abs(v.data[1][100] - m.data[1][100] * 1e-3) < 1e-18);
    },
  );

  await t.step(
    "bytes and byte streams give the same matrix as text",
    async () => {
      const text = "a,b\n1,2\n3,4\n";
      const bytes = new TextEncoder().encode(text);
      const fromText = await readCsvMatrix(text);
      assert.deepEqual(await readCsvMatrix(bytes), fromText);
      assert.deepEqual(
        await readCsvMatrix(
          new Blob([bytes]).stream() as ReadableStream<Uint8Array>,
        ),
        fromText,
      );
      assert.deepEqual(fromText.header, ["a", "b"]);
      assert.equal(fromText.index, undefined);
    },
  );
});

Deno.test("parseCsvMatrix()", async (t) => {
  await t.step("plain numeric rows: no header, no index", () => {
    const m = parseCsvMatrix("0,1.5,-2e-3\n1,  2 ,inf\n2,nan,-Infinity\n");
    assert.equal(m.rows, 3);
    assert.equal(m.cols, 3);
    assert.equal(m.header, undefined);
    assert.equal(m.index, undefined);
    assert.deepEqual([...m.data[0]], [0, 1.5, -2e-3]);
    assert.deepEqual([...m.data[1]], [1, 2, Infinity]);
    assert.ok(Number.isNaN(m.data[2][1]));
    assert.equal(m.data[2][2], -Infinity);
  });

  await t.step("pandas layout detected: header ,0,1 and index column", () => {
    const m = parseCsvMatrix(",0,1,2\r\n0,1,2,3\r\n1,4,5,6\r\n");
    assert.deepEqual(m.index, ["0", "1"]);
    assert.deepEqual(m.header, ["0", "1", "2"]);
    assert.deepEqual(m.data.map((r) => [...r]), [[1, 2, 3], [4, 5, 6]]);
  });

  await t.step(
    "explicit header / indexColumn options override detection",
    () => {
      const m = parseCsvMatrix("7,8\n9,10\n", { header: true });
      assert.deepEqual(m.header, ["7", "8"]);
      assert.equal(m.rows, 1);
      const k = parseCsvMatrix("0,8\n1,10\n", { indexColumn: true });
      assert.deepEqual(k.index, ["0", "1"]);
      assert.deepEqual(k.data.map((r) => [...r]), [[8], [10]]);
      const h = parseCsvMatrix(",0\n0,5\n", {
        indexColumn: false,
        missing: "nan",
      });
      assert.deepEqual(h.header, ["", "0"]);
      assert.deepEqual([...h.data[0]], [0, 5]);
    },
  );

  await t.step("blank lines, # comments, BOM, quotes, other delimiters", () => {
    const m = parseCsvMatrix(
      '\ufeff# made by hand\n"x"\t"y ""z"""\n\n1\t2\n',
      { delimiter: "\t" },
    );
    assert.equal(m.rows, 1);
    assert.deepEqual([...m.data[0]], [1, 2]);
    const q = parseCsvMatrix('"x","y, z"\n"1",2\n');
    assert.deepEqual(q.header, ["x", "y, z"]);
    assert.deepEqual([...q.data[0]], [1, 2]);
  });

  await t.step("empty cells: error by default, NaN with missing: 'nan'", () => {
    assert.throws(() => parseCsvMatrix("1,2\n3,\n"), DataFormatError);
    const m = parseCsvMatrix("1,2\n3,\n", { missing: "nan" });
    assert.ok(Number.isNaN(m.data[1][1]));
  });

  await t.step(
    "non-numeric cell → DataFormatError naming line, column, cell",
    () => {
      const text = ",0,1,2\n0,1,2,3\n1,4,x5,6\n";
      assert.throws(
        () => parseCsvMatrix(text),
        (e: unknown) => {
          assert.ok(e instanceof DataFormatError);
          assert.ok(e instanceof TypeError);
          assert.equal(e.line, 3);
          assert.equal(e.column, 3);
          assert.match(e.message, /line 3, column 3/);
          assert.match(e.message, /"x5"/);
          return true;
        },
      );
      // JS-only number syntaxes are not numbers in CSV
      for (const bad of ["0x10", "1_000", "1e", "--1", "1.2.3"]) {
        assert.throws(
          () => parseCsvMatrix(`1,2\n3,${bad}\n`),
          DataFormatError,
          bad,
        );
      }
    },
  );

  await t.step(
    "ragged row → DataFormatError naming the line and counts",
    () => {
      assert.throws(
        () => parseCsvMatrix("1,2,3\n4,5,6\n7,8\n"),
        (e: unknown) => {
          assert.ok(e instanceof DataFormatError);
          assert.equal(e.line, 3);
          assert.match(e.message, /line 3 has 2 fields, expected 3/);
          return true;
        },
      );
      // header longer than the data rows
      assert.throws(
        () => parseCsvMatrix("a,b,c\n1,2\n"),
        /line 2 has 2 fields/,
      );
    },
  );

  await t.step("bad options → RangeError", () => {
    assert.throws(() => parseCsvMatrix("1\n", { delimiter: ",," }), RangeError);
    assert.throws(() => parseCsvMatrix("1\n", { scale: NaN }), RangeError);
  });
});

Deno.test("formatCsv()", async (t) => {
  await t.step("pandas layout matches DataFrame.to_csv and round trips", () => {
    const rows = [[1e-8, 0.1 + 0.2, -0], [NaN, Infinity, 5e-324]];
    const text = formatCsv(rows, { pandas: true });
    assert.equal(text.split("\n")[0], ",0,1,2");
    assert.equal(text.split("\n")[1], "0,1e-8,0.30000000000000004,0");
    const back = parseCsvMatrix(text);
    assert.deepEqual(back.index, ["0", "1"]);
    assert.equal(back.data[0][1], 0.1 + 0.2);
    assert.ok(Number.isNaN(back.data[1][0]));
    assert.equal(back.data[1][1], Infinity);
    assert.equal(back.data[1][2], 5e-324);
  });

  await t.step("names are quoted when needed; ragged input → TypeError", () => {
    assert.equal(
      formatCsv([[1, 2]], { header: ["a,b", 'q"'] }),
      '"a,b","q"""\n1,2\n',
    );
    assert.throws(() => formatCsv([[1, 2], [3]]), TypeError);
    assert.throws(() => formatCsv([[1, 2]], { header: ["a"] }), TypeError);
    assert.equal(formatCsv([]), "");
  });
});

Deno.test("writeCsv()", async (t) => {
  await t.step("file round trip of the tutorial matrix is exact", async () => {
    const m = await readCsvMatrix(new URL("output_traces_hh.csv", B2MF));
    const path = await Deno.makeTempFile({ suffix: ".csv" });
    try {
      await writeCsv(path, m.data, { pandas: true });
      const back = await readCsvMatrix(path);
      assert.equal(back.rows, 5);
      assert.equal(back.cols, 1497);
      for (let i = 0; i < 5; i++) assert.deepEqual(back.data[i], m.data[i]);
    } finally {
      await Deno.remove(path);
    }
  });
});
