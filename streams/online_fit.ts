/**
 * The streaming `OnlineTraceFitter` lives in
 * `lib/fitting/fitters/streamed_online_fitter.ts` (it needs no RxJS: it
 * accepts any Observable structurally); `OnlineTraceFitter.create` builds
 * it. From `./streams`,
 * {@linkcode fitProgress} turns its progress reports into an RxJS
 * Observable.
 * @module
 */
import { from, type Observable } from "./_deps.ts";
import type { StreamProgress } from "./progress.ts";

/**
 * What {@linkcode fitProgress} reads: the `progress` feed of a streaming
 * fitter (the `StreamedOnlineTraceFitter` that `OnlineTraceFitter.create` of
 * the main entry point returns), typed structurally.
 */
export interface FitProgressFeed {
  /** The progress reports, delivered to a subscriber. */
  readonly progress: {
    /**
     * Start delivering reports.
     * @param observer callbacks
     * @returns a handle that stops the delivery
     */
    subscribe(observer: {
      next?: (p: StreamProgress) => void;
      error?: (err: unknown) => void;
      complete?: () => void;
    }): { unsubscribe(): void };
  };
}

/**
 * The progress reports of a streaming fitter (one per block, one per
 * finished round) as an RxJS Observable; it completes on `dispose()`.
 * @param fitter a fitter from `OnlineTraceFitter.create`
 * @returns the Observable
 */
export function fitProgress(
  fitter: FitProgressFeed,
): Observable<StreamProgress> {
  const feed = fitter.progress;
  return from(feed as unknown as Observable<StreamProgress>);
}
