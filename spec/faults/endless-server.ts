/**
 * A hostile server's download: RETR answered with data that does not end,
 * after a 150 that announces a size or none. Shared by
 * spec/faults/endless-data and spec/cli/mirror-max-filesize.
 */
import { Readable, Writable } from "node:stream";
import type { FixtureServer } from "../../fixtures/server.js";

/**
 * What the server sends at most before it gives up and resets the data
 * connection: far more than any bound the specs set, so a client that
 * stops at its bound never meets it, and a client that does not is
 * failed by the reset (and by the bytes its target got) instead of
 * filling the disk while the spec waits.
 */
export const SERVER_GIVES_UP_AT = 16 * 1024 * 1024;

const CHUNK = Buffer.alloc(16 * 1024, "x");

/** Chunks of "x" as fast as the data connection takes them, never an end (short of SERVER_GIVES_UP_AT). */
export class EndlessData extends Readable {
  /** Bytes pushed so far. */
  pushed = 0;

  override _read(): void {
    if (this.pushed >= SERVER_GIVES_UP_AT) {
      this.destroy(new Error("the client took SERVER_GIVES_UP_AT bytes: nothing bounded its download"));
      return;
    }
    this.pushed += CHUNK.length;
    this.push(CHUNK);
  }
}

/**
 * Answers the RETRs whose argument `matches` with a 150 announcing
 * `announce` bytes (null: no size in it, as pure-ftpd) and endless data;
 * every other RETR as the fixture would. The client's abort ends it (426).
 * Returns the files so answered, in order.
 */
export function serveEndless(srv: FixtureServer, announce: number | null, matches: (arg: string) => boolean = () => true): string[] {
  const answered: string[] = [];
  srv.handle("RETR", async (s, arg) => {
    if (!matches(arg)) return s.defaultHandler("RETR", arg);
    answered.push(arg);
    s.takeRest();
    const size = announce === null ? "" : ` (${announce} bytes)`;
    s.reply(150, `Opening BINARY mode data connection for ${arg}${size}.`);
    // Rejects once the client aborts (or SERVER_GIVES_UP_AT): the fixture then replies 426.
    await s.sendData(new EndlessData());
    s.reply(226, "Transfer complete.");
  });
  return answered;
}

/**
 * A Writable that counts what it is given. Past `cap` bytes it fails: a
 * download nothing bounded then rejects with that error, at once, rather
 * than with the error the spec expects.
 */
export class CountingSink extends Writable {
  received = 0;

  constructor(private readonly cap: number) {
    super();
  }

  /** Counts `chunk`; throws past the cap (retrbinary's callback form rejects with what its callback throws). */
  take(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > this.cap)
      throw new Error(`the target got ${this.received} bytes, more than ${this.cap}: nothing bounded the download`);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.take(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
