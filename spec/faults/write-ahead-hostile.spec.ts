/**
 * Tree downloads written ahead of their turn (lib/transfer-ahead.ts) on
 * servers whose welcome names one that holds commands during a transfer,
 * and that then misbehave: whatever goes wrong in the transfer in front,
 * the file written behind it is fetched again (or fails), never lost to a
 * failure that was not its own, and nothing wrong is put in place.
 */
import { expect } from "chai";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { patternBytes, type FixtureServer, type Session } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPool, FtpSizeMismatchError } from "../../lib/index.js";
import { rejectionOf, until, useFixtures } from "../core/helpers.js";

/** vsftpd's welcome: downloads are written ahead on such a server. */
const VSFTPD_WELCOME = "220 (vsFTPd 3.0.3)";

/** The tree /t: f0..f3, each of its own length. */
const FILES: Record<string, Buffer> = {};
for (let i = 0; i < 4; i++) FILES[`/t/f${i}`] = patternBytes(0, 1000 + i);

describe("downloads written ahead, on servers that do not keep to their welcome", function () {
  const fixtures = useFixtures();
  let local: string;

  beforeEach(async function () {
    local = await mkdtemp(join(tmpdir(), "ftpstream-ahead-hostile-"));
  });

  afterEach(async function () {
    await rm(local, { recursive: true, force: true });
  });

  /**
   * RETR of f1 goes as `front` says, once the client has written the next
   * RETR behind it (the fixture, as vsftpd, holds it unanswered meanwhile);
   * every other RETR as usual.
   */
  function scriptFront(srv: FixtureServer, front: (s: Session) => Promise<void>): void {
    let done = false;
    srv.handle("RETR", async (s, arg) => {
      if (done || !arg.endsWith("/f1")) return s.defaultHandler("RETR", arg);
      done = true;
      s.reply(150, "Opening BINARY mode data connection (1001 bytes).");
      const from = srv.commands.lastIndexOf(`RETR ${arg}`) + 1;
      await srv.waitForCommand("RETR", { from, timeoutMs: 2000 });
      await front(s);
    });
  }

  /** pool.downloadDir("/t", local, { delete: true }) over one connection; the failed paths. */
  async function mirror(srv: FixtureServer): Promise<string[]> {
    const pool = new FtpPool({ size: 1, connect: () => fixtures.client(srv) });
    try {
      const error = await rejectionOf(pool.downloadDir("/t", local, { delete: true }));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      return (error as FtpDirTransferError).failures.map((failure) => failure.path);
    } finally {
      await pool.close();
    }
  }

  /** Every file but f1 is in place with its own bytes, and nothing else is there (no part file). */
  async function expectAllButF1(): Promise<void> {
    expect((await readdir(local)).sort()).to.deep.equal(["f0", "f2", "f3"]);
    for (const i of [0, 2, 3]) expect((await readFile(join(local, `f${i}`))).equals(FILES[`/t/f${i}`]), `f${i}`).to.equal(true);
  }

  it("fetches again the file written behind one whose transfer got a 500 for it and dropped it (pure-ftpd): it read the 226 in front as its 229", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: FILES });
    scriptFront(srv, async (s) => {
      // As pure-ftpd during a transfer: "500 Unknown command" for what was written behind, which is dropped.
      s.reply(500, "Unknown command.");
      srv.once("EPSV", () => undefined);
      srv.once("RETR", () => undefined);
      await s.sendData(patternBytes(0, 1001));
      s.reply(226, "Transfer complete.");
    });
    // f1 read the 500 as its own final reply: it fails (nothing says whose it was), and only it.
    expect(await mirror(srv)).to.deep.equal(["f1"]);
    await expectAllButF1();
  });

  it("drops both, and fetches them again, when the EPSV written behind is answered before the 150 in front (pyftpdlib): the one in front took it for a 2xx to skip", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: FILES });
    // On the session that answers early, the EPSV and RETR behind f1 get nothing more: their answer came already.
    let early: Session | undefined;
    for (const verb of ["EPSV", "RETR"]) {
      srv.handle(verb, async (s, arg) => {
        if (s === early) return;
        if (verb === "RETR" && arg.endsWith("/f1") && !early) {
          early = s;
          const from = srv.commands.lastIndexOf(`RETR ${arg}`) + 1;
          await srv.waitForCommand("RETR", { from, timeoutMs: 2000 });
          s.reply(229, "Entering Extended Passive Mode (|||1|)");
        }
        await s.defaultHandler(verb, arg).catch(() => undefined);
      });
    }
    // No timeout: the client must not wait for the 229 the one in front read (it would wait for ever).
    const pool = new FtpPool({ size: 1, connect: () => fixtures.client(srv, { timeout: 0 }) });
    try {
      await pool.downloadDir("/t", local, { delete: true });
    } finally {
      await pool.close();
    }
    expect((await readdir(local)).sort()).to.deep.equal(["f0", "f1", "f2", "f3"]);
    for (const [path, bytes] of Object.entries(FILES))
      expect((await readFile(join(local, path.slice(3)))).equals(bytes), path).to.equal(true);
  });

  it("fetches again the file put on a connection whose server hung up during the transfer in front: that failure is not its own", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: FILES });
    scriptFront(srv, async (s) => s.drop());
    expect(await mirror(srv)).to.deep.equal(["f1"]);
    await expectAllButF1();
  });

  it("writes no download ahead behind an upload asked to write ahead: the upload's SIZE (verifySize) read the 229 of that download as its answer, and a short upload passed", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: { "/warm": patternBytes(0, 10), "/b": patternBytes(0, 5000) } });
    // The server keeps half of what it received, and says 226.
    srv.once("STOR", async (s, arg) => {
      s.reply(150, "Ok to send data.");
      const received = await s.receiveAll();
      s.vfs.set(s.resolvePath(arg), received.subarray(0, received.length / 2));
      s.reply(226, "Transfer complete.");
    });
    const ftp = await fixtures.client(srv);
    // The session's first EPSV port is reached before a command goes with EPSV (and so before anything is written ahead).
    await ftp.retrbinary("RETR warm", () => undefined);
    const careless = { writeAhead: true, commandWithEpsv: true } as const;
    const upload = ftp.storbinary("STOR up", Readable.from([Buffer.alloc(10000, 7)]), { ...careless, verifySize: true });
    const chunks: Buffer[] = [];
    const download = ftp.retrbinary("RETR b", (chunk) => void chunks.push(chunk), careless);
    const error = await rejectionOf(upload);
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect((error as FtpSizeMismatchError).received).to.equal(5000);
    await download;
    expect(Buffer.concat(chunks).equals(patternBytes(0, 5000))).to.equal(true);
  });

  it("writes nothing ahead behind a download being aborted: it came between ABOR and the NOOP, whose 200 the abort then waited for behind it", async function () {
    const srv = await fixtures.server({ welcome: VSFTPD_WELCOME, files: { "/warm": patternBytes(0, 10), "/b": patternBytes(0, 5000) } });
    const ftp = await fixtures.client(srv);
    await ftp.retrbinary("RETR warm", () => undefined);
    // a's transfer and its ABOR are answered only once the client has written b.
    const bWritten = (): Promise<unknown> =>
      srv.waitForCommand("RETR", { from: srv.commands.lastIndexOf("RETR a") + 1, timeoutMs: 300 }).catch(() => undefined);
    srv.once("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection (10000000 bytes).");
      (await s.openData()).write(Buffer.alloc(100_000));
      await bWritten();
      await s.closeData();
      s.reply(426, "Failure writing network stream.");
    });
    srv.once("ABOR", async (s) => {
      await bWritten();
      await s.defaultHandler("ABOR", "");
    });
    const controller = new AbortController();
    const careless = { writeAhead: true, commandWithEpsv: true } as const;
    const a = rejectionOf(ftp.retrbinary("RETR a", () => controller.abort(), { ...careless, signal: controller.signal }));
    await until(() => srv.commands.includes("ABOR"), "ABOR sent");
    const chunks: Buffer[] = [];
    const b = ftp.retrbinary("RETR b", (chunk) => void chunks.push(chunk), careless);
    expect((await a).name).to.equal("AbortError");
    await b;
    expect(Buffer.concat(chunks).equals(patternBytes(0, 5000))).to.equal(true);
    expect(ftp.closed).to.equal(false);
  });

  it("writes nothing ahead behind a download going again after its EPSV and RETR were refused (IPv6 keeps EPSV): it came between that one's EPSV and RETR", async function () {
    const srv = await fixtures.server({
      host: "::1",
      welcome: VSFTPD_WELCOME,
      files: { "/warm": patternBytes(0, 10), "/a": patternBytes(0, 3000), "/b": patternBytes(0, 5000) },
    });
    const ftp = await fixtures.client(srv);
    await ftp.retrbinary("RETR warm", () => undefined);
    const careless = { writeAhead: true, commandWithEpsv: true } as const;
    const b: Buffer[] = [];
    let fetchB: Promise<unknown> | undefined;
    // proftpd now and then: 425 for EPSV when its passive port is taken, and so for the RETR behind it.
    srv.once("EPSV", (s) => s.reply(425, "Unable to build data connection: Address already in use"));
    srv.once("RETR", (s) => s.reply(425, "Use PORT or PASV first."));
    // b is asked for while a goes again, with EPSV alone.
    srv.once("EPSV", async (s) => {
      fetchB = ftp.retrbinary("RETR b", (chunk) => void b.push(chunk), careless);
      await s.defaultHandler("EPSV", "");
    });
    const a: Buffer[] = [];
    await ftp.retrbinary("RETR a", (chunk) => void a.push(chunk), careless);
    await fetchB;
    expect(Buffer.concat(a).equals(patternBytes(0, 3000)), "a").to.equal(true);
    expect(Buffer.concat(b).equals(patternBytes(0, 5000)), "b").to.equal(true);
  });
});
