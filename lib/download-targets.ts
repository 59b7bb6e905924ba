/**
 * retrbinary's callback and Writable forms: the download's bytes go
 * straight from the data connection to the callback or the Writable, with
 * no DownloadStream in between. A Readable, pipe() and a finished() per
 * stream cost little once, but a run of small files pays them per file,
 * and most of all before V8 has compiled them (in A/B turns against
 * vsftpd, 7-11 % of the client's CPU per 4 KiB file over its first
 * thousands of files).
 *
 * The contract is the stream forms': settles only after the server's 2xx
 * with every byte delivered; a failure on either side stops the other and
 * rejects with that error.
 */
import { finished, type Writable } from "node:stream";
import { asError } from "./as-error.js";
import { isThenable } from "./thenable.js";
import { onAbortOf } from "./abort-signal.js";
import {
  DownloadRun,
  failedBeforeTurn,
  mayWriteAhead,
  type DownloadClient,
  type DownloadRequest,
  type DownloadTarget,
} from "./download.js";
import type { Session } from "./session.js";

/** Checks a download's arguments and makes its request; throws on a bad one. Called once, by the call. */
export type RequestDownload = () => DownloadRequest;

/** What stops watching nothing: no signal was given. */
function notWatching(): void {}

/** The queue task of a download that failed before its turn: there is nothing to run. */
const nothingToRun: Promise<void> = Promise.resolve();

/**
 * A download of the promise forms, from its call to its end. Until its
 * queue task's turn it is this object, its promise and what watches its
 * target (a Writable's listeners, a signal): a thousand calls issued at
 * once hold that much each, not a DownloadRun with its meter, attempts
 * and closures, which the young generation would carry and promote while
 * they wait. At its turn it builds the DownloadRun and runs it in that
 * turn (DownloadRun.runIn); under `retry` each run of the queue task runs
 * that same DownloadRun again. A failure from the target's side (stop)
 * before the turn rejects the call at once; the turn then builds nothing.
 */
abstract class QueuedDownload implements DownloadTarget {
  /** Built at the turn, or when the download is written ahead of it. */
  private run: DownloadRun | undefined;
  /** Stopped before a DownloadRun was built: its turn builds none. */
  private stoppedQueued = false;
  /** What stops watching the signal. */
  protected stopAborting = notWatching;

  constructor(
    private readonly client: DownloadClient,
    private readonly request: DownloadRequest,
  ) {}

  abstract write(chunk: Buffer): boolean;
  abstract end(response: string): void;
  abstract fail(error: Error): void;

  /**
   * Watches `signal`, then queues the download. Last in a subclass's
   * constructor: with nothing in front, the turn comes before this returns.
   */
  protected queue(signal: AbortSignal | undefined): void {
    // An already aborted signal stops the download here, before it is queued.
    if (signal) this.stopAborting = onAbortOf(signal, (error) => this.stop(error));
    const request = this.request;
    const ahead = mayWriteAhead(request.start, request.verifySize) ? (session: Session): boolean => this.writeAheadIn(session) : undefined;
    this.client.enqueue(this.turn, true, ahead).catch(this.queueFailed);
  }

  /**
   * Stops the download with `error` from the target's side (its consumer
   * failed, the signal aborted, the queue failed it), as DownloadRun.fail:
   * the target is told (fail) and a transfer running is aborted. Before
   * the turn nothing runs yet: the target is told now.
   */
  protected stop(error: Error): void {
    if (this.run) {
      this.run.fail(error);
      return;
    }
    if (this.stoppedQueued) return;
    this.stoppedQueued = true;
    this.fail(error);
  }

  /** The target can take more: a data connection paused for it reads again. */
  protected resume(): void {
    this.run?.resume();
  }

  /** The DownloadRun, built on first use. */
  private built(): DownloadRun {
    let run = this.run;
    if (!run) {
      const client = this.client;
      run = this.run = new DownloadRun(client.enqueue, client.settings, this.request.start, this.request, this);
    }
    return run;
  }

  /** The queue task. */
  private readonly turn = (session: Session): Promise<void> => {
    if (this.stoppedQueued) return nothingToRun;
    return this.built().runIn(session);
  };

  /** Writes the transfer ahead of the turn if it may be (transfer-ahead.ts); true if it did. */
  private writeAheadIn(session: Session): boolean {
    if (this.stoppedQueued) return false;
    return this.built().writeAheadIn(session);
  }

  /** The queue failed the task, or its last run (under `retry`) failed. */
  private readonly queueFailed = (error: unknown): void => this.stop(failedBeforeTurn(this.request.start, error));
}

