/** One measured figure of the bench. */
export interface Measurement {
  /** What was measured, e.g. "CNN batch 32, wasm + fedtune kernels". */
  readonly label: string;
  readonly value: number;
  /** e.g. "samples/s", "GB/s". */
  readonly unit: string;
  /** How it was measured (batches timed, caveats). */
  readonly note?: string;
}

/** A ratio of two measurements taken side by side in the same run, with the target. */
export interface Ratio {
  readonly label: string;
  readonly value: number;
  /** Target as text, e.g. "≥ 50×". */
  readonly target: string;
  /** Whether the target is met; undefined when the ratio has no target. */
  readonly met?: boolean;
  /** How to print the value: "×" (default) or "%" (value 0.03 prints as 3.0 %). */
  readonly unit?: "×" | "%";
}

/** One numbered item of issue 8's bench. */
export interface BenchItem {
  readonly id: number;
  readonly title: string;
  readonly status: "measured" | "not yet measured" | "skipped";
  /** Why it was not measured or skipped. */
  readonly reason?: string;
  readonly measurements: readonly Measurement[];
  readonly ratios: readonly Ratio[];
}

/** An item that cannot be measured yet, with the reason instead of a made-up number. */
export function notYetMeasured(id: number, title: string, reason: string): BenchItem {
  return { id, title, status: "not yet measured", reason, measurements: [], ratios: [] };
}
