/**
 * Issue 24: connection limits. Shared hosts allow a user 2-4 connections;
 * the next one gets `421 Too many connections` (or proftpd's `530 Sorry,
 * the maximum number of clients ...`). A pool larger than that shrinks to
 * the clients the server took and finishes the job on them, never holding
 * more sessions than allowed; with no client at all the refusal is the error.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { limitSessions } from "../../fixtures/session-limit.js";
import { FTP, FtpPermError, FtpPool, FtpTempError, isConnectionLimit } from "../../lib/index.js";

/** A tree of 40 files in 4 directories, each file's bytes its own size of the pattern. */
function tree(): Record<string, ReturnType<typeof patternFile>> {
  const files: Record<string, ReturnType<typeof patternFile>> = {};
  for (let d = 0; d < 4; d++) for (let f = 0; f < 10; f++) files[`/tree/d${d}/f${f}.bin`] = patternFile(1000 + 997 * (d * 10 + f));
  return files;
}

describe("FtpPool against a server's connection limit", function () {
  this.timeout(10_000);
  let server: FixtureServer;
  let dir: string;
  const pools: FtpPool[] = [];

  beforeEach(async () => {
    server = await FixtureServer.start({ files: tree() });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pool-limit-"));
  });

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function pool(size: number, options: { debug?: string[] } = {}): FtpPool {
    const connect = async (): Promise<FTP> => {
      const ftp = new FTP({ timeout: 5000, logger: (line, client) => options.debug?.push(`${client} ${line}`), debugLevel: 1 });
      try {
        await ftp.connect(server.host, server.port);
        await ftp.login("user", "pass");
      } catch (error) {
        ftp.close();
        throw error;
      }
      return ftp;
    };
    const made = new FtpPool({ size, connect });
    pools.push(made);
    return made;
  }

  /** Every file of the tree arrived under `local`, byte for byte. */
  function expectTree(local: string): void {
    for (const [path, file] of Object.entries(tree())) {
      const bytes = readFileSync(join(local, path.slice("/tree/".length)));
      expect(bytes.length, path).to.equal(file.size);
      expect(patternMismatch(bytes), path).to.equal(-1);
    }
  }

  for (const allowed of [1, 3]) {
    it(`downloadDir on a pool of 8 against a server allowing ${allowed} completes, byte-exact, with never more than ${allowed} sessions open`, async () => {
      const limit = limitSessions(server, allowed);
      const debug: string[] = [];
      const p = pool(8, { debug });
      const result = await p.downloadDir("/tree", join(dir, "tree"));
      expect(result.transferred).to.equal(40);
      expectTree(join(dir, "tree"));
      expect(limit.peak).to.be.at.most(allowed);
      expect(limit.refused).to.be.at.least(1);
      expect(p.capacity).to.equal(allowed);
      expect(debug.some((line) => /\*note\* .*allows no more connections.*421 Too many connections/.test(line))).to.equal(true);
    });
  }

  it("stops connecting once it has shrunk: a second tree transfer is refused nothing", async () => {
    const limit = limitSessions(server, 2);
    const p = pool(8);
    await p.downloadDir("/tree", join(dir, "one"));
    const refused = limit.refused;
    await p.downloadDir("/tree", join(dir, "two"));
    expectTree(join(dir, "two"));
    expect(limit.refused).to.equal(refused);
    expect(limit.peak).to.be.at.most(2);
  });

  it("shrinks on proftpd's 530 after login as on a 421", async () => {
    // Server: the third concurrent session gets its welcome, and then 530 to PASS.
    const admitted = new Set<unknown>();
    let peak = 0;
    server.handle("PASS", async (s, arg) => {
      if (admitted.size >= 2) return s.reply(530, "Sorry, the maximum number of clients (2) for this user are already connected.");
      admitted.add(s);
      peak = Math.max(peak, admitted.size);
      s.socket.once("close", () => admitted.delete(s));
      await s.defaultHandler("PASS", arg);
    });
    const p = pool(8);
    await p.downloadDir("/tree", join(dir, "tree"));
    expectTree(join(dir, "tree"));
    expect(peak).to.be.at.most(2);
    expect(p.capacity).to.equal(2);
  });

  it("rejects with the 421 when the server takes no connection at all", async () => {
    limitSessions(server, 0);
    const p = pool(4);
    const error = await p.use(async () => "never").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FtpTempError);
    expect((error as FtpTempError).replyCode).to.equal(421);
    expect(p.capacity).to.equal(4);
  });

  it("a refusal that names no limit is the error of the use() that asked for it, as before", async () => {
    // The first session logs in; later ones get 530 Login incorrect.
    let sessions = 0;
    server.handle("PASS", async (s, arg) => {
      if (++sessions > 1) return s.reply(530, "Login incorrect.");
      await s.defaultHandler("PASS", arg);
    });
    const p = pool(2);
    let release!: () => void;
    const holding = p.use(() => new Promise<void>((resolve) => (release = resolve)));
    const error = await p.use(async () => "never").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FtpPermError);
    expect(p.capacity).to.equal(2);
    release();
    await holding;
  });
});

describe("FTP.create with a refused login", () => {
  it("closes the connection, which would otherwise count against the server's limit", async () => {
    const server = await FixtureServer.start();
    try {
      const error = await FTP.create({ host: server.host, port: server.port, user: "user", password: "wrong" }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(FtpPermError);
      const deadline = Date.now() + 2000;
      while (!server.lastSession!.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(server.lastSession!.closed).to.equal(true);
    } finally {
      await server.close();
    }
  });
});

describe("isConnectionLimit", () => {
  it("knows the limit refusals of vsftpd, pure-ftpd, proftpd and others, and nothing else", () => {
    const limits = [
      "421 There are too many connected users, please try later.",
      "421 There are too many connections from your internet address.",
      "421 Too many connections (3) from this IP",
      "421 1 users (the maximum) are already logged in, sorry",
      "530 Sorry, the maximum number of clients (3) for this user are already connected.",
      "530 Too many users - please try again later.",
      "550 Connection limit reached",
      "421 Service not available, closing control connection.",
    ];
    const others = ["530 Login incorrect.", "550 No such file.", "451 Local error in processing.", "500 Unknown command."];
    for (const text of limits) expect(isConnectionLimit(errorFor(text)), text).to.equal(true);
    for (const text of others) expect(isConnectionLimit(errorFor(text)), text).to.equal(false);
    expect(isConnectionLimit(new Error("too many"))).to.equal(false);
  });
});

function errorFor(text: string): Error {
  return text.startsWith("4") ? new FtpTempError(text) : new FtpPermError(text);
}
