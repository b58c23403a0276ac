/**
 * Progress of an experiment as events, and a printer for terminals: on a TTY one line per phase,
 * redrawn in place with `\r` as a bar (`federated ████████░░░░ 6/10 round 6 · participant 2/3`);
 * elsewhere (CI logs, pipes) plain lines, one per finished step, so logs stay readable.
 *
 * Kept by hand rather than taken from a progress library (cli-progress, progress): it is forty
 * lines, shows the participant within the round on the same line, writes plain step lines (not
 * repeated bar frames) when the stream is not a terminal, and takes any stream, which the tests use.
 */

/** The phases of a run, in order. */
export type ExperimentPhase = "setup" | "local" | "federated" | "report";

/** One progress event. */
export interface ProgressEvent {
  readonly phase: ExperimentPhase;
  /** Steps done in this phase (participants in "local", rounds in "federated"). */
  readonly done: number;
  /** Steps in this phase. */
  readonly total: number;
  /** What the step was, e.g. "round 3" or "participant mnist". */
  readonly label: string;
  /** Optional sub-step within the step (participants within a round): done and total. */
  readonly sub?: { readonly done: number; readonly total: number; readonly label: string };
  /** A short result of the step, e.g. "personal acc 0.912". */
  readonly detail?: string;
}

/** A writable stream as far as the printer needs one. */
export interface ProgressStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of `createProgressPrinter`. */
export interface ProgressPrinterOptions {
  /** Force bar (true) or plain-line (false) mode; default: the stream's `isTTY`. */
  readonly tty?: boolean;
  /** Bar width in characters; default 24. */
  readonly barWidth?: number;
}

/** The progress printer: call it with each event, and `end()` before printing anything else. */
export interface ProgressPrinter {
  (event: ProgressEvent): void;
  /** Finish the current bar line (on a TTY). */
  end(): void;
}

/** A bar of `width` cells, `fraction` of them filled. */
export function progressBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return "█".repeat(full) + "░".repeat(width - full);
}

/** Print progress events to `stream` (a bar per phase on a TTY, plain lines otherwise). */
export function createProgressPrinter(stream: ProgressStream, options: ProgressPrinterOptions = {}): ProgressPrinter {
  const tty = options.tty ?? stream.isTTY === true;
  const width = options.barWidth ?? 24;
  let openPhase: ExperimentPhase | undefined;
  let lastLength = 0;
  const end = (): void => {
    if (tty && openPhase !== undefined) stream.write("\n");
    openPhase = undefined;
    lastLength = 0;
  };
  const printer = ((e: ProgressEvent): void => {
    if (tty) {
      if (openPhase !== undefined && openPhase !== e.phase) end();
      openPhase = e.phase;
      const fraction = (e.done + (e.sub ? e.sub.done / Math.max(1, e.sub.total) : 0)) / Math.max(1, e.total);
      const sub = e.sub ? ` · ${e.sub.label} ${e.sub.done}/${e.sub.total}` : "";
      let line = `${e.phase.padEnd(9)} ${progressBar(fraction, width)} ${e.done}/${e.total} ${e.label}${sub}${e.detail ? ` · ${e.detail}` : ""}`;
      const cols = stream.columns ?? 120;
      if (line.length > cols - 1) line = line.slice(0, cols - 2) + "…";
      stream.write(`\r${line}${" ".repeat(Math.max(0, lastLength - line.length))}`);
      lastLength = line.length;
      if (e.done >= e.total && !e.sub) end();
    } else if (!e.sub) {
      // Plain mode: only whole steps, one line each.
      stream.write(`[${e.phase}] ${e.done}/${e.total} ${e.label}${e.detail ? ` · ${e.detail}` : ""}\n`);
    }
  }) as ProgressPrinter;
  printer.end = end;
  return printer;
}
