/**
 * Downloads written ahead of their turn (TransferStreamOptions.writeAhead,
 * lib/transfer-ahead.ts): on a server whose welcome says it reads no
 * command during a transfer, the next download's EPSV and RETR go out as
 * soon as the one in front has written its own, and an abort of the one in front
 * closes the connection instead of sending ABOR behind them.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { patternBytes, patternFile, type FixtureServer } from "../../fixtures/server.js";
import { FtpAheadDroppedError, FtpDirTransferError, FtpPool, FtpProtoError, type FTP } from "../../lib/index.js";
import { gate, rejectionOf, until, useFixtures, wireLogger } from "./helpers.js";

/** vsftpd's welcome: a server known to leave commands unread during a transfer. */
const VSFTPD_WELCOME = "220 (vsFTPd 3.0.3)";

describe("downloads written ahead of their turn", function () {
  const fixtures = useFixtures();

  /** A logged-in client whose wire (`> LINE` written, `< code` read) is recorded from after the login on. */
  async function client(srv: FixtureServer): Promise<{ ftp: FTP; wire: string[] }> {
    const wire: string[] = [];
    const ftp = await fixtures.client(srv, { debugLevel: 1, logger: wireLogger(wire) });
    // The session's first EPSV port is connected before its command goes out: reached here, once.
    await ftp.retrbinary("RETR warm", () => undefined);
    wire.length = 0;
    return { ftp, wire };
  }

  /** Where to look for commands received after `RETR arg`. */
  function after(srv: FixtureServer, arg: string): number {
    return srv.commands.lastIndexOf(`RETR ${arg}`) + 1;
  }

  /**
   * The next RETR gets its 150, and its data and 226 only once the server
   * has received another RETR (or after `timeoutMs`, when nothing was
   * written ahead: the spec then fails on the wire's order).
   */
  function holdRetrUntilNext(srv: FixtureServer, size: number, timeoutMs = 2000): void {
    srv.once("RETR", async (s, arg) => {
      s.reply(150, `Opening BINARY mode data connection (${size} bytes).`);
      await srv.waitForCommand("RETR", { from: after(srv, arg), timeoutMs }).catch(() => undefined);
      await s.sendData(patternBytes(0, size));
      s.reply(226, "Transfer complete.");
    });
  }

  /** Every byte of `cmd`, collected through the callback form. */
  async function fetch(ftp: FTP, cmd: string, writeAhead = true): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await ftp.retrbinary(cmd, (chunk) => void chunks.push(chunk), { commandWithEpsv: true, writeAhead });
    return Buffer.concat(chunks);
  }

  const files = { "/warm": patternFile(10), "/a": patternFile(3000), "/b": patternFile(5000) };

  it("writes the next download's EPSV and RETR right behind the one in front's, before any reply, on a server whose welcome names vsftpd", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp, wire } = await client(srv);
    holdRetrUntilNext(srv, 3000);
    const [a, b] = await Promise.all([fetch(ftp, "RETR a"), fetch(ftp, "RETR b")]);
    expect(a.equals(patternBytes(0, 3000)), "a's bytes").to.equal(true);
    expect(b.equals(patternBytes(0, 5000)), "b's bytes").to.equal(true);
    expect(wire).to.deep.equal(["> EPSV", "> RETR a", "> EPSV", "> RETR b", "< 229", "< 150", "< 226", "< 229", "< 150", "< 226"]);
  });

  it("writes a download's TYPE I behind a text download in front that wrote TYPE A, though no reply has confirmed that yet", async function () {
    // Bytes that TYPE A would change (the fixture, as servers do, sends each LF as CRLF in ASCII).
    const binary = Buffer.from("one\ntwo\nthree\n".repeat(100));
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: { ...files, "/text": "x\ny\n", "/bin": binary } });
    const { ftp } = await client(srv);
    const lines: string[] = [];
    const text = ftp.retrlines("RETR text", (line) => void lines.push(line), { commandWithEpsv: true, writeAhead: true });
    const bytes = fetch(ftp, "RETR bin");
    await text;
    expect(lines).to.deep.equal(["x", "y"]);
    expect((await bytes).equals(binary)).to.equal(true);
    const retr = srv.commands.lastIndexOf("RETR bin");
    expect(srv.commands.slice(retr - 5, retr + 1)).to.deep.equal(["TYPE A", "EPSV", "RETR text", "TYPE I", "EPSV", "RETR bin"]);
  });

  it("writes nothing ahead on a server whose welcome names none known to hold commands, nor for a download that does not ask", async function () {
    for (const [welcome, writeAhead] of [
      ["220 ftpstream fixture ready", true],
      [VSFTPD_WELCOME, false],
    ] as const) {
      const srv = await fixtures.server({ welcome, files });
      const { ftp, wire } = await client(srv);
      // Nothing comes ahead: a's data goes after a short wait.
      holdRetrUntilNext(srv, 3000, 200);
      const [a, b] = await Promise.all([fetch(ftp, "RETR a", writeAhead), fetch(ftp, "RETR b", writeAhead)]);
      expect(a.length + b.length).to.equal(8000);
      expect(wire, welcome).to.deep.equal([
        "> EPSV",
        "> RETR a",
        "< 229",
        "< 150",
        "< 226",
        "> EPSV",
        "> RETR b",
        "< 229",
        "< 150",
        "< 226",
      ]);
      await ftp.quit();
    }
  });

  it("closes the connection instead of sending ABOR when the download in front is given up, and fails the one written behind it with FtpAheadDroppedError", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp } = await client(srv);
    srv.once("RETR", async (s, arg) => {
      s.reply(150, "Opening BINARY mode data connection (100000 bytes).");
      await srv.waitForCommand("RETR", { from: after(srv, arg), timeoutMs: 2000 }).catch(() => undefined);
      const data = await s.openData();
      data.write(Buffer.alloc(1000, 1));
      // Never ends: the client gives the download up at its first chunk.
      await new Promise((resolve) => data.once("close", resolve));
    });
    const thrown = new Error("the consumer gave up");
    const a = ftp.retrbinary(
      "RETR a",
      () => {
        throw thrown;
      },
      { writeAhead: true, commandWithEpsv: true },
    );
    const b = fetch(ftp, "RETR b");
    expect(await rejectionOf(a)).to.equal(thrown);
    const dropped = await rejectionOf(b);
    expect(dropped).to.be.instanceOf(FtpAheadDroppedError);
    expect((dropped as FtpAheadDroppedError).code).to.equal("ERR_FTP_CLOSED");
    expect(ftp.closed).to.equal(true);
    expect(srv.commands).to.not.include("ABOR");
  });

  it("gives up a download written ahead whose turn finds it given up: the connection is closed, not left answering for it", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp } = await client(srv);
    // a's data waits until b, written ahead, has been given up.
    const aborted = gate();
    srv.once("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection (3000 bytes).");
      await aborted.passed;
      await s.sendData(patternBytes(0, 3000));
      s.reply(226, "Transfer complete.");
    });
    const controller = new AbortController();
    const a = fetch(ftp, "RETR a");
    const chunks: Buffer[] = [];
    const b = ftp.retrbinary("RETR b", (chunk) => void chunks.push(chunk), {
      writeAhead: true,
      commandWithEpsv: true,
      signal: controller.signal,
    });
    await until(() => srv.commands.includes("RETR b"), "RETR b written ahead");
    controller.abort();
    expect((await rejectionOf(b)).name).to.equal("AbortError");
    aborted.open();
    expect((await a).length).to.equal(3000);
    expect(chunks).to.deep.equal([]);
    // Its EPSV's 229 and RETR's 150 are owed to nobody: the next call must not read them as its own.
    expect(await rejectionOf(ftp.pwd())).to.be.instanceOf(FtpAheadDroppedError);
  });

  it("closes the connection instead of going again with PASV when the download in front is refused its EPSV (and its RETR) with one written behind it", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp } = await client(srv);
    // proftpd now and then: 425 for EPSV when its passive port is taken; the RETR behind it then has no data connection set up.
    srv.once("EPSV", (s) => s.reply(425, "Unable to build data connection: Address already in use"));
    srv.once("RETR", (s) => s.reply(425, "Use PORT or PASV first."));
    const a = fetch(ftp, "RETR a");
    const b = fetch(ftp, "RETR b");
    expect((await rejectionOf(a)).message).to.match(/^425 Unable to build data connection/);
    expect(await rejectionOf(b)).to.be.instanceOf(FtpAheadDroppedError);
    expect(srv.commands.filter((line) => line === "PASV" || line === "EPSV")).to.have.length(3);
  });

  it("fails the download in front with FtpProtoError, and closes, when a server that claims to hold commands answers the one behind during its transfer", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp } = await client(srv);
    // As pyftpdlib does (README, "Pipelining"): b's EPSV answered before a's 226.
    srv.once("RETR", async (s, arg) => {
      s.reply(150, "Opening BINARY mode data connection (3000 bytes).");
      await srv.waitForCommand("RETR", { from: after(srv, arg), timeoutMs: 2000 }).catch(() => undefined);
      s.reply(229, "Entering Extended Passive Mode (|||1|)");
      await s.sendData(patternBytes(0, 3000));
      s.reply(226, "Transfer complete.");
    });
    const a = fetch(ftp, "RETR a");
    const b = fetch(ftp, "RETR b");
    const error = await rejectionOf(a);
    expect(error).to.be.instanceOf(FtpProtoError);
    expect((error as FtpProtoError).response).to.match(/^229 /);
    expect(await rejectionOf(b)).to.be.instanceOf(FtpAheadDroppedError);
    expect(ftp.closed).to.equal(true);
  });

  it("closes when the download in front fails before its data with one written behind it: which replies are still its own is not known", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files });
    const { ftp } = await client(srv);
    // a's data port is closed, and its RETR gets a 150 and then no final reply at all:
    // the next reply on the wire is b's 229, which a must not take for its own.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    srv.once("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${closedPort}|)`));
    srv.once("RETR", (s) => s.reply(150, "Opening BINARY mode data connection (3000 bytes)."));
    const a = fetch(ftp, "RETR a");
    const b = fetch(ftp, "RETR b");
    expect((await rejectionOf(a)).message).to.match(/cannot open the data connection/);
    expect(await rejectionOf(b)).to.be.instanceOf(FtpAheadDroppedError);
    expect(ftp.closed).to.equal(true);
  });

  describe("FtpPool tree downloads", function () {
    it("writes a directory's listing behind the listing or file in front of it on the connection", async function () {
      const srv = await fixtures.server({
        welcome: VSFTPD_WELCOME,
        files: { "/t/a/x": patternFile(100), "/t/b/y": patternFile(200), "/t/c/z": patternFile(300) },
      });
      // Each transfer is answered once the next one has come (or after 500 ms):
      // what is written ahead shows however fast the client's local steps are.
      for (const verb of ["MLSD", "RETR"]) {
        srv.handle(verb, async (s, arg) => {
          const from = srv.commands.lastIndexOf(`${verb} ${arg}`) + 1;
          await until(() => srv.commands.slice(from).some((line) => /^(MLSD|RETR) /.test(line)), "", 500).catch(() => undefined);
          await s.defaultHandler(verb, arg);
        });
      }
      const wire: string[] = [];
      const pool = new FtpPool({
        size: 1,
        connect: () =>
          fixtures.client(srv, {
            debugLevel: 1,
            logger: (line) => {
              const command = /^\*cmd\* '((?:MLSD|LIST|RETR) .*)'$/.exec(line);
              if (command) wire.push(command[1]);
              else if (/^\*resp\* '226/.test(line)) wire.push("226");
            },
          }),
      });
      const local = await mkdtemp(join(tmpdir(), "ftpstream-ahead-"));
      try {
        await pool.downloadDir("/t", local);
        expect((await readFile(join(local, "c/z"))).equals(patternBytes(0, 300))).to.equal(true);
      } finally {
        await pool.close();
        await rm(local, { recursive: true, force: true });
      }
      // Listings written while another transfer still waits for its 226.
      let waiting = 0;
      const listedAhead: string[] = [];
      for (const entry of wire) {
        if (entry === "226") waiting--;
        else if (waiting++ > 0 && !entry.startsWith("RETR")) listedAhead.push(entry);
      }
      expect(listedAhead, wire.join(", ")).to.not.deep.equal([]);
    });

    it("does not pass over a use() waiting for a client of its own: shared tree tasks behind it wait", async function () {
      const tree: Record<string, Buffer> = {};
      for (let i = 0; i < 8; i++) tree[`/t/f${i}`] = patternBytes(0, 100 + i);
      const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: tree });
      srv.handle("RETR", async (s, arg) => {
        await s.sleep(20);
        await s.defaultHandler("RETR", arg);
      });
      const pool = new FtpPool({ size: 1, connect: () => fixtures.client(srv) });
      const local = await mkdtemp(join(tmpdir(), "ftpstream-ahead-"));
      try {
        const download = pool.downloadDir("/t", local);
        await until(() => srv.commands.includes("RETR /t/f1"), "the second file's RETR");
        await pool.use((client) => client.sendcmd("NOOP"));
        await download;
      } finally {
        await pool.close();
        await rm(local, { recursive: true, force: true });
      }
      const retrs = srv.commands.filter((line) => line.startsWith("RETR "));
      expect(retrs).to.have.length(8);
      // Without the rule, the shared tasks kept the one client and the NOOP came after every file.
      expect(srv.commands.indexOf("NOOP"), srv.commands.join(", ")).to.be.below(srv.commands.lastIndexOf(retrs[retrs.length - 1]));
    });

    it("hands a client whose download is under way to the next file, written ahead, and fetches again a file dropped by an abort in front", async function () {
      const tree: Record<string, Buffer> = {};
      for (let i = 0; i < 6; i++) tree[`/t/f${i}`] = patternBytes(0, 1000 + i);
      const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: tree });
      const pool = new FtpPool({ size: 1, connect: () => fixtures.client(srv) });
      // f2's data connection is reset once: that download is given up with another file written behind it.
      let cut = false;
      srv.handle("RETR", async (s, arg) => {
        if (arg.endsWith("f2") && !cut) {
          cut = true;
          s.reply(150, "Opening BINARY mode data connection (1002 bytes).");
          await srv.waitForCommand("RETR", { from: after(srv, arg), timeoutMs: 2000 }).catch(() => undefined);
          (await s.openData()).resetAndDestroy();
          return;
        }
        await s.defaultHandler("RETR", arg);
      });
      const local = await mkdtemp(join(tmpdir(), "ftpstream-ahead-"));
      try {
        const error = await rejectionOf(pool.downloadDir("/t", local));
        expect(error).to.be.instanceOf(FtpDirTransferError);
        expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["f2"]);
        for (const i of [0, 1, 3, 4, 5])
          expect((await readFile(join(local, `f${i}`))).equals(patternBytes(0, 1000 + i)), `f${i}`).to.equal(true);
      } finally {
        await pool.close();
        await rm(local, { recursive: true, force: true });
      }
      // The file written behind the cut one (f3, or another when f3's task queued first) was fetched again.
      const cutAt = srv.commands.indexOf("RETR /t/f2");
      const behind = srv.commands.slice(cutAt + 1).find((line) => line.startsWith("RETR "));
      expect(
        srv.commands.filter((line) => line === behind),
        srv.commands.join(", "),
      ).to.have.length(2);
      expect(srv.commands).to.not.include("ABOR");
    });
  });
});
