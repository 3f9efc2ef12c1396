/**
 * The streaming `OnlineTraceFitter` lives in
 * `lib/fitting/fitters/streamed_online_fitter.ts` (it needs no RxJS: it
 * accepts any Observable structurally); `OnlineTraceFitter.create` builds
 * it. This module re-exports it for users of `./streams`, and
 * {@linkcode fitProgress} turns its progress reports into an RxJS
 * Observable.
 * @module
 */
import { from, type Observable } from "./_deps.ts";
import type { StreamedOnlineTraceFitter } from "../lib/fitting/fitters/streamed_online_fitter.ts";
import type { StreamProgress } from "./progress.ts";

export {
  type ChunkObserver,
  type RecordingFileSource,
  StreamedOnlineTraceFitter,
  type StreamedOnlineTraceFitterOptions,
  type Subscribable,
  type TraceSource,
} from "../lib/fitting/fitters/streamed_online_fitter.ts";

/**
 * The progress reports of a streaming fitter (one per block, one per
 * finished round) as an RxJS Observable; it completes on `dispose()`.
 * @param fitter a fitter from `OnlineTraceFitter.create`
 * @returns the Observable
 */
export function fitProgress(
  fitter: StreamedOnlineTraceFitter,
): Observable<StreamProgress> {
  const feed = fitter.progress;
  return from(feed as unknown as Observable<StreamProgress>);
}
