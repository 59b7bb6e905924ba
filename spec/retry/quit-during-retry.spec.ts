/**
 * quit() under `retry`: once it is called nothing reconnects and no new
 * attempt starts. Calls queued before it go on over the open connection;
 * a call whose connection drops then fails instead of waiting out a
 * backoff and running again on a new connection, and quit() settles at
 * once. The fixture counts the connections. (FtpPool.close() quits its
 * clients so: spec/pool/close-with-retry.spec.ts.)
 */
import { expect } from "chai";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpClosedError, FtpConnectionError } from "../../lib/index.js";
import type { RetryOptions } from "../../lib/index.js";
import { EscapeTrap, excess, handleCounts, settleIo, until } from "../faults/helpers.js";
import { errorOf, LONG, settles, SHORT } from "./settles.js";

describe("FTP.quit() under `retry`: nothing reconnects after it", function () {
  this.timeout(5000);
  let server: FixtureServer;
  let trap: EscapeTrap;
  let baseline: Map<string, number>;
  const clients: FTP[] = [];

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/f.bin": "0123456789" } });
    trap = new EscapeTrap();
    baseline = handleCounts();
  });

  afterEach(async () => {
    trap.release();
    for (const ftp of clients.splice(0)) ftp.close();
    await server.close();
  });

  async function client(retry: RetryOptions): Promise<FTP> {
    const ftp = new FTP({ host: server.host, port: server.port, user: "user", password: "pass", timeout: 5000, retry });
    clients.push(ftp);
    await ftp.ready;
    return ftp;
  }

  async function expectAllClosed(ftp: FTP): Promise<void> {
    expect(ftp.closed).to.equal(true);
    expect(await until(() => server.openConnections() === 0 && excess(baseline, handleCounts()).length === 0)).to.equal(true);
    await settleIo();
    expect(excess(baseline, handleCounts())).to.deep.equal([]);
    expect(trap.escaped.map(String)).to.deep.equal([]);
  }

  it("quit() as the running call's connection drops: the call fails with its error, quit() settles, no new connection", async () => {
    const ftp = await client(SHORT);
    let quitting: Promise<string> | undefined;
    server.once("PWD", (s) => {
      quitting = ftp.quit();
      s.drop();
    });
    expect(errorOf(await settles(ftp.pwd(), "pwd()"))).to.be.instanceOf(FtpConnectionError);
    // No connection is left to say QUIT on.
    expect(errorOf(await settles(quitting!, "quit()"))).to.be.instanceOf(FtpClosedError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.sessions).to.have.length(1);
    await expectAllClosed(ftp);
  });

  it("quit() while a retry waits in its backoff: the call rejects at once with FtpClosedError, no new connection", async () => {
    const ftp = await client(LONG);
    const waiting = new Promise<void>((resolve) => ftp.on("retry", () => resolve()));
    server.once("PWD", (s) => s.drop());
    const pwd = ftp.pwd();
    await waiting;
    const quitting = ftp.quit();
    expect(errorOf(await settles(pwd, "pwd()"))).to.be.instanceOf(FtpClosedError);
    expect((await settles(quitting, "quit()")).ok).to.equal(false);
    expect(server.sessions).to.have.length(1);
    await expectAllClosed(ftp);
  });

  it("quit() while a reconnect logs in: the new connection is closed, never logged in", async () => {
    const ftp = await client(SHORT);
    let quitting: Promise<string> | undefined;
    server.once("PWD", (s) => s.drop());
    server.once("USER", () => {
      quitting = ftp.quit();
    });
    // Both say why: the client is quitting (not that it gave up on the server).
    expect((errorOf(await settles(ftp.pwd(), "pwd()")) as Error).message).to.match(/quitting/);
    expect(await until(() => quitting !== undefined)).to.equal(true);
    expect((errorOf(await settles(quitting!, "quit()")) as Error).message).to.match(/quitting/);
    expect(server.sessions).to.have.length(2);
    expect(server.commands.filter((line) => line.startsWith("PASS"))).to.have.length(1);
    await expectAllClosed(ftp);
  });

  it("calls queued before quit() on a live connection still run, and QUIT follows them", async () => {
    const ftp = await client(SHORT);
    const size = ftp.size("/f.bin");
    const pwd = ftp.pwd();
    const quitting = ftp.quit();
    expect(await size).to.equal(10);
    expect(await pwd).to.equal("/");
    expect(await quitting).to.match(/^221/);
    expect(server.sessions).to.have.length(1);
    await expectAllClosed(ftp);
  });
});
