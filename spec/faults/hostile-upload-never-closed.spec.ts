/**
 * An upload finishes once the server's 2xx came after the data connection
 * closed. Once the source had ended and the client's FIN was sent, the
 * data connection's idle time was taken for the client's own (an upload
 * with nothing left to write), so a server that never closed its side
 * hung the upload for ever, whatever `timeout`: one that answered 150 and
 * 226 and never took the passive connection (the bytes left unread in
 * its backlog), and one that read every byte and said 226 yet kept the
 * connection open. The wait for the server's close is the server's: past
 * `timeout` it fails the upload with FtpTimeoutError, as a download's
 * data connection idle that long does. A source that is slow itself is
 * still waited for.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { FtpTimeoutError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { settledWithin } from "./helpers.js";

const TIMEOUT = 400;

/** The server's ways of never closing an upload's data connection, after a 226. */
const NEVER_CLOSED: Record<string, (s: Session) => Promise<void>> = {
  "answers 150 and 226 and never takes the data connection": async (s) => {
    s.send("150 Ok to send data.\r\n226 Transfer complete.\r\n");
  },
  "reads every byte, answers 226 and keeps the data connection open": async (s) => {
    s.reply(150, "Ok to send data.");
    const socket = await s.openData();
    // Not ended for the client's FIN, as Node ends a socket that is not half-open.
    socket.allowHalfOpen = true;
    socket.resume();
    await new Promise((resolve) => socket.once("end", resolve));
    s.reply(226, "Transfer complete.");
  },
};

describe("faults: an upload's data connection the server never closes", () => {
  const fx = useFixtures();

  async function server(handler: (s: Session) => Promise<void>): Promise<FixtureServer> {
    const srv = await fx.server();
    srv.once("STOR", handler);
    return srv;
  }

  for (const [what, handler] of Object.entries(NEVER_CLOSED)) {
    it(`storbinary(cmd, Buffer) rejects with FtpTimeoutError when the server ${what}`, async () => {
      const ftp = await fx.client(await server(handler), { timeout: TIMEOUT });
      const settled = await settledWithin(ftp.storbinary("STOR f.bin", Buffer.from("hello world")), 5 * TIMEOUT);
      expect(settled).not.to.equal("pending");
      expect(settled !== "pending" && !settled.ok && settled.error).to.be.instanceOf(FtpTimeoutError);
    });

    it(`the Writable form errors with FtpTimeoutError, never finishing, when the server ${what}`, async () => {
      const ftp = await fx.client(await server(handler), { timeout: TIMEOUT });
      const upload = ftp.storbinary("STOR f.bin");
      let finished = false;
      upload.on("finish", () => (finished = true));
      const settled = await settledWithin(pipeline(Readable.from([Buffer.from("hello"), Buffer.from(" world")]), upload), 5 * TIMEOUT);
      expect(settled).not.to.equal("pending");
      expect(settled !== "pending" && !settled.ok && settled.error).to.be.instanceOf(FtpTimeoutError);
      expect(finished).to.equal(false);
    });
  }

  it("still waits for a source slower than the timeout, and finishes on the server's close and 226", async () => {
    const srv = await fx.server();
    const ftp = await fx.client(srv, { timeout: TIMEOUT });
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from("hello");
      await sleep(3 * TIMEOUT);
      yield Buffer.from(" world");
    }
    await pipeline(Readable.from(slow()), ftp.storbinary("STOR f.bin"));
    expect(srv.vfs.get("/f.bin")?.toString()).to.equal("hello world");
  });
});
