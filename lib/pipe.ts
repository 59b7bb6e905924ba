/**
 * Piping a transfer into a destination and waiting for both ends, the
 * contract of stream.pipeline for two streams, without its per-call cost.
 */
import { finished, type Readable, type Writable } from "node:stream";
import { asError } from "./as-error.js";
import { isThenable } from "./thenable.js";

/**
 * Pipes `source` into `destination` (ending it), and settles once the
 * source has ended and the destination has finished — for a download, only
 * after the server's final 2xx, since a DownloadStream ends no sooner.
 * Either one failing or closing early destroys the other with the error
 * (so a file being written is closed, and never finishes as if complete)
 * and rejects with it, as stream.pipeline does.
 *
 * Why not pipeline: stream/promises' pipeline makes an AbortController and
 * aborts it when done, building a DOMException with its stack each time:
 * about 60 µs a call, a tenth of a 4 KiB file's whole download on loopback.
 */
export function pipeSettled(source: Readable, destination: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let waiting = 2;
    let failed = false;
    const cleanups: Array<() => void> = [];
    const settle = (error?: Error | null): void => {
      if (failed) return;
      if (error) {
        failed = true;
        // The 'error' listeners finished() added stay on: destroy emits the
        // error on the next tick, and a destination with no listener of
        // its own must not throw it.
        source.destroy(error);
        destination.destroy(error);
        reject(error);
        return;
      }
      if (--waiting > 0) return;
      for (const cleanup of cleanups) cleanup();
      resolve();
    };
    cleanups.push(finished(source, { writable: false }, settle), finished(destination, { readable: false }, settle));
    // Ended by hand: pipe() never ends process.stdout or stderr, whose
    // 'finish' would then never come.
    source.pipe(destination, { end: false });
    // A source that already ended (read to the end elsewhere) sends no 'end' again.
    if (source.readableEnded) destination.end();
    else source.once("end", () => destination.end());
  });
}

/**
 * Reads `source` to its end, calling `onItem` with each chunk (or line), and
 * settles when it ends; rejects with its error. A throwing `onItem`
 * destroys the source with the error, as leaving a `for await` loop does.
 * An `onItem` that returns a promise (an async function) is waited for
 * before the next item (the source is paused meanwhile) and before the
 * call settles, as an async loop body would be; its rejection is such a
 * throw. Unwatched, it went unhandled (a process exits on that) and the
 * call resolved as if every line had been taken.
 *
 * Why not `for await`: its async iterator makes promises per chunk and
 * per read and a finished() of its own; a 'data' listener and one
 * finished() cost a fraction of that per small file.
 */
export function consume<T>(source: Readable, onItem: (item: T) => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // What an async onItem returned for the item before, while it runs.
    let running: Promise<void> | undefined;
    // Its listeners stay on (the source is done with): the 'error' one
    // keeps a later error from being unhandled.
    finished(source, { writable: false }, (error) => {
      if (error) reject(error);
      else if (running) void running.then(() => resolve());
      else resolve();
    });
    source.on("data", (item: T) => {
      let result: unknown;
      try {
        result = onItem(item);
      } catch (error) {
        source.destroy(error as Error);
        return;
      }
      if (!isThenable(result)) return;
      source.pause();
      const current: Promise<void> = Promise.resolve(result).then(
        () => {
          if (running === current) running = undefined;
          source.resume();
        },
        (error: unknown) => {
          running = undefined;
          const failure = asError(error);
          source.destroy(failure);
          // Told even if the source had already ended: the items were not all taken.
          reject(failure);
        },
      );
      running = current;
    });
  });
}
