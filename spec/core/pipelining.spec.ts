/**
 * Issue 11: opt-in pipelining. Commands issued while others wait for their
 * replies are written at once, up to a window; each reply still goes to
 * its own command; commands that must wait do.
 */
import { expect } from "chai";
import { Writable } from "node:stream";
import { patternBytes, patternFile, type FixtureServer } from "../../fixtures/server.js";
import { makeSelfSignedCert } from "../../fixtures/cert.js";
import { FTP, FTP_TLS, FtpClosedError, FtpConnectionError, FtpPermError, FtpPool, type DownloadStream } from "../../lib/index.js";
import { controlWrites, gate, rejectionOf, until, useFixtures, watchOverlap, wireLogger, type ClientOptions } from "./helpers.js";

/** Every byte of a download. */
async function collectBytes(stream: DownloadStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The wire as the client saw it: `> LINE` for each command written, `< code` for each reply, in order. */
type Wire = string[];

describe("pipelining", function () {
  const fixtures = useFixtures();

  /** A logged-in client with `options`, and its wire from after the login on. */
  async function client(srv: FixtureServer, options: ClientOptions = {}): Promise<{ ftp: FTP; wire: Wire }> {
    const wire: Wire = [];
    const ftp = await fixtures.client(srv, {
      pipelining: true,
      // Level 1 logs each command as it is written and each reply as it arrives.
      debugLevel: 1,
      logger: wireLogger(wire),
      ...options,
    });
    wire.length = 0;
    return { ftp, wire };
  }

  /** Holds the server's answer to the next `verb` (NOOP unless named) until the spec opens the gate. */
  function holdNext(srv: FixtureServer, verb = "NOOP"): { open: () => void } {
    const held = gate();
    srv.once(verb, async (s, arg) => {
      await held.passed;
      await s.defaultHandler(verb, arg);
    });
    return held;
  }

  /** Lets every write the client is going to make happen (writes wait for the end of the tick). */
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it("writes commands issued together without waiting for replies, and hands each reply to its own command", async function () {
    const srv = await fixtures.server({ files: { "/a": patternFile(10), "/b": patternFile(2000) } });
    const { ftp, wire } = await client(srv);
    const before = srv.commands.length;
    const held = holdNext(srv);
    const calls = Promise.all([
      ftp.sendcmd("NOOP"),
      ftp.size("a"),
      ftp.pwd(),
      ftp.mkd("new"),
      ftp.size("b"),
      ftp.cwd("new"),
      ftp.pwd(),
      ftp.voidcmd("CWD /"),
      ftp.delete("a"),
    ]);
    const sent = ["NOOP", "TYPE I", "SIZE a", "PWD", "MKD new", "SIZE b", "CWD new", "PWD", "CWD /", "DELE a"];
    // All of them reach the server while it still holds the first one's reply.
    await until(() => srv.commands.length === before + sent.length, "every command reaching the server");
    expect(srv.commands.slice(before)).to.deep.equal(sent);
    expect(wire).to.deep.equal(sent.map((line) => `> ${line}`));
    held.open();
    const [noop, sizeA, pwd, made, sizeB, cwd, pwdAfter, cwdBack, deleted] = await calls;
    expect(noop).to.match(/^200/);
    expect(sizeA).to.equal(10);
    expect(pwd).to.equal("/");
    expect(made).to.equal("/new");
    expect(sizeB).to.equal(2000);
    expect(cwd).to.match(/^250/);
    expect(pwdAfter).to.equal("/new");
    expect(cwdBack).to.match(/^250/);
    expect(deleted).to.match(/^250/);
    expect(srv.vfs.get("/a")).to.equal(undefined);
  });

  it("fails only the command a 4xx/5xx answers inside a window; the others get their own replies", async function () {
    const srv = await fixtures.server({ files: { "/a": patternFile(7) } });
    const { ftp } = await client(srv);
    const held = holdNext(srv);
    const calls = [ftp.sendcmd("NOOP"), ftp.size("missing"), ftp.size("a"), ftp.rmd("nowhere"), ftp.pwd(), ftp.sendcmd("NOOP")];
    await until(() => srv.commands.includes("RMD nowhere"), "the window reaching the server");
    held.open();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      "fulfilled",
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).to.be.instanceOf(FtpPermError);
    expect(((outcomes[1] as PromiseRejectedResult).reason as Error).message).to.match(/^550 Could not get file size/);
    expect((outcomes[2] as PromiseFulfilledResult<number>).value).to.equal(7);
    expect((outcomes[3] as PromiseRejectedResult).reason).to.be.instanceOf(FtpPermError);
    expect((outcomes[4] as PromiseFulfilledResult<string>).value).to.equal("/");
    // The client is in step: the next command gets its own reply.
    expect(await ftp.size("a")).to.equal(7);
  });

  it("on a drop inside the window, fails each written command once with the connection's error and each unwritten one with FtpClosedError; none is sent twice", async function () {
    const srv = await fixtures.server();
    const { ftp } = await client(srv, { pipelineWindow: 4 });
    const held = gate();
    srv.handle("NOOP", async (s, arg) => {
      if (arg !== "2") return s.reply(200, `NOOP ${arg} ok`);
      await held.passed;
      s.drop();
    });
    const calls = Array.from({ length: 8 }, (_, i) => ftp.sendcmd(`NOOP ${i}`));
    const outcomes = Promise.allSettled(calls);
    // 0 and 1 are answered, which makes room for 4 and 5; 2 holds the rest.
    await until(() => srv.commands.includes("NOOP 5"), "the window moving past the answered commands");
    await settle();
    held.open();
    const settled = await outcomes;
    expect(settled.slice(0, 2).map((outcome) => (outcome as PromiseFulfilledResult<string>).value)).to.deep.equal([
      "200 NOOP 0 ok",
      "200 NOOP 1 ok",
    ]);
    for (const outcome of settled.slice(2, 6)) {
      expect(outcome.status).to.equal("rejected");
      // Written: the server may have run it, so it is not a "closed before it ran".
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(FtpConnectionError);
    }
    for (const outcome of settled.slice(6)) {
      expect(outcome.status).to.equal("rejected");
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(FtpClosedError);
    }
    const noops = srv.commands.filter((line) => line.startsWith("NOOP"));
    expect(noops).to.deep.equal(["NOOP 0", "NOOP 1", "NOOP 2", "NOOP 3", "NOOP 4", "NOOP 5"]);
    expect(ftp.closed).to.equal(true);
  });

  it("writes the commands issued together in one socket write, and the window's refills each in one", async function () {
    const srv = await fixtures.server({ files: { "/a": "1", "/b": "22" } });
    // What the client writes on its control socket, write by write.
    const { writes, createConnection } = controlWrites();
    const { ftp } = await client(srv, {
      pipelineWindow: 4,
      createConnection,
    });
    writes.length = 0;
    const held = holdNext(srv);
    const calls = Promise.all([ftp.sendcmd("NOOP"), ftp.size("a"), ftp.size("b"), ftp.pwd(), ftp.sendcmd("NOOP"), ftp.pwd()]);
    await until(() => writes.length === 1, "the first window's write");
    await settle();
    // A window is four calls, whatever lines each writes (size()'s TYPE I goes with its SIZE).
    expect(writes).to.deep.equal(["NOOP\r\nTYPE I\r\nSIZE a\r\nSIZE b\r\nPWD\r\n"]);
    held.open();
    await calls;
    // Once half the window was answered, the rest went out together.
    expect(writes.slice(1)).to.deep.equal(["NOOP\r\nPWD\r\n"]);
  });

  it("hands thousands of replies arriving together each to its own command, and fails the thousands written behind a hang-up once each", async function () {
    const srv = await fixtures.server();
    const { ftp } = await client(srv, { pipelineWindow: 4000 });
    const before = srv.commands.length;
    const held = gate();
    srv.handle("NOOP", async (s, arg) => {
      // Held until every command is written, so the replies come in bursts.
      if (arg === "0") await held.passed;
      if (arg === "2500") s.close();
      else s.reply(200, `NOOP ${arg} ok`);
    });
    const outcomes = Promise.allSettled(Array.from({ length: 4000 }, (_, i) => ftp.sendcmd(`NOOP ${i}`)));
    await until(() => srv.commands.length === before + 4000, "every command reaching the server");
    held.open();
    const settled = await outcomes;
    settled.slice(0, 2500).forEach((outcome, i) => expect(outcome).to.deep.equal({ status: "fulfilled", value: `200 NOOP ${i} ok` }));
    for (const outcome of settled.slice(2500)) {
      expect(outcome.status).to.equal("rejected");
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(FtpConnectionError);
    }
  });

  it("never has more than pipelineWindow commands written and unanswered", async function () {
    const srv = await fixtures.server();
    const { ftp, wire } = await client(srv, { pipelineWindow: 3 });
    const held = holdNext(srv);
    const calls = Promise.all(Array.from({ length: 12 }, () => ftp.sendcmd("NOOP")));
    await until(() => srv.commands.filter((line) => line === "NOOP").length === 3, "a full window");
    await settle();
    expect(wire).to.deep.equal(["> NOOP", "> NOOP", "> NOOP"]);
    held.open();
    expect(await calls).to.have.length(12);
    let outstanding = 0;
    let most = 0;
    for (const event of wire) {
      outstanding += event.startsWith(">") ? 1 : -1;
      most = Math.max(most, outstanding);
    }
    expect(most).to.equal(3);
    expect(wire.filter((event) => event === "< 200")).to.have.length(12);
  });

  it("writes up to 1,024 commands before the first reply by default, and the rest as replies come", async function () {
    const srv = await fixtures.server();
    const { ftp, wire } = await client(srv);
    const held = holdNext(srv);
    const calls = Promise.all(Array.from({ length: 1500 }, () => ftp.sendcmd("NOOP")));
    await until(() => srv.commands.filter((line) => line === "NOOP").length === 1024, "a full default window");
    await settle();
    expect(wire.filter((event) => event === "> NOOP")).to.have.length(1024);
    held.open();
    expect(await calls).to.have.length(1500);
    expect(wire.filter((event) => event === "< 200")).to.have.length(1500);
  });

  it("holds back what must wait: a held verb (REST) waits for every earlier reply and nothing is written behind it until its own; so do exclusive calls (rename)", async function () {
    const srv = await fixtures.server({ files: { "/a": "x" } });
    const { ftp, wire } = await client(srv);
    const held = holdNext(srv);
    const calls = Promise.all([
      ftp.sendcmd("NOOP"),
      ftp.sendcmd("NOOP"),
      ftp.sendcmd("REST 0"),
      ftp.sendcmd("NOOP"),
      ftp.rename("a", "b"),
      ftp.sendcmd("NOOP"),
    ]);
    await until(() => srv.commands.filter((line) => line === "NOOP").length === 2, "the first two NOOPs");
    await settle();
    expect(wire).to.deep.equal(["> NOOP", "> NOOP"]);
    held.open();
    await calls;
    expect(wire).to.deep.equal([
      "> NOOP",
      "> NOOP",
      "< 200",
      "< 200",
      "> REST 0",
      "< 350",
      "> NOOP",
      "< 200",
      "> RNFR a",
      "< 350",
      "> RNTO b",
      "< 250",
      "> NOOP",
      "< 200",
    ]);
    expect(srv.vfs.get("/b")?.toString()).to.equal("x");
  });

  it("sends TYPE I once for a window of size() calls, and again after a text listing set TYPE A", async function () {
    const srv = await fixtures.server({ files: { "/a": "12345", "/b": "1" } });
    const { ftp } = await client(srv);
    const before = srv.commands.length;
    const [a, b, names, again] = await Promise.all([ftp.size("a"), ftp.size("b"), ftp.nlst(), ftp.size("a")]);
    expect([a, b, again]).to.deep.equal([5, 1, 5]);
    expect(names.sort()).to.deep.equal(["a", "b"]);
    expect(srv.commands.slice(before)).to.deep.equal(["TYPE I", "SIZE a", "SIZE b", "TYPE A", "EPSV", "NLST", "TYPE I", "SIZE a"]);
  });

  it("runs transfers queued among pipelined commands in their turn, each with its own outcome", async function () {
    const srv = await fixtures.server({ files: { "/big": patternFile(300_000), "/small": "hello" } });
    const { ftp } = await client(srv);
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const results = await Promise.all([
      ftp.sendcmd("NOOP"),
      ftp.retrbinary("RETR big", sink),
      ftp.size("small"),
      ftp.storbinary("STOR up", Buffer.from("uploaded")),
      ftp.pwd(),
      ftp.retrbinary("RETR missing", () => undefined).catch((error: Error) => error),
      ftp.size("up"),
    ]);
    expect(results[0]).to.match(/^200/);
    expect(results[1]).to.match(/^226/);
    expect(Buffer.concat(chunks).equals(patternBytes(0, 300_000))).to.equal(true);
    expect(results[2]).to.equal(5);
    expect(results[3]).to.match(/^226/);
    expect(results[4]).to.equal("/");
    expect(results[5]).to.be.instanceOf(FtpPermError);
    expect(results[6]).to.equal(8);
  });

  describe("a passive transfer's command written with its EPSV", function () {
    it("once the server answered EPSV, writes RETR before EPSV's reply, and the download is byte-exact", async function () {
      const srv = await fixtures.server({ files: { "/f": patternFile(70_000) } });
      const { ftp } = await client(srv);
      // The first transfer learns that the server does EPSV.
      expect(await collectBytes(ftp.retrbinary("RETR f"))).to.have.length(70_000);
      const held = holdNext(srv, "EPSV");
      const before = srv.commands.length;
      const download = collectBytes(ftp.retrbinary("RETR f"));
      await until(() => srv.commands.length === before + 2, "EPSV and RETR reaching the server");
      expect(srv.commands.slice(before)).to.deep.equal(["EPSV", "RETR f"]);
      held.open();
      expect((await download).equals(patternBytes(0, 70_000))).to.equal(true);
      // And again for an upload, and the session stays in step.
      expect(await ftp.storbinary("STOR up", Buffer.from("uploaded"))).to.match(/^226/);
      expect(await ftp.size("up")).to.equal(8);
    });

    it("waits for EPSV's reply before the command without pipelining, before the first EPSV was answered, and with REST", async function () {
      const srv = await fixtures.server({ files: { "/f": patternFile(1000) } });
      const cases: Array<{ options: ClientOptions; warm: boolean; rest?: number }> = [
        { options: { pipelining: false }, warm: true },
        { options: {}, warm: false },
        { options: {}, warm: true, rest: 10 },
      ];
      for (const { options, warm, rest } of cases) {
        const { ftp } = await client(srv, options);
        if (warm) await ftp.retrbinary("RETR f", () => undefined);
        const held = holdNext(srv, "EPSV");
        const before = srv.commands.length;
        const download = collectBytes(ftp.retrbinary("RETR f", { rest }));
        await until(() => srv.commands.includes("EPSV", before), "EPSV reaching the server");
        await settle();
        // (TYPE I first on a client that has not transferred yet.)
        expect(srv.commands.slice(before), JSON.stringify({ options, warm, rest })).to.deep.equal(warm ? ["EPSV"] : ["TYPE I", "EPSV"]);
        held.open();
        expect(await download).to.have.length(1000 - (rest ?? 0));
        await ftp.quit();
      }
    });

    it("commandWithEpsv decides per transfer: true writes the command with EPSV on a client without pipelining, false waits on one with it", async function () {
      const srv = await fixtures.server({ files: { "/f": patternFile(5000) } });
      for (const { pipelining, commandWithEpsv } of [
        { pipelining: false, commandWithEpsv: true },
        { pipelining: true, commandWithEpsv: false },
      ]) {
        const { ftp } = await client(srv, { pipelining });
        await ftp.retrbinary("RETR f", () => undefined);
        for (const verb of ["RETR f", "STOR up"]) {
          const held = holdNext(srv, "EPSV");
          const before = srv.commands.length;
          const done =
            verb === "RETR f"
              ? ftp.retrbinary(verb, () => undefined, { commandWithEpsv })
              : ftp.storbinary(verb, Buffer.from("uploaded"), { commandWithEpsv });
          await until(() => srv.commands.includes("EPSV", before), "EPSV reaching the server");
          if (commandWithEpsv) await until(() => srv.commands.length === before + 2, `${verb} reaching the server`);
          else await settle();
          expect(srv.commands.slice(before), JSON.stringify({ pipelining, verb })).to.deep.equal(
            commandWithEpsv ? ["EPSV", verb] : ["EPSV"],
          );
          held.open();
          expect(await done).to.match(/^226/);
        }
        expect(await ftp.size("up")).to.equal(8);
        await ftp.quit();
      }
    });

    it("writes the TYPE a transfer needs together with its EPSV and command, and closes the connection when that TYPE is refused", async function () {
      const srv = await fixtures.server({ files: { "/f": patternFile(3000) } });
      const { ftp } = await client(srv);
      await ftp.retrbinary("RETR f", () => undefined);
      const held = holdNext(srv, "TYPE");
      const before = srv.commands.length;
      const listing = ftp.nlst();
      await until(() => srv.commands.length === before + 3, "TYPE, EPSV and NLST reaching the server");
      expect(srv.commands.slice(before)).to.deep.equal(["TYPE A", "EPSV", "NLST"]);
      held.open();
      expect(await listing).to.deep.equal(["f"]);
      // Back to TYPE I the same way, and the bytes are right.
      expect((await collectBytes(ftp.retrbinary("RETR f"))).equals(patternBytes(0, 3000))).to.equal(true);
      expect(srv.commands.slice(-3)).to.deep.equal(["TYPE I", "EPSV", "RETR f"]);
      srv.once("TYPE", (s) => s.reply(504, "Not that one."));
      const error = await rejectionOf(ftp.nlst());
      expect(error).to.be.instanceOf(FtpPermError);
      expect(ftp.closed).to.equal(true);
    });

    it("when an EPSV sent with its command is refused (proftpd: 425 Address already in use) and so is the command, sends the command again over PASV", async function () {
      const srv = await fixtures.server({ files: { "/f": patternFile(2000) } });
      const { ftp } = await client(srv);
      await ftp.retrbinary("RETR f", () => undefined);
      srv.once("EPSV", (s) => s.reply(425, "EPSV: Address already in use"));
      srv.once("RETR", (s) => s.reply(425, "Use PORT or PASV first."));
      const before = srv.commands.length;
      expect((await collectBytes(ftp.retrbinary("RETR f"))).equals(patternBytes(0, 2000))).to.equal(true);
      expect(srv.commands.slice(before)).to.deep.equal(["EPSV", "RETR f", "PASV", "RETR f"]);
      expect(ftp.closed).to.equal(false);
      expect(await ftp.size("f")).to.equal(2000);
    });

    it("closes the connection when an EPSV sent with its command is refused but the command is not: the server may act on it in a mode nobody set up", async function () {
      const srv = await fixtures.server({ files: { "/f": "data" } });
      const { ftp } = await client(srv);
      await ftp.retrbinary("RETR f", () => undefined);
      srv.once("EPSV", (s) => s.reply(500, "Not any more."));
      srv.once("RETR", (s) => s.reply(150, "Opening data connection."));
      const error = await rejectionOf(ftp.retrbinary("RETR f", () => undefined));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(ftp.closed).to.equal(true);
    });
  });

  it("writes a session's first transfer's TYPE with its EPSV; an EPSV refused there goes on with PASV in that type, a refused TYPE closes the connection", async function () {
    const srv = await fixtures.server({ files: { "/f": patternFile(2000) } });
    const { ftp } = await client(srv);
    const type = watchOverlap(srv, "TYPE");
    srv.once("EPSV", (s) => s.reply(500, "EPSV not understood."));
    const before = srv.commands.length;
    expect((await collectBytes(ftp.retrbinary("RETR f"))).equals(patternBytes(0, 2000))).to.equal(true);
    // TYPE and EPSV in one write; the command waits for a reachable port (here PASV's).
    expect(type).to.deep.equal([true]);
    expect(srv.commands.slice(before)).to.deep.equal(["TYPE I", "EPSV", "PASV", "RETR f"]);
    const other = await client(srv);
    srv.once("TYPE", (s) => s.reply(504, "Not now."));
    const error = await rejectionOf(other.ftp.retrbinary("RETR f", () => undefined));
    expect(error).to.be.instanceOf(FtpPermError);
    // EPSV was answered in a type nobody set up: the connection is not guessed at.
    expect(other.ftp.closed).to.equal(true);
  });

  it("reads every reply of an exchange before failing it: a refused TYPE I fails size() and leaves SIZE's reply to nobody else", async function () {
    const srv = await fixtures.server({ files: { "/a": "123" } });
    const { ftp } = await client(srv);
    srv.once("TYPE", (s) => s.reply(504, "Not now."));
    const outcomes = await Promise.allSettled([ftp.size("a"), ftp.sendcmd("NOOP"), ftp.size("a")]);
    expect((outcomes[0] as PromiseRejectedResult).reason).to.be.instanceOf(FtpPermError);
    expect((outcomes[1] as PromiseFulfilledResult<string>).value).to.match(/^200/);
    // Written in the same burst, the second size() trusted the TYPE I to work; it runs in TYPE A here (the fixture allows it).
    expect((outcomes[2] as PromiseFulfilledResult<number>).value).to.equal(3);
    // Refused, the TYPE is unknown again: the next size() sends TYPE I first.
    const before = srv.commands.length;
    expect(await ftp.size("a")).to.equal(3);
    expect(srv.commands.slice(before)).to.deep.equal(["TYPE I", "SIZE a"]);
  });

  it("takes a pipelined command's final reply as its answer, past a 1xx", async function () {
    const srv = await fixtures.server();
    const { ftp } = await client(srv);
    srv.once("SITE", (s) => {
      s.reply(150, "Working on it.");
      s.reply(200, "Done.");
    });
    const [site, noop] = await Promise.all([ftp.sendcmd("SITE SLOW"), ftp.sendcmd("NOOP")]);
    expect(site).to.equal("200 Done.");
    expect(noop).to.match(/^200/);
  });

  it("works on FtpPool's clients made with FTP.create({ pipelining: true }): each task's burst is pipelined on its own connection", async function () {
    const srv = await fixtures.server({ files: { "/a": "1", "/b": "22", "/c": "333" } });
    const pool = new FtpPool({
      size: 2,
      connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", pipelining: true }),
    });
    // Each connection answers its first SIZE only once both bursts have reached the server whole.
    srv.handle("SIZE", async (s, arg) => {
      if (arg === "a") await until(() => srv.commands.filter((line) => line === "SIZE c").length === 2, "both bursts");
      await s.defaultHandler("SIZE", arg);
    });
    try {
      const sizes = await Promise.all(
        [0, 1].map(() => pool.use((ftp) => Promise.all([ftp.size("a"), ftp.size("b"), ftp.size("c"), ftp.pwd()]))),
      );
      expect(sizes).to.deep.equal([
        [1, 2, 3, "/"],
        [1, 2, 3, "/"],
      ]);
    } finally {
      await pool.close();
    }
  });

  it("pipelines over a TLS control connection, with PROT P transfers in their turn", async function () {
    const cert = await makeSelfSignedCert();
    const srv = await fixtures.server({
      tls: { key: cert.key, cert: cert.cert, requireSessionReuse: true },
      files: { "/a": "abc", "/b": patternFile(100_000) },
    });
    const wire: Wire = [];
    const ftp = new FTP_TLS({
      tls: { ca: cert.cert },
      timeout: 5000,
      pipelining: true,
      debugLevel: 1,
      logger: (line) => {
        if (line.startsWith("*cmd*")) wire.push(">");
        else if (line.startsWith("*resp*")) wire.push("<");
      },
    });
    try {
      await ftp.connect(srv.host, srv.port);
      await ftp.login("user", "pass");
      await ftp.prot_p();
      wire.length = 0;
      const held = holdNext(srv);
      const calls = Promise.all([
        ftp.sendcmd("NOOP"),
        ftp.size("a"),
        ftp.size("b"),
        ftp.pwd(),
        collectBytes(ftp.retrbinary("RETR b")),
        ftp.size("a"),
      ]);
      // NOOP, TYPE I, SIZE a, SIZE b, PWD: all written inside TLS before the first reply.
      await until(() => srv.commands.includes("PWD"), "the burst reaching the server");
      await settle();
      expect(wire).to.deep.equal([">", ">", ">", ">", ">"]);
      held.open();
      const [noop, a, b, dir, body, again] = await calls;
      expect([noop.slice(0, 3), a, b, dir, again]).to.deep.equal(["200", 3, 100_000, "/", 3]);
      expect(body.equals(patternBytes(0, 100_000))).to.equal(true);
    } finally {
      ftp.close();
    }
  });

  it("writes one command at a time without pipelining (the default)", async function () {
    const srv = await fixtures.server();
    const { ftp, wire } = await client(srv, { pipelining: false });
    const held = holdNext(srv);
    const calls = Promise.all([ftp.sendcmd("NOOP"), ftp.sendcmd("NOOP"), ftp.pwd()]);
    await until(() => srv.commands.includes("NOOP"), "the first NOOP");
    await settle();
    expect(wire).to.deep.equal(["> NOOP"]);
    held.open();
    await calls;
    expect(wire).to.deep.equal(["> NOOP", "< 200", "> NOOP", "< 200", "> PWD", "< 257"]);
  });

  it("close() inside a window rejects every written and unwritten call once", async function () {
    const srv = await fixtures.server();
    const { ftp } = await client(srv, { pipelineWindow: 2 });
    const held = holdNext(srv);
    const calls = Array.from({ length: 4 }, () => rejectionOf(ftp.sendcmd("NOOP")));
    await until(() => srv.commands.filter((line) => line === "NOOP").length === 2, "a full window");
    ftp.close();
    held.open();
    for (const error of await Promise.all(calls)) expect(error).to.be.instanceOf(FtpClosedError);
  });

  it("refuses a pipelineWindow that is not a positive integer", function () {
    for (const pipelineWindow of [0, -1, 1.5, NaN]) {
      expect(() => new FTP({ pipelining: true, pipelineWindow })).to.throw(RangeError, /pipelineWindow/);
    }
  });
});
