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
import { onAbortOf } from "./abort-signal.js";
import type { DownloadRun, DownloadTarget } from "./download.js";

/** Makes the download that delivers to `target` (not yet begun). */
export type StartDownload = (target: DownloadTarget) => DownloadRun;

/** What stops watching nothing: no signal was given. */
function notWatching(): void {}

/**
 * Aborting `signal` fails `download` with an AbortError (the transfer is
 * aborted), as addAbortSignal does for the stream forms. Returns what
 * stops watching; an already aborted signal fails it at once.
 */
function failOnAbort(signal: AbortSignal | undefined, download: DownloadRun): () => void {
  return signal ? onAbortOf(signal, (error) => download.fail(error)) : notWatching;
}

/**
 * Calls `onChunk` with each chunk, in blocks of at most `blocksize` bytes
 * (ftplib's retrbinary reads them so; a chunk no bigger is handed on as it
 * is), and resolves to the final reply. A throwing `onChunk` aborts the
 * transfer and rejects with what it threw, as leaving a `for await` loop
 * over the stream would.
 */
export function downloadToCallback(
  start: StartDownload,
  onChunk: (chunk: Buffer) => void,
  blocksize: number,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // Set below; an already aborted signal fails the download before that.
    let stopWatching = notWatching;
    const download = start({
      write: (chunk) => {
        try {
          if (chunk.length <= blocksize) onChunk(chunk);
          else for (let at = 0; at < chunk.length; at += blocksize) onChunk(chunk.subarray(at, at + blocksize));
        } catch (error) {
          download.fail(error instanceof Error ? error : new Error(String(error)));
        }
        return true;
      },
      end: (response) => {
        stopWatching();
        resolve(response);
      },
      fail: (error) => {
        stopWatching();
        reject(error);
      },
    });
    stopWatching = failOnAbort(signal, download);
    download.begin(true);
  });
}

/**
 * Writes the download into `destination` with backpressure, ends it, and
 * resolves to the final reply once it has finished. If the download fails,
 * the destination is destroyed with the error (a file being written is
 * closed and never finishes as if complete); if the destination fails or
 * closes first, the transfer is aborted. Either way it rejects with the
 * error, as stream.pipeline does.
 */
export function downloadInto(start: StartDownload, destination: Writable, signal?: AbortSignal): Promise<string> {
  // Nothing could be written: no transfer is sent (finished() would only tell on the next tick).
  if (destination.destroyed || destination.writableEnded) return Promise.reject(destination.errored ?? prematureClose());
  return new Promise<string>((resolve, reject) => {
    let response: string | undefined;
    let failed = false;
    // Set below; an already aborted signal fails the download before that.
    let stopAborting = notWatching;
    const onDrain = (): void => download.resume();
    const giveUp = (error: Error): void => {
      if (failed) return;
      failed = true;
      stopAborting();
      destination.off("drain", onDrain);
      // watchEnd()'s 'error' listener stays on: destroy() emits the error on
      // the next tick, and a destination with no listener of its own must not throw it.
      destination.destroy(error);
      reject(error);
    };
    const download = start({
      write: (chunk) => destination.write(chunk),
      end: (text) => {
        response = text;
        destination.end();
      },
      fail: giveUp,
    });
    const stopWatching = watchEnd(destination, (error) => {
      if (failed) return;
      if (!error && response === undefined) error = prematureClose();
      if (error) {
        // The transfer may still run: abort it (the download's fail() calls giveUp).
        download.fail(error);
        giveUp(error);
        return;
      }
      destination.off("drain", onDrain);
      stopWatching();
      stopAborting();
      resolve(response!);
    });
    destination.on("drain", onDrain);
    stopAborting = failOnAbort(signal, download);
    download.begin(true);
  });
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

/**
 * Calls `callback` once when `destination` has finished (with no error),
 * failed (its error) or closed before finishing (a premature close), as
 * `finished(destination, { readable: false }, callback)` does, and returns
 * what stops watching. For a plain Writable (not a Duplex) it does so
 * with three listeners: end-of-stream's closures and listeners cost a
 * fresh process about 15 µs a file over its first thousand files. Like
 * finished(), it waits for 'close' after
 * 'finish' where the Writable will emit one (autoDestroy and emitClose:
 * a file is closed before the call resolves). Anything else goes through
 * finished() itself. The 'error' listener swallows errors emitted after
 * `callback` was called, until stopped.
 */
function watchEnd(destination: Writable, callback: (error?: Error | null) => void): () => void {
  const internals = destination as Writable & { _writableState?: WritableEndState; _readableState?: unknown };
  const state = internals._writableState;
  if (!state || internals._readableState !== undefined || typeof state.closed !== "boolean") {
    return finished(destination, { readable: false }, callback);
  }
  let called = false;
  const settle = (error?: Error | null): void => {
    if (called) return;
    called = true;
    callback(error);
  };
  const onError = (error: Error): void => settle(error);
  const willEmitClose = state.autoDestroy && state.emitClose && !state.closed;
  const onFinish = (): void => {
    if (!willEmitClose || destination.destroyed) settle();
  };
  const onClose = (): void => {
    const errored = destination.errored;
    if (errored) settle(errored);
    else if (!state.finished && !(state.ended && state.length === 0)) settle(prematureClose());
    else settle();
  };
  destination.on("error", onError);
  destination.on("finish", onFinish);
  destination.on("close", onClose);
  return () => {
    destination.off("error", onError);
    destination.off("finish", onFinish);
    destination.off("close", onClose);
  };
}

/** What stream.pipeline rejects with when the destination finished or closed before the source ended. */
function prematureClose(): Error {
  return Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
