/**
 * retrlines' stream form: a text download split into lines.
 */
import { finished } from "node:stream/promises";
import { HeldError } from "./held-error.js";
import { LineSplitter } from "./lines.js";
import type { DownloadStream } from "./streams.js";

/**
 * A text download as an object-mode stream of lines (line endings
 * stripped), what `retrlines(cmd)` returns. Read it with `for await`,
 * `pipe` or `pipeline`; it ends only after the server's final 2xx, and
 * errors (never ends) on a failed transfer. Destroying it aborts the
 * download.
 *
 * It is not a thenable, on purpose: `await`, `Promise.resolve` and an
 * async function's `return` would adopt a stream with a `then` and run it.
 * ftplib's one-line `retrlines(cmd)` (print each line, return the final
 * reply) is `await ftp.retrlines(cmd).done()`.
 */
export class LineStream extends LineSplitter {
  private readonly held = new HeldError(this);

  constructor(
    readonly source: DownloadStream,
    encoding: string,
    maxLine: number,
  ) {
    super({ encoding, maxLine });
    // Errors flow down to the lines (once anyone watches them: see
    // HeldError); destroying the lines aborts the download.
    source.on("error", (error) => {
      // pipe() listens for the lines' errors and throws them on when no one
      // else does: it must let go first, or a held error would escape.
      source.unpipe(this);
      this.held.fail(error);
    });
    this.on("close", () => {
      if (!source.readableEnded) source.destroy();
    });
    source.pipe(this);
  }

  override _read(size: number): void {
    const held = this.held.use();
    if (held) this.destroy(held);
    else super._read(size);
  }

  /** The final reply text, once the stream has ended. */
  get response(): string | undefined {
    return this.source.response;
  }

  /**
   * Waits for the transfer's end and resolves to the server's final reply
   * (`"226 Transfer complete."`); rejects with the transfer's error (a
   * typed FtpError, or an AbortError). If nothing reads the lines yet (no
   * `data` listener, pipe or `for await`, and not paused), it reads them
   * itself and prints each with `console.log`, as ftplib's `retrlines(cmd)`
   * does with its default callback: `await ftp.retrlines("LIST").done()`
   * is ftplib's `ftp.retrlines("LIST")`. Otherwise the lines go where they
   * were going and this only waits. For the lines elsewhere, pass
   * retrlines a callback instead.
   */
  done(): Promise<string> {
    if (this.readableFlowing === null) this.on("data", (line: string) => console.log(line));
    return finished(this).then(() => this.source.response ?? "");
  }
}
