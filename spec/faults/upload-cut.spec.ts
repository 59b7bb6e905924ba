/**
 * An upload whose data connection the server closes (a FIN, then 226)
 * while the source still has bytes: those bytes cannot go out, so the
 * upload fails with FtpConnectionError instead of waiting for ever for a
 * 'drain' that never comes (no timeout applies to a closed socket). The
 * client stays usable: the server's final reply was read.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FtpConnectionError, type FTP } from "../../lib/index.js";
import type { Session } from "../../fixtures/server.js";
import { FaultCase, receiveAtLeast, settledWithin } from "./helpers.js";

const CHUNK = Buffer.alloc(64 * 1024, 0x41);

/** A source of two chunks, then (once `more` resolves) many more. */
async function* source(more: Promise<void>): AsyncGenerator<Buffer> {
  yield CHUNK;
  yield CHUNK;
  await more;
  for (let i = 0; i < 64; i++) yield CHUNK;
}

const FORMS: Array<{ form: string; upload: (ftp: FTP, more: Promise<void>) => Promise<unknown> }> = [
  { form: "a Readable", upload: (ftp, more) => ftp.storbinary("STOR f", Readable.from(source(more))) },
  { form: "an async iterable", upload: (ftp, more) => ftp.storbinary("STOR f", source(more)) },
  { form: "the Writable stream", upload: (ftp, more) => pipeline(Readable.from(source(more)), ftp.storbinary("STOR f") as Writable) },
];

describe("faults: the server closes an upload's data connection while the source still has bytes", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const { form, upload } of FORMS) {
    it(`${form}: a FIN and a 226 mid-upload fail it with FtpConnectionError, and the client goes on`, async () => {
      fc = await FaultCase.start();
      let open = (): void => undefined;
      const more = new Promise<void>((resolve) => (open = resolve));
      fc.srv.handle("STOR", async (s: Session) => {
        s.reply(150, "Ok to send data.");
        const sock: Socket = await receiveAtLeast(s, CHUNK.length);
        // FIN, and wait for the client's own FIN back: it has seen ours.
        const clientEnded = new Promise((resolve) => sock.once("end", resolve));
        sock.end();
        await clientEnded;
        s.reply(226, "Transfer complete.");
        // Only now does the source have more to write.
        open();
        await s.closeData();
      });
      const ftp = fc.client();
      await ftp.ready;
      const result = await settledWithin(upload(ftp, more), 5000);
      expect(result, "the upload settled").to.not.equal("pending");
      if (result === "pending" || result.ok) return expect.fail("the upload should have failed");
      expect(result.error).to.be.instanceOf(FtpConnectionError);
      await fc.finish(ftp, false);
    });
  }
});
