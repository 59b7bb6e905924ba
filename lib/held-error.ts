/**
 * Errors for transfer streams that nobody watches yet.
 *
 * A Node stream emits 'error' at once, and an 'error' with no listener ends
 * the process. A transfer stream is often made well before it is used —
 * `const later = ftp.retrbinary("RETR b")` queued behind a transfer still
 * running, piped once that one is done — and if the connection drops in
 * between, the queue fails it while nothing listens. So a transfer stream
 * with no 'error' listener keeps its error until one is added (pipeline,
 * for await and finished() add one) or until the stream is read or written
 * (as pipe() starts to), and is destroyed with it then: the error arrives
 * where the caller looks for it, and a failed transfer still never ends well.
 */
import type { Readable, Writable } from "node:stream";

export class HeldError {
  private error: Error | undefined;
  private used = false;
  private readonly onNewListener = (event: string | symbol): void => {
    // Emitted before the listener is added: destroy once it is in place.
    if (event === "error") process.nextTick(() => this.deliver());
  };

  constructor(private readonly stream: Readable | Writable) {}

  /**
   * Destroys the stream with `error` now if anyone listens for its errors
   * or it is in use, and returns true; else keeps the error (see above)
   * and returns false.
   */
  fail(error: Error): boolean {
    if (this.stream.destroyed || this.error) return false;
    if (this.used || this.stream.listenerCount("error") > 0) {
      this.stream.destroy(error);
      return true;
    }
    this.error = error;
    this.stream.on("newListener", this.onNewListener);
    return false;
  }

  /**
   * The stream is being read or written (from _read, _write, _final): from
   * now on errors come at once. Returns the kept error, if any, for the
   * caller to fail with.
   */
  use(): Error | undefined {
    this.used = true;
    return this.take();
  }

  private take(): Error | undefined {
    const error = this.error;
    if (error) {
      this.error = undefined;
      this.stream.off("newListener", this.onNewListener);
    }
    return error;
  }

  private deliver(): void {
    const error = this.take();
    if (error && !this.stream.destroyed) this.stream.destroy(error);
  }
}
