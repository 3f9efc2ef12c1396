/**
 * The d3 fence: every d3 module that `lib/plot/` uses, by full `npm:`
 * specifier, so that importing `./plot` by URL (without this repository's
 * deno.json) resolves. Versions live here and nowhere else.
 * @module
 */
// @ts-types="npm:@types/d3-scale@4.0.9"
export { scaleLinear } from "npm:d3-scale@4.0.2";
// @ts-types="npm:@types/d3-shape@3.1.8"
export { area, line } from "npm:d3-shape@3.2.0";
// @ts-types="npm:@types/d3-contour@3.0.6"
export { contours } from "npm:d3-contour@4.0.2";