/**
 * Calls `onChunk` with each chunk, in blocks of at most `blocksize` bytes
 * (ftplib's retrbinary reads them so; a chunk no bigger is handed on as it
 * is), and resolves to the final reply. A throwing `onChunk` aborts the
 * transfer and rejects with what it threw, as leaving a `for await` loop
 * over the stream would. An `onChunk` that returns a promise (an async
 * function) is waited for before the next block, as an async loop body
 * would be, and its rejection is such a throw: unwatched, it went
 * unhandled (a process exits on that) and the call resolved as if the
 * bytes had been taken.
 */
export function downloadToCallback(
  client: DownloadClient,
  request: RequestDownload,
  onChunk: (chunk: Buffer) => void,
  blocksize: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    new ToCallback(client, request(), onChunk, blocksize, resolve, reject, signal);
  });
}

/** downloadToCallback's download. */
class ToCallback extends QueuedDownload {
  constructor(
    client: DownloadClient,
    request: DownloadRequest,
    private readonly onChunk: (chunk: Buffer) => unknown,
    private readonly blocksize: number,
    private readonly resolve: (response: string) => void,
    private readonly reject: (error: Error) => void,
    signal: AbortSignal | undefined,
  ) {
    super(client, request);
    this.queue(signal);
  }

  /** The promise of an `onChunk` still running (see waitFor): the blocks after it wait, and so does the call's end. */
  private running: Promise<void> | undefined;
  /** fail() was called: no block goes to `onChunk` any more. */
  private failed = false;

  write(chunk: Buffer): boolean {
    return this.deliver(chunk, 0);
  }

  /** Hands `chunk` on from byte `from`; false once a block's callback returned a promise (the rest goes once it has settled). */
  private deliver(chunk: Buffer, from: number): boolean {
    const blocksize = this.blocksize;
    try {
      for (let at = from; at < chunk.length; at += blocksize) {
        const result = this.onChunk(at === 0 && chunk.length <= blocksize ? chunk : chunk.subarray(at, at + blocksize));
        if (isThenable(result)) {
          this.waitFor(result, chunk, at + blocksize);
          return false;
        }
      }
    } catch (error) {
      this.stop(asError(error));
    }
    return true;
  }

  /** The data connection stays paused until `result` settles: then the rest of `chunk`, or the transfer stopped with its rejection. */
  private waitFor(result: PromiseLike<unknown>, chunk: Buffer, next: number): void {
    this.running = Promise.resolve(result).then(
      () => {
        this.running = undefined;
        // Failed meanwhile (its signal, the connection): the rest of the chunk is nobody's.
        if (this.failed) return;
        if (this.deliver(chunk, next)) this.resume();
      },
      (error: unknown) => {
        this.running = undefined;
        this.stop(asError(error));
        // Told even if the transfer had already ended: the bytes were not all taken.
        this.fail(asError(error));
      },
    );
  }

  end(response: string): void {
    this.stopAborting();
    const running = this.running;
    if (running) void running.then(() => this.resolve(response));
    else this.resolve(response);
  }

  fail(error: Error): void {
    this.failed = true;
    this.stopAborting();
    this.reject(error);
  }
}

/**
 * Writes the download into `destination` with backpressure, ends it, and
 * resolves to the final reply once it has finished. If the download fails,
 * the destination is destroyed with the error (a file being written is
 * closed and never finishes as if complete); if the destination fails or
 * closes first, the transfer is aborted, and a download still queued
 * rejects at once. Either way it rejects with the error, as
 * stream.pipeline does.
 */
export function downloadInto(
  client: DownloadClient,
  request: RequestDownload,
  destination: Writable,
  signal?: AbortSignal,
): Promise<string> {
  // Nothing could be written: no transfer is sent (finished() would only tell on the next tick).
  if (destination.destroyed || destination.writableEnded) return Promise.reject(destination.errored ?? prematureClose());
  return new Promise<string>((resolve, reject) => {
    new IntoWritable(client, request(), destination, resolve, reject, signal);
  });
}

/**
 * downloadInto's download. It watches how `destination` ends, as
 * `finished(destination, { readable: false }, ended)` does: for a plain
 * Writable (not a Duplex) with its own three listeners (onError,
 * onFinish, onClose), since end-of-stream's closures and listeners cost a
 * fresh process about 15 µs a file over its first thousand files and a
 * queued call would hold them. Like finished(), it waits for 'close' after
 * 'finish' where the Writable will emit one (autoDestroy and emitClose: a
 * file is closed before the call resolves). Anything else goes through
 * finished() itself. The 'error' listener swallows errors emitted after
 * the download settled, until stopped.
 */
