/**
 * Closing a pool of `retry` clients: once close() is called nothing
 * reconnects and no new attempt starts (see quit-during-retry.spec.ts for
 * one client). A task running on a live connection may finish there; a
 * task whose connection drops then fails instead of waiting out a backoff
 * and running again on a new connection; a client still being made stops
 * retrying. close() resolves with every socket closed, and none is opened
 * after it. The fixture counts the connections.
 */
import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpClosedError, FtpConnectionError, FtpPool } from "../../lib/index.js";
import type { FtpOptions, RetryOptions } from "../../lib/index.js";
import { EscapeTrap, excess, handleCounts, settleIo, until } from "../faults/helpers.js";
import { errorOf, LONG, settles, SHORT } from "../retry/settles.js";

describe("FtpPool.close() with `retry` clients: nothing reconnects after it", function () {
  // Each case would take 10 s (LONG's backoff) if close() waited for a retry.
  this.timeout(5000);
  let server: FixtureServer;
  let trap: EscapeTrap;
  let baseline: Map<string, number>;
  const pools: FtpPool[] = [];

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/f.bin": "0123456789" } });
    trap = new EscapeTrap();
    baseline = handleCounts();
  });

  afterEach(async () => {
    trap.release();
    for (const pool of pools.splice(0)) await pool.close();
    await server.close();
  });

  /** A pool whose clients log in with `retry`; `made` gets each client, for a 'retry' listener. */
  function pool(retry: RetryOptions, made: (ftp: FTP) => void = () => undefined, size = 1): FtpPool {
    const connect = async (): Promise<FTP> => {
      const ftp = new FTP({ timeout: 5000, retry } satisfies FtpOptions);
      made(ftp);
      try {
        await ftp.connect(server.host, server.port);
        await ftp.login("user", "pass");
      } catch (error) {
        ftp.close();
        throw error;
      }
      return ftp;
    };
    const p = new FtpPool({ size, connect });
    pools.push(p);
    return p;
  }

  /** close() resolved with no socket open on either side and nothing escaped. */
  async function expectAllClosed(): Promise<void> {
    // The client's side is closed when close() resolves; the server's side sees the FIN a moment later.
    expect(await until(() => server.openConnections() === 0 && excess(baseline, handleCounts()).length === 0)).to.equal(true);
    await settleIo();
    expect(excess(baseline, handleCounts())).to.deep.equal([]);
    expect(trap.escaped.map(String)).to.deep.equal([]);
  }

  it("close() as the running task's connection drops: no new connection, even with a backoff of 1 ms", async () => {
    const p = pool(SHORT);
    let closing: Promise<void> | undefined;
    server.once("PWD", (s) => {
      closing = p.close();
      s.drop();
    });
    const task = p.use((ftp) => ftp.pwd());
    expect(errorOf(await settles(task, "the task"))).to.be.instanceOf(FtpConnectionError);
    expect(await until(() => closing !== undefined)).to.equal(true);
    expect((await settles(closing!, "close()")).ok).to.equal(true);
    // Longer than every backoff SHORT could draw: a reconnect would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.sessions).to.have.length(1);
    expect(server.commands.filter((line) => line.startsWith("PWD"))).to.have.length(1);
    await expectAllClosed();
  });

  it("close() as the running task's connection drops resolves at once instead of after the retry's backoff", async () => {
    const p = pool(LONG);
    let closing: Promise<void> | undefined;
    server.once("PWD", (s) => {
      closing = p.close();
      s.drop();
    });
    const task = p.use((ftp) => ftp.pwd());
    expect((await settles(task, "the task")).ok).to.equal(false);
    expect((await settles(closing!, "close()")).ok).to.equal(true);
    expect(server.sessions).to.have.length(1);
    await expectAllClosed();
  });

  it("close() while a task's retry waits in its backoff ends the wait: the task rejects, close() resolves, no connection is made", async () => {
    let retrying!: () => void;
    const waiting = new Promise<void>((resolve) => (retrying = resolve));
    const p = pool(LONG, (ftp) => ftp.on("retry", () => retrying()));
    server.once("PWD", (s) => s.drop());
    const task = p.use((ftp) => ftp.pwd());
    await waiting;
    expect((await settles(p.close(), "close()")).ok).to.equal(true);
    expect(errorOf(await settles(task, "the task"))).to.be.instanceOf(FtpClosedError);
    expect(server.sessions).to.have.length(1);
    await expectAllClosed();
  });

  it("close() while a task's reconnect logs in: that connection is closed, close() resolves with nothing open", async () => {
    const p = pool(SHORT);
    let closing: Promise<void> | undefined;
    server.once("PWD", (s) => s.drop());
    // The first session's USER is the pool's connect; the second is the reconnect's.
    server.once("USER", (s, arg) => s.defaultHandler("USER", arg));
    server.once("USER", () => {
      closing = p.close();
    });
    const task = p.use((ftp) => ftp.pwd());
    expect((await settles(task, "the task")).ok).to.equal(false);
    expect(await until(() => closing !== undefined)).to.equal(true);
    expect((await settles(closing!, "close()")).ok).to.equal(true);
    expect(server.sessions).to.have.length(2);
    expect(server.commands.filter((line) => line.startsWith("PASS"))).to.have.length(1);
    await expectAllClosed();
  });

  it("close() while a client is still connecting, in its first connect's backoff: the use() rejects and no connection is made after it", async () => {
    let retrying!: () => void;
    const waiting = new Promise<void>((resolve) => (retrying = resolve));
    // The first connection is dropped before its welcome: a transient failure, retried after LONG's backoff.
    server.onConnect((s) => {
      server.onConnect(undefined);
      s.drop();
    });
    const p = pool(LONG, (ftp) => ftp.on("retry", () => retrying()));
    const task = p.use((ftp) => ftp.pwd());
    await waiting;
    expect((await settles(p.close(), "close()")).ok).to.equal(true);
    const error = errorOf(await settles(task, "the use()")) as { code?: string };
    expect(error.code).to.equal("ERR_FTP_POOL_CLOSED");
    expect(server.sessions).to.have.length(1);
    await expectAllClosed();
  });

  it("close() while a client's first connection waits for its welcome: that connection is closed at once", async () => {
    // The welcome never comes: without close() the connect would wait for its timeout (5 s).
    server.onConnect(() => undefined);
    const p = pool(LONG);
    const task = p.use((ftp) => ftp.pwd());
    expect(await until(() => server.sessions.length === 1)).to.equal(true);
    expect((await settles(p.close(), "close()")).ok).to.equal(true);
    expect((await settles(task, "the use()")).ok).to.equal(false);
    expect(server.sessions).to.have.length(1);
    await expectAllClosed();
  });

  it("a `retry` client made in the connect function's context after it returned is not the pool's: close() leaves it alone", async () => {
    let stray: Promise<FTP> | undefined;
    const p = new FtpPool({
      size: 1,
      connect: async () => {
        const ftp = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass", retry: SHORT });
        // Started from inside the call, made after it returned.
        stray = new Promise((resolve) => setTimeout(() => resolve(new FTP({ retry: SHORT })), 10));
        return ftp;
      },
    });
    pools.push(p);
    expect(await p.use((ftp) => ftp.pwd())).to.equal("/");
    const other = await stray!;
    await p.close();
    server.once("PWD", (s) => s.drop());
    await other.connect(server.host, server.port);
    await other.login("user", "pass");
    // Its retry still works: the dropped PWD goes again on a new connection.
    expect(await other.pwd()).to.equal("/");
    await other.quit();
    await expectAllClosed();
  });

  it("a `retry` client that the connect function makes after close() never connects", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let made: FTP | undefined;
    const p = new FtpPool({
      size: 1,
      connect: async () => {
        await gate;
        made = new FTP({ host: server.host, port: server.port, user: "user", password: "pass", timeout: 5000, retry: LONG });
        try {
          await made.ready;
        } catch (error) {
          made.close();
          throw error;
        }
        return made;
      },
    });
    pools.push(p);
    const task = p.use((ftp) => ftp.pwd());
    expect((await settles(p.close(), "close()")).ok).to.equal(true);
    open();
    const error = errorOf(await settles(task, "the use()")) as { code?: string };
    expect(error.code).to.equal("ERR_FTP_POOL_CLOSED");
    // The use() rejected at close(); the client its connect made later is closed as it comes.
    expect(await until(() => made?.closed === true), "the late client closed").to.equal(true);
    await settleIo();
    expect(server.sessions).to.have.length(0);
    await expectAllClosed();
  });

  it("a task running on a live connection at close() finishes there; the client then quits", async () => {
    const p = pool(SHORT);
    let closing: Promise<void> | undefined;
    server.once("SIZE", async (s, arg) => {
      closing = p.close();
      await s.defaultHandler("SIZE", arg);
    });
    expect(await p.use((ftp) => ftp.size("/f.bin"))).to.equal(10);
    expect((await settles(closing!, "close()")).ok).to.equal(true);
    expect(server.commands.at(-1)).to.equal("QUIT");
    expect(server.sessions).to.have.length(1);
    await expectAllClosed();
  });
});
