/**
 * The deadlines of a transfer's waits that no longer have a timer of their
 * own: a data connection's connect (one timer per session, shared by its
 * connects one after another: connect.ts, SharedDeadlines) and the final
 * reply once the data has closed (the control connection's reply timer:
 * ControlConnection.setDeadline). Each wait still gets its whole timeout,
 * from its own start, whatever an earlier wait left pending; and a stray
 * 1xx before the final reply does not start it again.
 */
import { expect } from "chai";
import { FtpTimeoutError } from "../../lib/index.js";
import { patternFile, type FixtureServer } from "../../fixtures/server.js";
import { HangingListener } from "./hanging-listener.js";
import { collect, Harness, rejection } from "./helpers.js";

const TIMEOUT = 400;

describe("transfer deadlines on shared timers", function () {
  this.timeout(8000);
  const harness = new Harness();
  let srv: FixtureServer;
  let listener: HangingListener | undefined;
  let strays: NodeJS.Timeout | undefined;

  beforeEach(async () => {
    srv = await harness.server({ files: { "/f.bin": patternFile(1000) } });
  });
  afterEach(() => {
    clearInterval(strays);
    listener?.close();
    listener = undefined;
    return harness.close();
  });

  it("a data connection's connect gets the whole timeout from its own start, not from an earlier transfer's", async () => {
    listener = await HangingListener.start();
    const ftp = await harness.client(srv, { timeout: TIMEOUT });
    // The first transfer's connect armed the session's timer, due a timeout from then.
    await collect(ftp.retrbinary("RETR /f.bin"));
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 0.6));
    srv.handle("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${listener!.port}|)`));
    const started = performance.now();
    const error = await rejection(ftp.retrbinary("RETR /f.bin", () => undefined));
    const waited = performance.now() - started;
    expect(error).to.be.instanceOf(FtpTimeoutError);
    expect((error as Error).message).to.contain("data connection");
    expect(waited, "ms from the hanging connect's start to its timeout").to.be.at.least(TIMEOUT);
    expect(ftp.closed).to.equal(true);
  });

  it("a stray 1xx after the data does not restart the final reply's deadline", async () => {
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData("all the data");
      // Never the final reply: a 1xx every half timeout instead, for ever.
      strays = setInterval(() => {
        if (!s.closed) s.reply(150, "Still working on it.");
      }, TIMEOUT / 2);
    });
    const ftp = await harness.client(srv, { timeout: TIMEOUT });
    const error = await rejection(ftp.retrbinary("RETR /f.bin", () => undefined));
    expect(error).to.be.instanceOf(FtpTimeoutError);
    expect((error as Error).message).to.equal(`no final reply from the server within ${TIMEOUT} ms`);
    expect(ftp.closed).to.equal(true);
  });
});