class IntoWritable extends QueuedDownload {
  /** The final reply, once the download ended well (the destination is ending). */
  private response: string | undefined;
  /** The call rejected: nothing more settles it. */
  private failed = false;
  /** ended() was called (a plain Writable's watch calls it once at most). */
  private told = false;
  /** A plain Writable that will emit 'close' after 'finish' (see onFinish). */
  private readonly willEmitClose: boolean;
  /** What stops finished() watching a destination that is not a plain Writable; undefined for a plain one (see unwatch). */
  private readonly stopFinished: (() => void) | undefined;
  /** The 'drain' listener is on the destination (from the first write it refused on). */
  private drainWatched = false;

  constructor(
    client: DownloadClient,
    request: DownloadRequest,
    private readonly destination: Writable,
    private readonly resolve: (response: string) => void,
    private readonly reject: (error: Error) => void,
    signal: AbortSignal | undefined,
  ) {
    super(client, request);
    const internals = destination as Writable & { _writableState?: WritableEndState; _readableState?: unknown };
    const state = internals._writableState;
    if (!state || internals._readableState !== undefined || typeof state.closed !== "boolean") {
      this.willEmitClose = false;
      this.stopFinished = finished(destination, { readable: false }, (error) => this.ended(error));
    } else {
      this.willEmitClose = state.autoDestroy && state.emitClose && !state.closed;
      this.stopFinished = undefined;
      destination.on("error", this.onError);
      destination.on("finish", this.onFinish);
      destination.on("close", this.onClose);
    }
    this.queue(signal);
  }

  write(chunk: Buffer): boolean {
    const destination = this.destination;
    if (destination.write(chunk)) return true;
    // Listened for from the first full write on, not from the turn: a small
    // file never fills the destination, and its download adds and removes
    // no listener for it. 'drain' comes after this returns (Node emits it
    // once the buffered writes are done, never from within write()).
    if (!this.drainWatched) {
      this.drainWatched = true;
      destination.on("drain", this.onDrain);
    }
    return false;
  }

  end(response: string): void {
    this.response = response;
    this.destination.end();
  }

  /** The download failed, or the destination did (ended() stopped it): destroys the destination with the error, and rejects. */
  fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.stopAborting();
    if (this.drainWatched) this.destination.off("drain", this.onDrain);
    // The watch's 'error' listener stays on: destroy() emits the error on
    // the next tick, and a destination with no listener of its own must not throw it.
    this.destination.destroy(error);
    this.reject(error);
  }

  /** The destination finished (no error), failed (its error) or closed before finishing (a premature close). */
  private ended(error?: Error | null): void {
    if (this.failed) return;
    if (!error && this.response === undefined) error = prematureClose();
    if (error) {
      // The transfer may still run (or be queued): stop it (its failure calls fail()).
      this.stop(error);
      this.fail(error);
      return;
    }
    if (this.drainWatched) this.destination.off("drain", this.onDrain);
    this.unwatch();
    this.stopAborting();
    this.resolve(this.response!);
  }

  /** The plain Writable watch's callback: once at most. */
  private tell(error?: Error | null): void {
    if (this.told) return;
    this.told = true;
    this.ended(error);
  }

  private readonly onError = (error: Error): void => this.tell(error);

  /**
   * A class field, not `this.onDrain = () => …` in write(): V8's parser
   * pretenures a function literal assigned straight to a property (see
   * eslint.config.mjs), so one made per download was born in the old
   * generation and, through its context, kept the download's objects and
   * its destination past scavenges: 8.3 MB promoted over 3,000 downloads,
   * 4.1 MB with this (bench/README.md, "What survives a scavenge").
   */
  private readonly onDrain = (): void => this.resume();

  private readonly onFinish = (): void => {
    if (!this.willEmitClose || this.destination.destroyed) this.tell();
  };

  private readonly onClose = (): void => {
    const destination = this.destination;
    const state = (destination as Writable & { _writableState: WritableEndState })._writableState;
    const errored = destination.errored;
    if (errored) this.tell(errored);
    else if (!state.finished && !(state.ended && state.length === 0)) this.tell(prematureClose());
    else this.tell();
  };

  /** Stops watching how the destination ends. */
  private unwatch(): void {
    const stopFinished = this.stopFinished;
    if (stopFinished) {
      stopFinished();
      return;
    }
    const destination = this.destination;
    destination.off("error", this.onError);
    destination.off("finish", this.onFinish);
    destination.off("close", this.onClose);
  }
}

/** The parts of a Writable's internal state that finished() reads to tell how it ended (Node 18 and later have them all). */
interface WritableEndState {
  autoDestroy: boolean;
  emitClose: boolean;
  closed: boolean;
  finished: boolean;
  ended: boolean;
  length: number;
}

/** What stream.pipeline rejects with when the destination finished or closed before the source ended. */
function prematureClose(): Error {
  return Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
