import assert from "node:assert/strict";
import { docLint, isExternalTypeRef, parseDiagnostics } from "./doc_lint.ts";

const SAMPLE = `Warning Failed resolving types.
error[private-type-ref]: public type 'fromRunner' references private type 'Observable'
  --> /x/streams/from_runner.ts:69:1

error[private-type-ref]: public type 'SteppableRunner["step"]' references private type 'Chunk'
  --> /x/streams/from_runner.ts:16:3

error[missing-jsdoc]: exported symbol is missing JSDoc documentation
  --> /x/lib/units/dimension.ts:28:3

error: Found 3 documentation lint errors.
`;

Deno.test("doc lint: only private-type-ref to RxJS's types is ignored", () => {
  const d = parseDiagnostics(SAMPLE);
  assert.deepEqual(d.map((x) => x.head.slice(0, 22)), [
    "error[private-type-ref",
    "error[private-type-ref",
    "error[missing-jsdoc]: ",
  ]);
  assert.deepEqual(d.map(isExternalTypeRef), [true, false, false]);
});

Deno.test("deno doc --lint of the five entry points is clean", async () => {
  const { errors } = await docLint();
  assert.deepEqual(errors.map((e) => e.text), []);
});
