/**
 * Child of stream_buffer_test.ts: buffers a one-shot stream to a temporary
 * file in the directory given as the first argument, prints the files
 * there, then leaves by `Deno.exit(0)` (or by the end of the script with
 * "end" as second argument) without calling `dispose()`.
 * @module
 */
import { OnlineTraceFitter } from "../../lib/fitting/fitters/online_trace_fitter.ts";

const [dir, how] = Deno.args;
async function* chunks() {
  yield { start: 0, samples: 100, channels: [new Float64Array(100).fill(0.5)] };
}
const fitter = await OnlineTraceFitter.create({
  model: "v = c + x : volt\nc : volt (constant)",
  inputUnits: { x: "volt" },
  input: { x: [new Float64Array(100)] },
  output: { v: chunks() },
  dt: 1e-4,
  tempDir: dir,
});
console.log(JSON.stringify([...Deno.readDirSync(dir)].map((e) => e.name)));
if (fitter.sources.v !== "buffered") throw new Error("not buffered");
if (how !== "end") Deno.exit(0);
