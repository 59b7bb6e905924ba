/**
 * A server's connection limit against `retry` clients. The pool shrinks
 * when the server refuses one more connection (connection-limit.spec.ts);
 * a client its `connect` function is making does not retry that refusal
 * while the pool has other clients, so the pool learns of it at once
 * instead of after a backoff per attempt. A pool with no other client, a
 * client already in the pool (a reconnect), and a client outside any
 * pool retry it as `retry` says: the server may free a place.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternFile, patternMismatch, type Session } from "../../fixtures/server.js";
import { limitSessions } from "../../fixtures/session-limit.js";
import { FTP, FtpPool, isConnectionLimit } from "../../lib/index.js";
import type { RetryEvent, RetryOptions } from "../../lib/index.js";

/** A tree of 12 files in 3 directories. */
function tree(): Record<string, ReturnType<typeof patternFile>> {
  const files: Record<string, ReturnType<typeof patternFile>> = {};
  for (let d = 0; d < 3; d++) for (let f = 0; f < 4; f++) files[`/tree/d${d}/f${f}.bin`] = patternFile(500 + 331 * (d * 4 + f));
  return files;
}

/** Backoffs short enough that a retried refusal would show within the transfer. */
const RETRY: RetryOptions = { attempts: 6, minDelay: 20, maxDelay: 40 };

describe("FtpPool with `retry` clients against a server's connection limit", function () {
  this.timeout(10_000);
  let server: FixtureServer;
  let dir: string;
  const pools: FtpPool[] = [];
  const clients: FTP[] = [];
  /** Every 'retry' event of every client made here. */
  let retries: RetryEvent[];
  /** Told of each of them too. */
  let onRetry: (event: RetryEvent) => void;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: tree() });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pool-limit-retry-"));
    retries = [];
    onRetry = () => undefined;
  });

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close();
    for (const ftp of clients.splice(0)) ftp.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client with RETRY whose 'retry' events go to `retries`, connected and logged in. */
  async function login(): Promise<FTP> {
    const ftp = new FTP({ timeout: 5000, retry: RETRY });
    clients.push(ftp);
    ftp.on("retry", (event) => {
      retries.push(event);
      onRetry(event);
    });
    try {
      await ftp.connect(server.host, server.port);
      await ftp.login("user", "pass");
    } catch (error) {
      ftp.close();
      throw error;
    }
    return ftp;
  }

  function pool(size: number): FtpPool {
    const made = new FtpPool({ size, connect: login });
    pools.push(made);
    return made;
  }

  const limitRetries = (): RetryEvent[] => retries.filter((event) => isConnectionLimit(event.error));

  function expectTree(local: string): void {
    for (const [path, file] of Object.entries(tree())) {
      const bytes = readFileSync(join(local, path.slice("/tree/".length)));
      expect(bytes.length, path).to.equal(file.size);
      expect(patternMismatch(bytes), path).to.equal(-1);
    }
  }

  it("a 421 instead of the welcome is not retried: downloadDir on a pool of 4 against a server allowing 2 shrinks at once", async () => {
    const limit = limitSessions(server, 2);
    const p = pool(4);
    const result = await p.downloadDir("/tree", join(dir, "tree"));
    expect(result.transferred).to.equal(12);
    expectTree(join(dir, "tree"));
    expect(limitRetries(), "retries of a refusal").to.deep.equal([]);
    // Each of the two connections past the limit was refused once, never asked again.
    expect(limit.refused).to.equal(2);
    expect(limit.peak).to.be.at.most(2);
    expect(p.capacity).to.equal(2);
  });

  it("a 421 to the third login is not retried: the pool goes on with the two connections it has", async () => {
    // Every connection gets its welcome; a login while two sessions are logged in gets 421, and is hung up on.
    const admitted = new Set<Session>();
    let refused = 0;
    server.handle("USER", async (s, arg) => {
      if (admitted.size >= 2) {
        refused++;
        s.reply(421, "Too many users logged in, closing control connection.");
        s.close();
        return;
      }
      admitted.add(s);
      s.socket.once("close", () => admitted.delete(s));
      await s.defaultHandler("USER", arg);
    });
    const p = pool(4);
    const result = await p.downloadDir("/tree", join(dir, "tree"));
    expect(result.transferred).to.equal(12);
    expectTree(join(dir, "tree"));
    expect(limitRetries(), "retries of a refusal").to.deep.equal([]);
    expect(refused).to.equal(2);
    expect(server.sessions).to.have.length(4);
    expect(p.capacity).to.equal(2);
  });

  it("with no other client the pool's refused connection is retried, as `retry` says, and gets in once a place is free", async () => {
    limitSessions(server, 1);
    // Another program holds the server's only place until the first retry.
    const holder = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });
    clients.push(holder);
    onRetry = () => holder.close();
    const p = pool(2);
    expect(await p.use((ftp) => ftp.pwd())).to.equal("/");
    expect(limitRetries().length).to.be.at.least(1);
    expect(limitRetries()[0].error.replyCode).to.equal(421);
  });

  it("a client already in the pool retries a 421 when it reconnects (the server may not have seen the old session go yet)", async () => {
    const p = pool(1);
    expect(await p.use((ftp) => ftp.pwd())).to.equal("/");
    // The connection drops; the reconnect is refused once with 421, then let in.
    server.once("PWD", (s) => s.drop());
    server.onConnect((s) => {
      server.onConnect(undefined);
      s.send("421 Too many connections (1) from this IP\r\n");
      s.close();
    });
    expect(await p.use((ftp) => ftp.pwd())).to.equal("/");
    expect(limitRetries()).to.have.length(1);
    expect(server.sessions).to.have.length(3);
  });

  it("a client outside any pool retries a 421 at connect, as before", async () => {
    limitSessions(server, 1);
    const holder = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });
    clients.push(holder);
    const ftp = new FTP({ host: server.host, port: server.port, user: "user", password: "pass", timeout: 5000, retry: RETRY });
    clients.push(ftp);
    ftp.on("retry", (event) => {
      retries.push(event);
      holder.close();
    });
    await ftp.ready;
    expect(await ftp.pwd()).to.equal("/");
    expect(limitRetries().length).to.be.at.least(1);
  });
});
