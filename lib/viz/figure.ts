/**
 * The plotly figure shape fedtune builds: plain JSON (data traces + layout), so a figure can be
 * shown inline in a notebook, written into an HTML report, or checked in a test.
 */
export interface PlotlyTrace {
  readonly type?: string;
  readonly name?: string;
  readonly x?: ReadonlyArray<number | string>;
  readonly y?: ReadonlyArray<number | string>;
  readonly z?: ReadonlyArray<ReadonlyArray<number>>;
  readonly mode?: string;
  readonly [key: string]: unknown;
}

/** A plotly figure: traces plus layout. */
export interface PlotlyFigure {
  readonly data: readonly PlotlyTrace[];
  readonly layout: { readonly [key: string]: unknown };
}
