/**
 * One worker thread (node:worker_threads) that answers requests: each request carries an id and
 * gets exactly one `{ type: "reply", id }` back; the thread says `{ type: "ready" }` once it has
 * started, and may send `{ type: "event", id }` messages while it works on request `id` (progress).
 * If the thread dies (an error, an exit, `terminate`), every pending request is rejected with the
 * reason, so no caller waits forever. The fit pool's workers and the repetition workers are both
 * this, scheduled by `runInLanes`.
 */
import { Worker } from "node:worker_threads";

/** What every worker thread's messages to the main thread look like. */
export type ThreadMessage = { readonly type: "ready"; readonly backend: string } | { readonly type: "reply"; readonly id: number } | { readonly type: "event"; readonly id: number };

/** `T` without its `id` (distributed over a union of requests). */
export type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** An error as data (Error objects lose their class across threads). */
export interface SerialisedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** An Error as data. */
export function serialiseError(e: unknown): SerialisedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

/** Back to an Error (same message, the worker's stack). */
export function deserialiseError(e: SerialisedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

interface Pending<R> {
  resolve(reply: R): void;
  reject(error: Error): void;
}

/** A worker thread running `file`, with numbered requests of type `Req` and replies of type `Reply`. */
export class WorkerThread<Req extends { readonly id: number }, Reply extends ThreadMessage> {
  readonly worker: Worker;
  /** Resolves with the thread's backend when it says it is ready; rejects if it dies first. */
  readonly ready: Promise<string>;
  /** Why the thread is gone (undefined while it lives). */
  dead: Error | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending<Extract<Reply, { type: "reply" }>>>();

  /** Start the thread; `name` prefixes its errors ("worker 1 exited (code 1)"), `onEvent` gets its event messages. */
  constructor(file: string, workerData: unknown, name: string, onEvent?: (event: Extract<Reply, { type: "event" }>) => void) {
    this.worker = new Worker(file, { workerData });
    let markReady: (backend: string) => void = () => undefined;
    let failReady: (e: Error) => void = () => undefined;
    this.ready = new Promise<string>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined); // observed by whoever awaits it
    this.worker.on("message", (m: Reply) => {
      if (m.type === "ready") return markReady((m as Extract<ThreadMessage, { type: "ready" }>).backend);
      if (m.type === "event") return onEvent?.(m as Extract<Reply, { type: "event" }>);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m as Extract<Reply, { type: "reply" }>);
    });
    const die = (e: Error): void => {
      if (this.dead) return;
      this.dead = e;
      failReady(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", (e) => die(new Error(`${name} failed: ${e.message}`)));
    this.worker.on("exit", (code) => die(new Error(`${name} exited (code ${code})`)));
  }

  /** Send a request and wait for its reply (rejects if the thread dies first). */
  call(request: WithoutId<Req>, transfer: ArrayBuffer[] = []): Promise<Extract<Reply, { type: "reply" }>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Keep the process alive while a caller needs this thread (an idle thread should not). */
  hold(on: boolean): void {
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  /** Stop the thread (pending requests are rejected). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
