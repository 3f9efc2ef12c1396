/**
 * The RxJS fence: `streams/` imports RxJS only through this module, by a full
 * `npm:` specifier, so that importing `./streams` by URL (without this
 * repository's deno.json) resolves. The version lives here and nowhere else.
 * @module
 */
export * from "npm:rxjs@7.8.2";
