/**
 * The deadlines of a transfer's waits that no longer have a timer of their
 * own: the final reply once the data has closed (the control connection's
 * reply timer: ControlConnection.setDeadline). A stray 1xx before the
 * final reply does not start it again.
 */
import { expect } from "chai";
import { FtpTimeoutError } from "../../lib/index.js";
import { patternFile, type FixtureServer } from "../../fixtures/server.js";
import { Harness, rejection } from "./helpers.js";

const TIMEOUT = 400;

describe("transfer deadlines on shared timers", function () {
  this.timeout(8000);
  const harness = new Harness();
  let srv: FixtureServer;
  let strays: NodeJS.Timeout | undefined;

  beforeEach(async () => {
    srv = await harness.server({ files: { "/f.bin": patternFile(1000) } });
  });
  afterEach(() => {
    clearInterval(strays);
    return harness.close();
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
