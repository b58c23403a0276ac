/**
 * Turn a cell's iopub messages into nbformat-4 outputs, as nbclient does: consecutive stream
 * messages of the same name merge into one output; `clear_output` (with `wait`) clears; an
 * `update_display_data` rewrites, in every cell so far, the outputs that carry its display_id.
 */
import { JupyterMessage } from "./wireMessage";

/** One nbformat-4 output (stream, display_data, execute_result or error). */
export type NotebookOutput =
  | { output_type: "stream"; name: string; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; execution_count: number | null; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

type RichOutput = Extract<NotebookOutput, { data: Record<string, unknown> }>;

/** Collects outputs cell by cell; keeps display ids across cells (a later cell may update an earlier display). */
export class OutputCollector {
  private readonly displays = new Map<string, RichOutput[]>();

  /** The outputs of one cell, given its iopub messages in order. */
  outputs(messages: readonly JupyterMessage[]): NotebookOutput[] {
    let outs: NotebookOutput[] = [];
    let clearOnNext = false;
    const push = (o: NotebookOutput): void => {
      if (clearOnNext) {
        outs = [];
        clearOnNext = false;
      }
      const last = outs[outs.length - 1];
      if (o.output_type === "stream" && last && last.output_type === "stream" && last.name === o.name) {
        outs[outs.length - 1] = { ...last, text: last.text + o.text };
      } else outs.push(o);
    };
    for (const m of messages) {
      const c = m.content;
      const data = (c.data ?? {}) as Record<string, unknown>;
      const metadata = (c.metadata ?? {}) as Record<string, unknown>;
      const displayId = ((c.transient ?? {}) as { display_id?: unknown }).display_id;
      switch (m.header.msg_type) {
        case "stream":
          push({ output_type: "stream", name: String(c.name), text: String(c.text ?? "") });
          break;
        case "display_data":
        case "execute_result": {
          const o: RichOutput =
            m.header.msg_type === "display_data"
              ? { output_type: "display_data", data, metadata }
              : { output_type: "execute_result", execution_count: typeof c.execution_count === "number" ? c.execution_count : null, data, metadata };
          push(o);
          if (typeof displayId === "string") {
            const list = this.displays.get(displayId) ?? [];
            list.push(o);
            this.displays.set(displayId, list);
          }
          break;
        }
        case "update_display_data":
          if (typeof displayId === "string") {
            for (const o of this.displays.get(displayId) ?? []) {
              o.data = data;
              o.metadata = metadata;
            }
          }
          break;
        case "error":
          push({
            output_type: "error",
            ename: String(c.ename ?? ""),
            evalue: String(c.evalue ?? ""),
            traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
          });
          break;
        case "clear_output":
          if (c.wait) clearOnNext = true;
          else outs = [];
          break;
        default:
          break; // execute_input, comm_*: not outputs
      }
    }
    return outs;
  }
}
