/**
 * Plots as standalone SVG strings (no DOM): time traces, posterior pair plots
 * and marginals, conditional slices and correlations, SBC rank histograms and
 * coverage curves.
 * @module
 */

export {
  decimateM4,
  escapeXml,
  type TracePanel,
  type TraceSeries,
  tracesSvg,
  type TracesSvgOptions,
} from "./traces.ts";
export {
  type DiagKind,
  marginalPlot,
  type OffdiagKind,
  pairplot,
  type PairplotOptions,
  type SampleTable,
} from "./pairplot.ts";
export {
  conditionalCorrcoeff,
  type ConditionalCorrcoeffOptions,
  conditionalPairplot,
  type ConditionalPairplotOptions,
  corrcoeffSvg,
  type LogDensityFn,
} from "./conditional.ts";
export {
  binomialQuantile,
  coveragePlot,
  type CoveragePlotOptions,
  type CoverageSeries,
  sbcRankPlot,
  type SbcRankPlotOptions,
} from "./diagnostics.ts";
export {
  inferencerConditionalCorrcoeff,
  inferencerConditionalPairplot,
  inferencerPairplot,
  type InferencerPairplotOptions,
  type PlottableInferencer,
} from "./inferencer.ts";
export { figure, SvgFigure } from "./figure.ts";
export { JUPYTER_DISPLAY, type MediaBundle } from "../display.ts";
