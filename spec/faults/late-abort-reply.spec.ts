/**
 * Issue 24: ftp-srv answers ABOR late. Mid-download, it answers the closed
 * data connection first (426, or 551 "read ECONNRESET"), the NOOP the
 * client sends after it with 200, and only then ABOR itself (225). A client
 * that took the first reply after the NOOP's as the next command's would
 * hand the 225 to a PWD and stay one reply behind from then on. Only ABOR
 * and a transfer's final reply are ever 225 or 226, so ftpstream drops that
 * late reply whichever plain command is waiting.
 */
import { Readable } from "node:stream";
import { expect } from "chai";
import type { Session } from "../../fixtures/server.js";
import { commandsAfterLogin, useFixtures } from "../core/helpers.js";

async function* endless(): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(64 * 1024, 7);
  for (;;) yield block;
}

describe("faults: ABOR answered after the next command's reply (ftp-srv)", function () {
  const fixtures = useFixtures();

  /** RETR streams until the ABOR; ABOR gets the transfer's `transferReply` only. */
  function abortedTransfer(srv: Awaited<ReturnType<typeof fixtures.server>>, transferReply: string): void {
    srv.once("RETR", async (s: Session) => {
      s.reply(150, "Opening data connection");
      try {
        await s.sendData(Readable.from(endless()));
      } catch {
        // Cut by the client's reset.
      }
    });
    srv.once("ABOR", async (s: Session) => {
      s.abortTransfer();
      await s.waitForRunningCommand();
      s.send(`${transferReply}\r\n`);
    });
  }

  for (const transferReply of ["426 Connection closed; transfer aborted", "551 read ECONNRESET"]) {
    it(`the late 225 is not PWD's reply, after ${transferReply.slice(0, 3)}; every next command gets its own`, async function () {
      const srv = await fixtures.server();
      abortedTransfer(srv, transferReply);
      srv.once("NOOP", (s: Session) => s.reply(200, "NOOP ok"));
      // ABOR's reply comes only now, in front of the PWD's own.
      srv.once("PWD", (s: Session) => s.send('225 No transfer to abort\r\n257 "/"\r\n'));
      const ftp = await fixtures.client(srv);
      const download = ftp.retrbinary("RETR /endless.bin");
      const failed = new Promise<unknown>((resolve) => download.once("error", resolve));
      for await (const chunk of download) {
        expect((chunk as Buffer).length).to.be.above(0);
        break;
      }
      await failed;
      expect(await ftp.pwd()).to.equal("/");
      expect(await ftp.sendcmd("NOOP")).to.match(/^200/);
      expect(await ftp.sendcmd("SYST")).to.match(/^215/);
      expect(commandsAfterLogin(srv).filter((line) => line !== "EPSV")).to.deep.equal([
        "TYPE I",
        "RETR /endless.bin",
        "ABOR",
        "NOOP",
        "PWD",
        "NOOP",
        "SYST",
      ]);
    });
  }

  it("ftp.abort() resolves to the transfer's 426 when ABOR's 225 comes after the NOOP's 200, and a NOOP sent at once gets its 200", async function () {
    const srv = await fixtures.server();
    abortedTransfer(srv, "426 Connection closed; transfer aborted");
    srv.once("NOOP", (s: Session) => s.reply(200, "NOOP ok"));
    srv.once("NOOP", (s: Session) => s.send("225 No transfer to abort\r\n200 NOOP ok, again\r\n"));
    const ftp = await fixtures.client(srv);
    const download = ftp.retrbinary("RETR /endless.bin");
    download.once("error", () => undefined);
    for await (const chunk of download) {
      expect((chunk as Buffer).length).to.be.above(0);
      break;
    }
    // ftp.abort() on a download already being destroyed: the same abort.
    expect(await ftp.abort()).to.equal("426 Connection closed; transfer aborted");
    expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok, again");
    expect(await ftp.pwd()).to.equal("/");
  });

  it("a 226 after the abort is still a transfer's own: a download right after the abort ends on its 226", async function () {
    const srv = await fixtures.server({ files: { "/hello.txt": "hello\n" } });
    abortedTransfer(srv, "426 Connection closed; transfer aborted");
    srv.once("NOOP", (s: Session) => s.reply(200, "NOOP ok"));
    const ftp = await fixtures.client(srv);
    const download = ftp.retrbinary("RETR /endless.bin");
    download.once("error", () => undefined);
    for await (const chunk of download) {
      expect((chunk as Buffer).length).to.be.above(0);
      break;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of ftp.retrbinary("RETR /hello.txt")) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal("hello\n");
    expect(await ftp.pwd()).to.equal("/");
  });
});
