import { expect } from "chai";
import {
  FTP,
  FtpClosedError,
  FtpConnectionError,
  FtpPermError,
  FtpProtoError,
  FtpReplyError,
  FtpTempError,
  FtpTimeoutError,
} from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, until, useFixtures } from "./helpers.js";

/** The TypeError an argument check raised, whether the call threw or returned a rejected promise. */
async function refusalOf(call: () => unknown): Promise<TypeError & { code?: string }> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error as TypeError;
  }
  if (result && typeof (result as Promise<unknown>).then === "function") return await rejectionOf(result as Promise<unknown>);
  if (result && typeof (result as AsyncIterator<unknown>).next === "function") {
    return await rejectionOf((result as AsyncIterator<unknown>).next());
  }
  throw new Error("the call was not refused");
}

describe("FTP commands", function () {
  const fixtures = useFixtures();

  describe("connect and getWelcome", function () {
    it("reads a multi-line welcome whole and returns it from connect() and getWelcome()", async function () {
      const srv = await fixtures.server({ welcome: "220-Welcome to the fixture\r\n220-  230 is not the end\r\n220 ready" });
      const ftp = await fixtures.client(srv, { login: false });
      expect(ftp.getWelcome()).to.equal("220-Welcome to the fixture\n220-  230 is not the end\n220 ready");
      expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok.");
    });

    it("resolves connect() to the welcome", async function () {
      const srv = await fixtures.server();
      const ftp = new FTP({ timeout: 5000 });
      try {
        expect(await ftp.connect(srv.host, srv.port)).to.equal("220 ftpstream fixture ready");
      } finally {
        ftp.close();
      }
    });

    it("rejects a 421 welcome with FtpTempError and is closed afterwards", async function () {
      const srv = await fixtures.server();
      srv.onConnect((s) => s.quit(421, "Too many users, try later."));
      const ftp = new FTP({ timeout: 5000 });
      const error = await rejectionOf(ftp.connect(srv.host, srv.port));
      expect(error).to.be.instanceOf(FtpTempError);
      expect(error).to.include({ code: "ERR_FTP_TEMP", replyCode: 421, response: "421 Too many users, try later." });
      expect(ftp.closed).to.equal(true);
      ftp.close();
    });

    it("rejects with FtpConnectionError when nothing listens, without an unhandled error", async function () {
      const srv = await fixtures.server();
      const port = srv.port;
      await srv.close();
      const ftp = new FTP({ timeout: 5000 });
      const error = await rejectionOf(ftp.connect("127.0.0.1", port));
      expect(error).to.be.instanceOf(FtpConnectionError);
      expect((error as FtpConnectionError).code).to.equal("ECONNREFUSED");
      ftp.close();
    });

    it("connects and logs in from constructor options (FTP.create)", async function () {
      const srv = await fixtures.server();
      const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
      try {
        expect(await ftp.pwd()).to.equal("/");
        expect(srv.commands).to.deep.equal(["USER user", "PASS pass", "PWD"]);
      } finally {
        ftp.close();
      }
    });
  });

  describe("login", function () {
    it("logs in anonymously by default with the password anonymous@", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv, { login: false });
      expect(await ftp.login()).to.equal("230 Login successful.");
      expect(srv.commands).to.deep.equal(["USER anonymous", "PASS anonymous@"]);
    });

    it("turns an anonymous '-' password into '-anonymous@', as ftplib does", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv, { login: false });
      await ftp.login("anonymous", "-");
      expect(srv.commands).to.deep.equal(["USER anonymous", "PASS -anonymous@"]);
    });

    it("sends PASS after a 331 to USER", async function () {
      const srv = await fixtures.server({ anonymous: false });
      const ftp = await fixtures.client(srv, { login: false });
      expect(await ftp.login("user", "pass")).to.equal("230 Login successful.");
      expect(srv.commands).to.deep.equal(["USER user", "PASS pass"]);
      expect(srv.lastSession!.state.loggedIn).to.equal(true);
    });

    it("sends nothing more when USER alone gets 230", async function () {
      const srv = await fixtures.server();
      srv.once("USER", (s) => {
        s.state.loggedIn = true;
        s.reply(230, "No password needed.");
      });
      const ftp = await fixtures.client(srv, { login: false });
      expect(await ftp.login("user", "pass")).to.equal("230 No password needed.");
      expect(srv.commands).to.deep.equal(["USER user"]);
    });

    it("sends ACCT after a 332 to PASS", async function () {
      const srv = await fixtures.server({ requireAcct: true });
      const ftp = await fixtures.client(srv, { login: false });
      expect(await ftp.login("user", "pass", "dept42")).to.equal("230 Login successful.");
      expect(srv.commands).to.deep.equal(["USER user", "PASS pass", "ACCT dept42"]);
    });

    it("rejects a 530 with FtpPermError carrying the reply, and the client can try again", async function () {
      const srv = await fixtures.server({ anonymous: false });
      const ftp = await fixtures.client(srv, { login: false });
      const error = await rejectionOf(ftp.login("user", "wrong"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 530, response: "530 Login incorrect." });
      expect(await ftp.login("user", "pass")).to.equal("230 Login successful.");
    });

    it("rejects with FtpReplyError when the exchange ends on anything but 2xx", async function () {
      const srv = await fixtures.server({ requireAcct: true });
      srv.once("ACCT", (s) => s.reply(332, "Still need an account."));
      const ftp = await fixtures.client(srv, { login: false });
      const error = await rejectionOf(ftp.login("user", "pass", "x"));
      expect(error).to.be.instanceOf(FtpReplyError);
      expect(error).to.include({ code: "ERR_FTP_REPLY", replyCode: 332, response: "332 Still need an account." });
    });
  });

  describe("sendcmd and voidcmd", function () {
    it("sendcmd resolves to any 1xx-3xx reply, multi-line replies joined with \\n", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" }, features: ["EPSV", "SIZE"] });
      const ftp = await fixtures.client(srv);
      expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok.");
      expect(await ftp.sendcmd("RNFR /a.txt")).to.equal("350 Ready for RNTO.");
      expect(await ftp.sendcmd("RNTO /b.txt")).to.equal("250 Rename successful.");
      expect(await ftp.sendcmd("FEAT")).to.equal("211-Features:\n EPSV\n SIZE\n211 End");
    });

    it("sendcmd rejects 4xx with FtpTempError and 5xx with FtpPermError, and the client carries on", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", (s) => s.reply(421, "Busy."));
      const ftp = await fixtures.client(srv);
      const temp = await rejectionOf(ftp.sendcmd("NOOP"));
      expect(temp).to.be.instanceOf(FtpTempError);
      expect(temp).to.include({ code: "ERR_FTP_TEMP", replyCode: 421, response: "421 Busy." });
      const perm = await rejectionOf(ftp.sendcmd("XYZZY"));
      expect(perm).to.be.instanceOf(FtpPermError);
      expect(perm).to.include({ code: "ERR_FTP_PERM", replyCode: 500, response: "500 Unknown command." });
      expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok.");
    });

    it("voidcmd resolves to a 2xx reply and rejects anything else", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
      const reply = await rejectionOf(ftp.voidcmd("RNFR /a.txt"));
      expect(reply).to.be.instanceOf(FtpReplyError);
      expect(reply).to.include({ code: "ERR_FTP_REPLY", replyCode: 350, response: "350 Ready for RNTO." });
      expect(await rejectionOf(ftp.voidcmd("DELE /missing"))).to.be.instanceOf(FtpPermError);
    });
  });

  describe("rename", function () {
    it("sends RNFR then RNTO and resolves to RNTO's reply", async function () {
      const srv = await fixtures.server({ files: { "/old.txt": "content" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.rename("/old.txt", "/new.txt")).to.equal("250 Rename successful.");
      expect(commandsAfterLogin(srv)).to.deep.equal(["RNFR /old.txt", "RNTO /new.txt"]);
      expect(srv.vfs.get("/new.txt")?.toString()).to.equal("content");
      expect(srv.vfs.exists("/old.txt")).to.equal(false);
    });

    it("rejects with FtpReplyError and sends no RNTO when RNFR gets anything but 3xx", async function () {
      const srv = await fixtures.server({ files: { "/old.txt": "x" } });
      srv.once("RNFR", (s) => s.reply(250, "Renamed already?"));
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.rename("/old.txt", "/new.txt"));
      expect(error).to.be.instanceOf(FtpReplyError);
      expect(error).to.include({ code: "ERR_FTP_REPLY", replyCode: 250 });
      expect(commandsAfterLogin(srv)).to.deep.equal(["RNFR /old.txt"]);
    });

    it("rejects a 550 to RNFR with FtpPermError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.rename("/missing", "/new"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
      expect(commandsAfterLogin(srv)).to.deep.equal(["RNFR /missing"]);
    });
  });

  describe("delete", function () {
    it("resolves to a 250 and the file is gone", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.delete("/a.txt")).to.equal("250 Delete operation successful.");
      expect(srv.vfs.exists("/a.txt")).to.equal(false);
    });

    it("resolves to a 200 too", async function () {
      const srv = await fixtures.server();
      srv.once("DELE", (s) => s.reply(200, "Deleted."));
      const ftp = await fixtures.client(srv);
      expect(await ftp.delete("/a.txt")).to.equal("200 Deleted.");
    });

    it("rejects 5xx with FtpPermError and 4xx with FtpTempError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const perm = await rejectionOf(ftp.delete("/missing"));
      expect(perm).to.be.instanceOf(FtpPermError);
      expect(perm).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 Delete operation failed." });
      srv.once("DELE", (s) => s.reply(450, "File busy."));
      expect(await rejectionOf(ftp.delete("/busy"))).to.be.instanceOf(FtpTempError);
    });

    for (const [code, text] of [
      [226, "Closing data connection."],
      [350, "Pending."],
      [257, '"/x" deleted'],
    ] as const) {
      it(`rejects any other reply (${code}) with FtpReplyError`, async function () {
        const srv = await fixtures.server();
        srv.once("DELE", (s) => s.reply(code, text));
        const ftp = await fixtures.client(srv);
        const error = await rejectionOf(ftp.delete("/a.txt"));
        expect(error).to.be.instanceOf(FtpReplyError);
        expect(error).to.include({ code: "ERR_FTP_REPLY", replyCode: code, response: `${code} ${text}` });
      });
    }
  });

  describe("cwd", function () {
    it("sends CWD with the directory and resolves to the 250", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.cwd("pub")).to.equal("250 Directory successfully changed.");
      expect(await ftp.pwd()).to.equal("/pub");
      expect(commandsAfterLogin(srv)).to.deep.equal(["CWD pub", "PWD"]);
    });

    it("sends CDUP for '..'", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/pub");
      expect(await ftp.cwd("..")).to.equal("250 Directory successfully changed.");
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["CWD /pub", "CDUP", "PWD"]);
    });

    it("falls back to 'CWD ..' when CDUP gets 500", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "a" } });
      srv.once("CDUP", (s) => s.reply(500, "CDUP not understood."));
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/pub");
      expect(await ftp.cwd("..")).to.equal("250 Directory successfully changed.");
      expect(commandsAfterLogin(srv)).to.deep.equal(["CWD /pub", "CDUP", "CWD .."]);
      expect(srv.lastSession!.state.cwd).to.equal("/");
    });

    it("does not fall back when CDUP fails otherwise (550)", async function () {
      const srv = await fixtures.server();
      srv.once("CDUP", (s) => s.reply(550, "Permission denied."));
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.cwd(".."));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
      expect(commandsAfterLogin(srv)).to.deep.equal(["CDUP"]);
    });

    it("sends 'CWD .' for ''", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      await ftp.cwd("");
      expect(commandsAfterLogin(srv)).to.deep.equal(["CWD ."]);
    });

    it("rejects a missing directory with FtpPermError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.cwd("/nowhere"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 Failed to change directory." });
    });
  });

  describe("mkd, pwd and rmd", function () {
    it("mkd resolves to the path in the 257 reply", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await ftp.mkd("new")).to.equal("/new");
      expect(srv.vfs.isDir("/new")).to.equal(true);
    });

    it("mkd undoes doubled quotes in the 257 reply, and pwd too", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await ftp.mkd('say "hi"')).to.equal('/say "hi"');
      expect(srv.vfs.isDir('/say "hi"')).to.equal(true);
      await ftp.cwd('say "hi"');
      expect(await ftp.pwd()).to.equal('/say "hi"');
    });

    it("mkd and pwd resolve to '' when a 2xx reply names no path (IIS-style)", async function () {
      const srv = await fixtures.server();
      srv.once("MKD", (s) => s.reply(250, "Directory created."));
      srv.once("PWD", (s) => s.reply(257, "PWD command successful."));
      const ftp = await fixtures.client(srv);
      expect(await ftp.mkd("x")).to.equal("");
      expect(await ftp.pwd()).to.equal("");
    });

    it("mkd rejects a 550 with FtpPermError", async function () {
      const srv = await fixtures.server({ files: { "/exists/": "" } });
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.mkd("/exists"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
    });

    it("rmd removes an empty directory and rejects a non-empty one with FtpPermError", async function () {
      const srv = await fixtures.server({ files: { "/empty/": "", "/full/f": "x" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.rmd("/empty")).to.equal("250 Remove directory operation successful.");
      expect(srv.vfs.exists("/empty")).to.equal(false);
      const error = await rejectionOf(ftp.rmd("/full"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(srv.vfs.exists("/full/f")).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["RMD /empty", "RMD /full"]);
    });
  });

  describe("size", function () {
    it("resolves to the number in a 213 reply (0 included)", async function () {
      const srv = await fixtures.server({ files: { "/a.bin": Buffer.alloc(123456), "/empty.txt": "" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.size("/a.bin")).to.equal(123456);
      expect(await ftp.size("/empty.txt")).to.equal(0);
      // (A TYPE I may come first: several servers refuse SIZE in ASCII mode.)
      expect(commandsAfterLogin(srv).filter((line) => line !== "TYPE I")).to.deep.equal(["SIZE /a.bin", "SIZE /empty.txt"]);
    });

    for (const [code, text] of [
      [213, "unknown"],
      [213, "12abc"],
      [213, "99999999999999999999"],
      [250, "1234"],
      [226, ""],
    ] as const) {
      it(`resolves to null, never NaN, for "${code} ${text}"`, async function () {
        const srv = await fixtures.server();
        srv.once("SIZE", (s) => s.reply(code, text));
        const ftp = await fixtures.client(srv);
        expect(await ftp.size("/x")).to.equal(null);
      });
    }

    it("asks in binary mode when the transfer before it left ASCII, even with later transfers already queued", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "one\ntwo\n" } });
      // Like pyftpdlib and others: SIZE is refused in ASCII mode.
      srv.handle("SIZE", (s, arg) =>
        s.state.type === "A" ? s.reply(550, "SIZE not allowed in ASCII mode.") : s.defaultHandler("SIZE", arg),
      );
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      const [, size] = await Promise.all([
        ftp.retrlines("RETR /a.txt", (line) => lines.push(line)),
        ftp.size("/a.txt"),
        ftp.retrbinary("RETR /a.txt", () => undefined),
      ]);
      expect(size).to.equal(8);
      expect(lines).to.deep.equal(["one", "two"]);
      const verbs = commandsAfterLogin(srv).filter((line) => !line.startsWith("EPSV"));
      // The TYPE I that SIZE needed is the binary transfer's too: not sent twice.
      expect(verbs).to.deep.equal(["TYPE A", "RETR /a.txt", "TYPE I", "SIZE /a.txt", "RETR /a.txt"]);
    });

    it("asks in binary mode again after the caller set TYPE A with sendcmd", async function () {
      const srv = await fixtures.server({ files: { "/a.bin": Buffer.alloc(5) } });
      srv.handle("SIZE", (s, arg) =>
        s.state.type === "A" ? s.reply(550, "SIZE not allowed in ASCII mode.") : s.defaultHandler("SIZE", arg),
      );
      const ftp = await fixtures.client(srv);
      expect(await ftp.size("/a.bin")).to.equal(5);
      await ftp.sendcmd("TYPE A");
      expect(await ftp.size("/a.bin")).to.equal(5);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "SIZE /a.bin", "TYPE A", "TYPE I", "SIZE /a.bin"]);
    });

    it("rejects a 550 with FtpPermError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.size("/missing"));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 Could not get file size." });
    });
  });

  describe("quit and close", function () {
    it("quit sends QUIT, resolves to the 221 and closes the client", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await ftp.quit()).to.equal("221 Goodbye.");
      expect(ftp.closed).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["QUIT"]);
      await until(() => srv.openConnections() === 0, "the control connection closing");
      expect(await rejectionOf(ftp.pwd())).to.be.instanceOf(FtpClosedError);
    });

    it("close is idempotent and every later call rejects with FtpClosedError", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      ftp.close();
      ftp.close();
      expect(ftp.closed).to.equal(true);
      for (const call of [
        () => ftp.sendcmd("NOOP"),
        () => ftp.voidcmd("NOOP"),
        () => ftp.pwd(),
        () => ftp.size("/a.txt"),
        () => ftp.quit(),
      ]) {
        const error = await rejectionOf(call());
        expect(error).to.be.instanceOf(FtpClosedError);
        expect((error as FtpClosedError).code).to.equal("ERR_FTP_CLOSED");
      }
      const stream = ftp.retrbinary("RETR /a.txt");
      const streamError = await new Promise<Error>((resolve) => stream.once("error", resolve));
      expect(streamError).to.be.instanceOf(FtpClosedError);
      await until(() => srv.openConnections() === 0, "the control connection closing");
      expect(commandsAfterLogin(srv)).to.deep.equal([]);
    });

    it("close rejects the running call and each queued call once, and queued commands are never sent", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", async (s) => {
        await s.sleep(5000);
        s.reply(200, "late");
      });
      const ftp = await fixtures.client(srv);
      const settled: Array<{ index: number; error: unknown }> = [];
      const calls = [ftp.sendcmd("NOOP"), ftp.pwd(), ftp.voidcmd("SYST"), ftp.mkd("/d"), ftp.size("/x")];
      for (const [index, call] of calls.entries()) {
        void call.then(
          () => settled.push({ index, error: undefined }),
          (error: unknown) => settled.push({ index, error }),
        );
      }
      await srv.waitForCommand("NOOP");
      ftp.close();
      await until(() => settled.length === calls.length, "every call settling");
      for (const { error } of settled) expect(error).to.be.instanceOf(FtpClosedError);
      const queuedErrors = settled.filter(({ index }) => index > 0).map(({ error }) => error);
      expect(new Set(queuedErrors).size, "one error for everything queued").to.equal(1);
      expect(commandsAfterLogin(srv)).to.deep.equal(["NOOP"]);
    });
  });

  describe("a dropped connection", function () {
    it("fails the running call and everything queued, and the client says it is closed", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", (s) => s.drop());
      const ftp = await fixtures.client(srv);
      const running = ftp.sendcmd("NOOP");
      const queued = [ftp.pwd(), ftp.size("/x"), ftp.voidcmd("SYST")].map((call) => rejectionOf(call));
      const error = await rejectionOf(running);
      expect(error).to.be.instanceOf(FtpConnectionError);
      const queuedErrors = await Promise.all(queued);
      for (const queuedError of queuedErrors) expect(queuedError).to.be.instanceOf(FtpClosedError);
      expect(new Set(queuedErrors).size, "one error for everything queued").to.equal(1);
      expect(ftp.closed).to.equal(true);
      expect(await rejectionOf(ftp.pwd())).to.be.instanceOf(FtpClosedError);
      expect(commandsAfterLogin(srv)).to.deep.equal(["NOOP"]);
    });
  });

  describe("timeout", function () {
    it("fails a call whose reply never comes with FtpTimeoutError, closing the client and failing what is queued", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", () => undefined);
      const ftp = await fixtures.client(srv, { timeout: 200 });
      const noop = rejectionOf(ftp.sendcmd("NOOP"));
      const queued = rejectionOf(ftp.pwd());
      expect(await noop).to.be.instanceOf(FtpTimeoutError);
      expect(await queued).to.be.instanceOf(FtpClosedError);
      expect(ftp.closed).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["NOOP"]);
    });
  });

  describe("one queue", function () {
    it("runs 20 concurrent calls in call order, each resolving with its own reply", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "alpha\n", "/pub/b.bin": Buffer.alloc(3000, 7) } });
      // Replies come back at uneven speeds: order must come from the queue, not from luck.
      let noops = 0;
      srv.handle("NOOP", async (s) => {
        noops++;
        await s.sleep((noops * 7) % 13);
        s.reply(200, `NOOP ${noops}`);
      });
      const ftp = await fixtures.client(srv);
      const order: number[] = [];
      const track = <T>(index: number, promise: Promise<T>): Promise<T> =>
        promise.then((value) => {
          order.push(index);
          return value;
        });
      const blocks: Buffer[] = [];
      const calls: Array<Promise<unknown>> = (
        [
          ftp.sendcmd("NOOP"),
          ftp.pwd(),
          ftp.cwd("/pub"),
          ftp.pwd(),
          ftp.size("a.txt"),
          ftp.sendcmd("NOOP"),
          ftp.mkd("sub"),
          ftp.nlst(),
          ftp.retrbinary("RETR b.bin", (block) => blocks.push(block)),
          ftp.size("b.bin"),
          ftp.voidcmd("NOOP"),
          ftp.rename("a.txt", "c.txt"),
          ftp.size("c.txt"),
          ftp.cwd(".."),
          ftp.pwd(),
          ftp.sendcmd("NOOP"),
          ftp.delete("/pub/c.txt"),
          ftp.rmd("/pub/sub"),
          ftp.sendcmd("SYST"),
          ftp.sendcmd("NOOP"),
        ] as Array<Promise<unknown>>
      ).map((promise, index) => track(index, promise));
      expect(calls).to.have.length(20);
      const results = await Promise.all(calls);
      expect(order).to.deep.equal([...Array(20).keys()]);
      expect(results).to.deep.equal([
        "200 NOOP 1",
        "/",
        "250 Directory successfully changed.",
        "/pub",
        6,
        "200 NOOP 2",
        "/pub/sub",
        ["a.txt", "b.bin", "sub"],
        "226 Transfer complete.",
        3000,
        "200 NOOP 3",
        "250 Rename successful.",
        6,
        "250 Directory successfully changed.",
        "/",
        "200 NOOP 4",
        "250 Delete operation successful.",
        "250 Remove directory operation successful.",
        "215 UNIX Type: L8",
        "200 NOOP 5",
      ]);
      expect(Buffer.concat(blocks).equals(Buffer.alloc(3000, 7))).to.equal(true);
      const verbs = commandsAfterLogin(srv)
        .map((line) => line.split(" ")[0])
        .filter((verb) => !["TYPE", "EPSV"].includes(verb));
      expect(verbs).to.deep.equal([
        "NOOP",
        "PWD",
        "CWD",
        "PWD",
        "SIZE",
        "NOOP",
        "MKD",
        "NLST",
        "RETR",
        "SIZE",
        "NOOP",
        "RNFR",
        "RNTO",
        "SIZE",
        "CDUP",
        "PWD",
        "NOOP",
        "DELE",
        "RMD",
        "SYST",
        "NOOP",
      ]);
    });
  });

  describe("replies split across TCP chunks", function () {
    it("reads a welcome and replies sent one byte at a time", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": Buffer.from("0123456789") } });
      const slowly = { chunkSize: 1, delayMs: 1 };
      srv.onConnect((s) => s.sendSlowly("220-slow\r\n220-welcome, \u00e9t\u00e9\r\n220 ready\r\n", slowly));
      srv.handle("USER", async (s, arg) => {
        s.state.user = arg;
        await s.sendSlowly("331 Please specify the password.\r\n", slowly);
      });
      srv.handle("PASS", async (s) => {
        s.state.loggedIn = true;
        await s.sendSlowly("230-Hello,\r\n230-  230 inside\r\n230 Login successful.\r\n", slowly);
      });
      srv.handle("PWD", (s) => s.sendSlowly('257 "/" is the current directory\r\n', slowly));
      srv.handle("RETR", async (s) => {
        await s.sendSlowly("150 Opening BINARY mode data connection (10 bytes).\r\n", slowly);
        await s.sendData(Buffer.from("0123456789"));
        await s.sendSlowly("226-Transfer\r\n226 complete.\r\n", slowly);
      });
      const ftp = await fixtures.client(srv, { login: false });
      expect(ftp.getWelcome()).to.equal("220-slow\n220-welcome, \u00e9t\u00e9\n220 ready");
      expect(await ftp.login("user", "pass")).to.equal("230-Hello,\n230-  230 inside\n230 Login successful.");
      expect(await ftp.pwd()).to.equal("/");
      const chunks: Buffer[] = [];
      expect(await ftp.retrbinary("RETR /f.bin", (block) => chunks.push(block))).to.equal("226-Transfer\n226 complete.");
      expect(Buffer.concat(chunks).toString()).to.equal("0123456789");
      expect(commandsAfterLogin(srv)).to.deep.equal(["PWD", "TYPE I", "EPSV", "RETR /f.bin"]);
    });
  });

  describe("hostile replies", function () {
    it("fails the call with FtpProtoError on a line that is not a reply, and closes the client", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", (s) => s.send("HTTP/1.1 400 Bad Request\r\n"));
      const ftp = await fixtures.client(srv);
      const noop = ftp.sendcmd("NOOP");
      const queued = rejectionOf(ftp.pwd());
      const error = await rejectionOf(noop);
      expect(error).to.be.instanceOf(FtpProtoError);
      expect(ftp.closed).to.equal(true);
      expect(await queued).to.be.instanceOf(FtpClosedError);
    });

    it("fails the call with FtpProtoError on an endless reply line instead of buffering it", async function () {
      const srv = await fixtures.server();
      srv.once("NOOP", (s) => s.send("200 " + "x".repeat(64 * 1024)));
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.sendcmd("NOOP"));
      expect(error).to.be.instanceOf(FtpProtoError);
      expect(error.message).to.match(/longer than 8192/);
    });
  });

  describe("CR and LF in arguments", function () {
    const calls: Array<[string, (ftp: FTP) => unknown]> = [
      ["sendcmd", (ftp) => ftp.sendcmd("NOOP\r\nDELE /a.txt")],
      ["voidcmd", (ftp) => ftp.voidcmd("NOOP\nDELE /a.txt")],
      ["login", (ftp) => ftp.login("user", "pass\r\nDELE /a.txt")],
      ["delete", (ftp) => ftp.delete("/b.txt\r\nDELE /a.txt")],
      ["rename", (ftp) => ftp.rename("/a.txt", "/b\r\nDELE /a.txt")],
      ["cwd", (ftp) => ftp.cwd("/\rDELE /a.txt")],
      ["mkd", (ftp) => ftp.mkd("d\nDELE /a.txt")],
      ["rmd", (ftp) => ftp.rmd("d\nDELE /a.txt")],
      ["size", (ftp) => ftp.size("/a.txt\nDELE /a.txt")],
      ["retrbinary", (ftp) => ftp.retrbinary("RETR /a.txt\r\nDELE /a.txt", () => undefined)],
      ["retrlines", (ftp) => ftp.retrlines("LIST\r\nDELE /a.txt", () => undefined)],
      ["storbinary", (ftp) => ftp.storbinary("STOR /b.txt\r\nDELE /a.txt")],
      ["storlines", (ftp) => ftp.storlines("STOR /b.txt\r\nDELE /a.txt", "x\n")],
      ["nlst", (ftp) => ftp.nlst("/\r\nDELE /a.txt")],
      ["dir", (ftp) => ftp.dir("/\r\nDELE /a.txt", () => undefined)],
      ["mlsd", (ftp) => ftp.mlsd("/\r\nDELE /a.txt")],
      ["mlsd facts", (ftp) => ftp.mlsd("/", ["type\r\nDELE /a.txt"])],
    ];
    for (const [name, call] of calls) {
      it(`${name} refuses them before anything is sent`, async function () {
        const srv = await fixtures.server({ files: { "/a.txt": "keep me" } });
        const ftp = await fixtures.client(srv);
        const error = await refusalOf(() => call(ftp));
        expect(error).to.be.instanceOf(TypeError);
        expect(error.code).to.equal("ERR_INVALID_ARG_VALUE");
        expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok.");
        expect(commandsAfterLogin(srv)).to.deep.equal(["NOOP"]);
        expect(srv.vfs.get("/a.txt")?.toString()).to.equal("keep me");
      });
    }
  });
});
