/**
 * Replies no command asked for: a second greeting, a reply repeated after
 * a command's own, a second 226 after a transfer. ftplib would take such a
 * reply as the next command's and stay one reply behind from then on;
 * ftpstream drops it before sending the next command — except a 421, which
 * the next command fails with, as ftplib's would. Likewise the final reply
 * still owed after sendcmd returned a 1xx (as ftplib's does): getresp() may
 * read it, the next command skips it.
 */
import { Readable } from "node:stream";
import { expect } from "chai";
import { FtpReplyError, FtpTempError } from "../../lib/index.js";
import { patternBytes, type Session } from "../../fixtures/server.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

describe("faults: unsolicited replies", function () {
  const fixtures = useFixtures();

  it("a second 220 after the welcome: USER still gets its 331, and the login goes through", async function () {
    const srv = await fixtures.server();
    // One write, so both greetings are in before the client sends USER.
    srv.onConnect((s) => s.send("220 Welcome.\r\n220 Welcome, again.\r\n"));
    const ftp = await fixtures.client(srv, { login: false });
    expect(ftp.getWelcome()).to.equal("220 Welcome.");
    expect(await ftp.login("user", "pass")).to.match(/^230/);
    expect(srv.commands.slice(0, 2)).to.deep.equal(["USER user", "PASS pass"]);
    expect(await ftp.pwd()).to.equal("/");
  });

  it("a reply repeated after a command's own: the next command gets its own reply", async function () {
    const srv = await fixtures.server();
    srv.once("NOOP", (s) => s.send("200 NOOP ok.\r\n200 NOOP ok, again.\r\n"));
    const ftp = await fixtures.client(srv);
    expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
    expect(await ftp.pwd()).to.equal("/");
    expect(await ftp.sendcmd("SYST")).to.match(/^215/);
  });

  it("a second 226 after a transfer: the next transfer and command stay in step", async function () {
    const srv = await fixtures.server({ files: { "/b.bin": "b" } });
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData(patternBytes(0, 1000));
      s.send("226 Transfer complete.\r\n226 Transfer complete, again.\r\n");
    });
    const ftp = await fixtures.client(srv);
    const blocks: Buffer[] = [];
    expect(await ftp.retrbinary("RETR /a.bin", (block) => blocks.push(block))).to.equal("226 Transfer complete.");
    expect(Buffer.concat(blocks).length).to.equal(1000);
    expect(await ftp.size("/b.bin")).to.equal(1);
    const second: Buffer[] = [];
    await ftp.retrbinary("RETR /b.bin", (block) => second.push(block));
    expect(Buffer.concat(second).toString()).to.equal("b");
    expect(commandsAfterLogin(srv).filter((line) => line !== "EPSV")).to.deep.equal([
      "TYPE I",
      "RETR /a.bin",
      "SIZE /b.bin",
      "RETR /b.bin",
    ]);
  });

  it("shows a dropped reply in the debug output at level 1", async function () {
    const srv = await fixtures.server();
    srv.once("NOOP", (s) => s.send("200 NOOP ok.\r\n200 NOOP ok, again.\r\n"));
    const lines: string[] = [];
    const ftp = await fixtures.client(srv, { debugLevel: 1, logger: (line) => lines.push(line) });
    await ftp.voidcmd("NOOP");
    await ftp.pwd();
    const dropped = "*unsolicited, dropped* '200 NOOP ok, again.'";
    expect(lines).to.include(dropped);
    expect(lines.indexOf(dropped)).to.be.below(lines.indexOf("*cmd* 'PWD'"));
  });

  it("after an abort answered with one reply (as pure-ftpd does), a later stray reply is still dropped", async function () {
    const srv = await fixtures.server();
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const block = patternBytes(0, 64 * 1024);
      async function* endless(): AsyncGenerator<Buffer> {
        while (!s.abortRequested) yield block;
      }
      try {
        await s.sendData(Readable.from(endless()));
      } catch {
        // Cut by the ABOR: no reply of the transfer's own, as pure-ftpd.
      }
    });
    // One reply for the transfer and ABOR together, then a stray one behind the NOOP's.
    srv.once("ABOR", async (s) => {
      s.abortTransfer();
      await s.waitForRunningCommand();
      s.reply(226, "ABOR successful.");
    });
    srv.once("NOOP", (s) => s.send("200 NOOP ok.\r\n226 Stray.\r\n"));
    const ftp = await fixtures.client(srv);
    const download = ftp.retrbinary("RETR /endless.bin");
    for await (const chunk of download) {
      expect((chunk as Buffer).length).to.be.above(0);
      break;
    }
    expect(await ftp.pwd()).to.equal("/");
    expect(commandsAfterLogin(srv).filter((line) => line !== "EPSV")).to.deep.equal(["TYPE I", "RETR /endless.bin", "ABOR", "NOOP", "PWD"]);
  });

  // Issue 12, case 3: a plain command answered with a 1xx, its final reply after.
  const PRELIMINARY_THEN_FINAL = [
    {
      when: "the 200 arrives after the next command was sent",
      noop: async (s: Session) => {
        s.reply(150, "wait");
        // The fixture answers the PWD sent meanwhile only after this handler.
        await s.sleep(50);
        s.reply(200, "done");
      },
    },
    { when: "both arrive at once", noop: (s: Session) => s.send("150 wait\r\n200 done\r\n") },
    { when: "a second 1xx comes before the 200", noop: (s: Session) => s.send("150 wait\r\n150 still waiting\r\n200 done\r\n") },
  ];
  for (const { when, noop } of PRELIMINARY_THEN_FINAL) {
    it(`sendcmd answered 150 then 200 returns the 150, and the next commands get their own replies (${when})`, async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", noop);
      const ftp = await fixtures.client(srv);
      expect(await ftp.sendcmd("NOOP")).to.equal("150 wait");
      expect(await ftp.pwd()).to.equal("/");
      expect(await ftp.sendcmd("SYST")).to.match(/^215/);
    });
  }

  it("voidcmd answered 150 then 200 rejects with FtpReplyError, and the next command gets its own reply", async function () {
    const srv = await fixtures.server();
    srv.once("NOOP", (s) => s.send("150 wait\r\n200 done\r\n"));
    const ftp = await fixtures.client(srv);
    expect(await rejectionOf(ftp.voidcmd("NOOP"))).to.be.instanceOf(FtpReplyError);
    expect(await ftp.pwd()).to.equal("/");
  });

  it("getresp after sendcmd's 150 reads the owed 200 (as ftplib), and the next command gets its own reply", async function () {
    const srv = await fixtures.server();
    srv.once("NOOP", (s) => s.send("150 wait\r\n200 done\r\n"));
    const ftp = await fixtures.client(srv);
    expect(await ftp.sendcmd("NOOP")).to.equal("150 wait");
    expect(await ftp.getresp()).to.equal("200 done");
    expect(await ftp.pwd()).to.equal("/");
  });

  it("keeps an unsolicited 421: the next command fails with it as FtpTempError", async function () {
    const srv = await fixtures.server();
    srv.once("NOOP", (s) => {
      s.send("200 NOOP ok.\r\n421 Timeout, closing control connection.\r\n");
      s.close();
    });
    const ftp = await fixtures.client(srv);
    await ftp.voidcmd("NOOP");
    const error = await rejectionOf(ftp.pwd());
    expect(error).to.be.instanceOf(FtpTempError);
    expect(error).to.include({ code: "ERR_FTP_TEMP", replyCode: 421, response: "421 Timeout, closing control connection." });
  });
});
