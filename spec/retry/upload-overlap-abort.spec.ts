/**
 * An upload resuming under `retry` first reads the last bytes the server
 * holds back (REST + RETR, lib/upload-overlap.ts). An abort while that
 * read back runs — ftp.abort(), the upload's AbortSignal, a destroyed
 * upload stream — is the owner's: the upload ends as aborted, as it would
 * on its data connection, and no STOR (or further attempt) goes out. It
 * was taken for a failed read back (a transient 426, or too few bytes):
 * retried, or started over with a plain STOR that truncated the file.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternBytes } from "../../fixtures/server.js";
import type { Session as FixtureSession } from "../../fixtures/server.js";
import { FtpError, type FTP, type RetryEvent } from "../../lib/index.js";
import { isTransient } from "../../lib/retry.js";
import type { Session } from "../../lib/session.js";
import { FaultCase, rejectsWith, until } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const PAYLOAD = patternBytes(3, 400_000);
const CUT = 200_000;

/** A STOR handler that keeps the first 100,000 bytes or more it reads, then resets the data connection (426). */
async function cutStor(s: FixtureSession, arg: string): Promise<void> {
  const path = s.resolvePath(arg);
  s.reply(150, "Ok to send data.");
  const data: Socket = await s.openData();
  const chunks: Buffer[] = [];
  let seen = 0;
  await new Promise<void>((resolve) => {
    data.on("data", (chunk: Buffer) => {
      if (seen >= 100_000) return;
      chunks.push(chunk);
      seen += chunk.length;
      if (seen >= 100_000) resolve();
    });
    data.resume();
  });
  s.vfs.set(path, Buffer.concat(chunks));
  data.resetAndDestroy();
  s.reply(426, "Connection reset.");
}

describe("retry: an abort while a resumed upload reads its bytes back ends the upload, never another attempt", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  /**
   * A server whose upload is cut once, and whose read back (RETR) sends its
   * 150 and 100 bytes, then waits: `readingBack` resolves then, once the
   * client holds the read back as its running transfer (what ftp.abort()
   * aborts), with the file as the cut left it. Once `goOn()` is called it sends the rest and
   * 226, unless the client closed the data connection first (an abort:
   * 426). An upload that did not stop its read back at once gets it whole.
   */
  async function start(): Promise<{ ftp: FTP; events: RetryEvent[]; readingBack: Promise<Buffer>; goOn: () => void }> {
    fc = await FaultCase.start();
    const ftp = fc.client({ retry: FAST });
    const events: RetryEvent[] = [];
    ftp.on("retry", (event) => events.push(event));
    await ftp.ready;
    fc.srv.once("STOR", cutStor);
    let reading!: (file: Buffer) => void;
    const readingBack = new Promise<Buffer>((resolve) => (reading = resolve));
    let goOn!: () => void;
    const went = new Promise<void>((resolve) => (goOn = resolve));
    fc.srv.once("RETR", async (s) => {
      const from = s.takeRest();
      const file = s.vfs.get("/up.bin")!;
      s.reply(150, "Opening BINARY mode data connection.");
      const data: Socket = await s.openData();
      // Nothing comes on it, but the client's FIN must be read for 'close'.
      data.resume();
      data.write(file.subarray(from, from + 100));
      reading(file);
      const closed = new Promise((resolve) => data.once("close", resolve));
      await Promise.race([closed, went]);
      if (data.destroyed) {
        s.reply(426, "Transfer aborted.");
        return;
      }
      data.end(file.subarray(from + 100));
      await closed;
      s.reply(226, "Transfer complete.");
    });
    const held = readingBack.then(async (file) => {
      const client = ftp as unknown as { session?: Session };
      expect(await until(() => client.session?.activeTransfer !== undefined), "the read back under way").to.equal(true);
      return file;
    });
    return { ftp, events, readingBack: held, goOn };
  }

  /** No STOR after the first (cut) one, the file as the cut left it. */
  function expectNothingMoreSent(file: Buffer, events: RetryEvent[]): void {
    expect(fc.srv.commands.filter((line) => line.startsWith("STOR"))).to.deep.equal(["STOR /up.bin"]);
    expect(fc.srv.vfs.get("/up.bin")?.equals(file), "the file as the cut left it").to.equal(true);
    expect(events).to.have.length(1);
  }

  it("ftp.abort(): the upload rejects with the abort's error (not retried, no STOR), and the client stays usable", async () => {
    const { ftp, events, readingBack, goOn } = await start();
    const upload = pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    const file = await readingBack;
    await ftp.abort();
    goOn();
    const error = await rejectsWith(upload, FtpError);
    expect(isTransient(error), `${error.code}: ${error.message}`).to.equal(false);
    expect(error.code).to.equal("ERR_FTP_ABORTED");
    // The upload is over: a PWD goes through, and nothing was sent for it meanwhile.
    await fc.finish(ftp, false);
    expectNothingMoreSent(file, events);
  });

  it("the upload's AbortSignal: rejects with an AbortError, no STOR after the read back", async () => {
    const { ftp, events, readingBack, goOn } = await start();
    const controller = new AbortController();
    const upload = ftp.storbinary("STOR /up.bin", Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), {
      signal: controller.signal,
    });
    const file = await readingBack;
    controller.abort();
    goOn();
    const error = await rejectsWith(upload, Error);
    expect(error.name).to.equal("AbortError");
    await fc.finish(ftp, false);
    expectNothingMoreSent(file, events);
  });

  it("the upload stream destroyed: no STOR after the read back, and the client stays usable", async () => {
    const { ftp, events, readingBack, goOn } = await start();
    const stream = ftp.storbinary("STOR /up.bin");
    stream.on("error", () => undefined);
    stream.write(PAYLOAD.subarray(0, CUT));
    const file = await readingBack;
    stream.destroy();
    goOn();
    await fc.finish(ftp, false);
    expectNothingMoreSent(file, events);
  });
});
