import {parentPort, Worker} from 'node:worker_threads';
import {StageError, UserError} from './errors.js';

/*
 * A fixed set of worker threads running one script, serving requests first come first served.
 * Each request's answer comes back through its own promise, so a caller can submit everything at
 * once and still consume the answers in its own order. Errors cross the thread boundary with
 * their class (UserError, StageError: message, exit code, code) so a caller cannot tell a
 * worker's error from one thrown in its own thread.
 */

/** An error as it crosses a thread boundary. */
interface SentError {
  name: string;
  message: string;
  stack?: string;
  exitCode?: number;
  code?: string;
  stage?: string;
}

type Answer<R> = {id: number; ok: true; value: R} | {id: number; ok: false; error: SentError};

function sendable(err: unknown): SentError {
  if (!(err instanceof Error)) return {name: 'Error', message: String(err)};
  const out: SentError = {name: err.name, message: err.message, stack: err.stack};
  if (err instanceof UserError) Object.assign(out, {exitCode: err.exitCode, code: err.code});
  if (err instanceof StageError) out.stage = err.stage;
  return out;
}

/** The error a worker threw, as the same class with the same message, exit code and code. */
function revive(e: SentError): Error {
  let err: Error;
  if (e.stage !== undefined && e.message.startsWith(`stage ${e.stage}: `)) err = new StageError(e.stage, e.message.slice(`stage ${e.stage}: `.length));
  else if (e.exitCode !== undefined) err = new UserError(e.message, {exitCode: e.exitCode, code: e.code});
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * In a worker script: answers every request of the pool with `handle` (one at a time, in the
 * order they arrive).
 */
export function serveRequests<Q, R>(handle: (request: Q) => R | Promise<R>): void {
  if (!parentPort) throw new Error('serveRequests runs in a worker thread');
  const port = parentPort;
  let chain = Promise.resolve();
  port.on('message', ({id, request}: {id: number; request: Q}) => {
    chain = chain.then(async () => {
      let answer: Answer<R>;
      try {
        answer = {id, ok: true, value: await handle(request)};
      } catch (err) {
        answer = {id, ok: false, error: sendable(err)};
      }
      port.postMessage(answer);
    });
  });
}

interface Pending<R> {
  id: number;
  request: unknown;
  resolve: (value: R) => void;
  reject: (err: Error) => void;
}

export class WorkerPool<Q, R> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<Pending<R>> = [];
  private readonly busy = new Map<Worker, Pending<R>>();
  private nextId = 0;
  private failed: Error | undefined;
  private closed = false;
  private readonly onAbort: () => void;

  /**
   * `threads` workers running `script` with `workerData`. When `signal` aborts, the workers are
   * terminated and every unanswered request is rejected with `abortError()`.
   */
  constructor(
    script: URL,
    threads: number,
    workerData: unknown,
    private readonly opts: {signal?: AbortSignal; abortError?: () => Error} = {},
  ) {
    for (let t = 0; t < threads; t++) {
      const w = new Worker(script, {workerData});
      w.on('message', (a: Answer<R>) => this.answered(w, a));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`worker thread exited unexpectedly (exit code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
    this.onAbort = () => this.fail(opts.abortError?.() ?? new Error('aborted'));
    opts.signal?.addEventListener('abort', this.onAbort, {once: true});
  }

  get size(): number {
    return this.workers.length;
  }

  /** Queues a request; resolves with its worker's answer. */
  run(request: Q): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.failed || this.closed) return reject(this.failed ?? new Error('worker pool is closed'));
      this.queue.push({id: this.nextId++, request, resolve, reject});
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.shift()!;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      w.postMessage({id: p.id, request: p.request});
    }
  }

  private answered(w: Worker, a: Answer<R>): void {
    const p = this.busy.get(w);
    if (!p || p.id !== a.id) return;
    this.busy.delete(w);
    this.idle.push(w);
    if (a.ok) p.resolve(a.value);
    else p.reject(revive(a.error));
    this.dispatch();
  }

  /** A worker died or the work was aborted: nothing more can be answered. */
  private fail(err: Error): void {
    if (this.failed || this.closed) return;
    this.failed = err;
    void this.close(); // rejects what is busy or queued with err
  }

  /** Terminates every worker (unanswered requests are rejected). */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.opts.signal?.removeEventListener('abort', this.onAbort);
      const err = this.failed ?? new Error('worker pool is closed');
      for (const p of [...this.busy.values(), ...this.queue.splice(0)]) p.reject(err);
      this.busy.clear();
    }
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }
}
