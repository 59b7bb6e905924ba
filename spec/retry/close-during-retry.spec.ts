/**
 * Nothing reconnects after close(). Under `retry`, close() called while a
 * retry waits to reconnect (from the 'retry' listener, or from anywhere
 * while the backoff runs), while the new connection is being made, or while
 * it logs in, ends the retry: the pending call rejects with FtpClosedError,
 * and a connection that completes after close() is destroyed at once.
 * The fixture counts the connections and logins that happen after it.
 */
import { expect } from "chai";
import * as net from "node:net";
import { FtpClosedError, FTP } from "../../lib/index.js";
import type { FtpOptions } from "../../lib/index.js";
import { FaultCase, rejectsWith, settleIo, until } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };

describe("close() during a retry: nothing reconnects after it", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  function client(options: FtpOptions = {}): FTP {
    return fc.client({ retry: FAST, ...options });
  }

  /** Logins the fixture saw after index `from` of its command log. */
  const loginsSince = (from: number): string[] => fc.srv.commands.slice(from).filter((line) => line.startsWith("USER"));

  it("close() from the 'retry' listener: the call rejects with FtpClosedError and no new connection is made", async () => {
    fc = await FaultCase.start();
    const ftp = client();
    await ftp.ready;
    let retries = 0;
    ftp.on("retry", () => {
      retries++;
      ftp.close();
    });
    fc.srv.once("PWD", (s) => s.drop());
    const mark = fc.srv.commands.length;
    await rejectsWith(ftp.pwd(), FtpClosedError);
    // Longer than every backoff the policy could draw: a reconnect would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(retries).to.equal(1);
    expect(fc.srv.sessions).to.have.length(1);
    expect(loginsSince(mark)).to.deep.equal([]);
    expect(ftp.closed).to.equal(true);
    await fc.expectNoLeaks();
  });

  it("close() during a long backoff ends the wait at once, and calls queued behind it reject too", async function () {
    // A backoff of ten seconds that close() must cut short (mocha's limit is lower).
    this.timeout(5000);
    fc = await FaultCase.start();
    const ftp = client({ retry: { attempts: 3, minDelay: 10_000, maxDelay: 10_000 } });
    await ftp.ready;
    const waiting = new Promise<void>((resolve) => ftp.on("retry", () => resolve()));
    fc.srv.once("PWD", (s) => s.drop());
    const pwd = rejectsWith(ftp.pwd(), FtpClosedError);
    const queued = rejectsWith(ftp.size("/f"), FtpClosedError);
    await waiting;
    ftp.close();
    await pwd;
    await queued;
    expect(fc.srv.sessions).to.have.length(1);
    await fc.expectNoLeaks();
  });

  it("close() during the first connect's backoff: the connect rejects with FtpClosedError, one connection made", async () => {
    fc = await FaultCase.start();
    // The first connection is dropped before its welcome: a transient failure, retried.
    fc.srv.onConnect((s) => s.drop());
    const ftp = client();
    ftp.on("retry", () => ftp.close());
    await rejectsWith(ftp.ready, FtpClosedError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fc.srv.sessions).to.have.length(1);
    await fc.expectNoLeaks();
  });

  it("close() while the new connection waits for its welcome: that connection is closed at once, never logged in", async () => {
    fc = await FaultCase.start();
    const ftp = client();
    await ftp.ready;
    fc.srv.onConnect(() => {
      // The reconnect's TCP connection is up; the welcome never comes before close().
      ftp.close();
    });
    fc.srv.once("PWD", (s) => s.drop());
    const mark = fc.srv.commands.length;
    await rejectsWith(ftp.pwd(), FtpClosedError);
    expect(fc.srv.sessions).to.have.length(2);
    expect(await until(() => fc.srv.sessions[1].closed)).to.equal(true);
    expect(loginsSince(mark)).to.deep.equal([]);
    await fc.expectNoLeaks();
  });

  it("close() while the new connection logs in: the call rejects with FtpClosedError and the connection is closed", async () => {
    fc = await FaultCase.start();
    const ftp = client();
    await ftp.ready;
    fc.srv.once("PWD", (s) => s.drop());
    fc.srv.once("USER", async (s, arg) => {
      ftp.close();
      await s.defaultHandler("USER", arg);
    });
    await rejectsWith(ftp.pwd(), FtpClosedError);
    expect(await until(() => fc.srv.sessions.every((s) => s.closed))).to.equal(true);
    expect(fc.srv.sessions).to.have.length(2);
    expect(fc.srv.commands.filter((line) => line.startsWith("PASS"))).to.have.length(1);
    await fc.expectNoLeaks();
  });

  it("a reconnect whose connect completes after close() is destroyed at once", async () => {
    fc = await FaultCase.start();
    let release: (() => void) | undefined;
    let late: net.Socket | undefined;
    let made = 0;
    const createConnection = (): net.Socket | Promise<net.Socket> => {
      const connect = (): net.Socket => net.connect({ host: fc.srv.host, port: fc.srv.port });
      // The reconnect's connection is held back until after close().
      if (++made === 1) return connect();
      return new Promise((resolve) => {
        release = () => resolve((late = connect()));
      });
    };
    const ftp = client({ createConnection });
    await ftp.ready;
    fc.srv.once("PWD", (s) => s.drop());
    const pwd = rejectsWith(ftp.pwd(), FtpClosedError);
    expect(await until(() => release !== undefined)).to.equal(true);
    ftp.close();
    release!();
    await pwd;
    // The late socket is destroyed as it comes, connected or not: if the server saw it, it is closed, unused.
    expect(await until(() => late?.destroyed === true)).to.equal(true);
    expect(await until(() => fc.srv.sessions.slice(1).every((session) => session.closed))).to.equal(true);
    expect(fc.srv.commands.filter((line) => line.startsWith("USER"))).to.have.length(1);
    await settleIo();
    await fc.expectNoLeaks();
  });
});
