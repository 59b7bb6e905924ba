/**
 * A server that keeps the client reading replies that end nothing: a 1xx
 * after a 1xx ("120 Service ready in 1 minute." for ever instead of the
 * 220), or final replies past those its commands are owed (426 after 426
 * instead of the NOOP's 200 that ends an abort). Each comes well within
 * the timeout, one at a time, so neither the reply deadline nor the bound
 * on held replies meets them: the client read them for ever (a connect, a
 * pool's use(), an abort that never settled, an abort holding every reply).
 * Past MAX_STRAY_REPLIES in a row the connection fails with FtpLimitError
 * (`limit: "strayReplies"`).
 */
import { expect } from "chai";
import { FixtureServer, patternBytes, type Session } from "../../fixtures/server.js";
import { FTP, FtpLimitError, FtpPool } from "../../lib/index.js";
import { MAX_STRAY_REPLIES } from "../../lib/control.js";
import { rejectsWith } from "./helpers.js";

/** Sends `line` over and over, one at a time a few ms apart, until the client hangs up (or 10,000 of them). */
async function dribble(s: Session, line: string): Promise<void> {
  for (let i = 0; i < 10_000 && !s.socket.destroyed; i++) {
    s.send(line);
    await s.sleep(3);
  }
}

describe("faults: replies that end nothing, one at a time, for ever", function () {
  let srv: FixtureServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it("FTP.create fails with FtpLimitError (strayReplies) on a 120 welcome repeated instead of the 220", async () => {
    srv = await FixtureServer.start();
    srv.onConnect((s) => dribble(s, "120 Service ready in 1 minute.\r\n"));
    const { host, port } = srv;
    const error = await rejectsWith(FTP.create({ host, port, user: "user", password: "pass", timeout: 5000 }), FtpLimitError);
    expect(error).to.include({ limit: "strayReplies", max: MAX_STRAY_REPLIES });
  });

  it("a pool's use() on such a server rejects with it, and close() settles", async () => {
    srv = await FixtureServer.start();
    srv.onConnect((s) => dribble(s, "120 Service ready in 1 minute.\r\n"));
    const { host, port } = srv;
    const pool = new FtpPool({ size: 2, connect: () => FTP.create({ host, port, user: "user", password: "pass", timeout: 5000 }) });
    let ran = false;
    const error = await rejectsWith(
      pool.use(async () => {
        ran = true;
      }),
      FtpLimitError,
    );
    expect(error).to.include({ limit: "strayReplies" });
    expect(ran).to.equal(false);
    await pool.close();
  });

  it("abort() of a download fails with it when ABOR is answered by 426 after 426 and the NOOP never", async () => {
    srv = await FixtureServer.start({ files: { "/a.bin": patternBytes(0, 1024 * 1024) } });
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const data = await s.openData();
      data.write(patternBytes(0, 64 * 1024));
      // The data connection stays open until the client closes it.
      await new Promise<void>((resolve) => data.once("close", () => resolve()).resume());
    });
    srv.handle("ABOR", (s) => dribble(s, "426 Connection closed; transfer aborted.\r\n"));
    const { host, port } = srv;
    const ftp = await FTP.create({ host, port, user: "user", password: "pass", timeout: 5000 });
    try {
      const download = ftp.retrbinary("RETR /a.bin");
      download.on("error", () => undefined);
      await new Promise<void>((resolve) => download.once("data", () => resolve()));
      const error = await rejectsWith(ftp.abort(), FtpLimitError);
      expect(error).to.include({ limit: "strayReplies" });
      expect(ftp.closed).to.equal(true);
    } finally {
      ftp.close();
    }
  });

  it("a server's few 1xx before its final reply still pass: 120 twice, then the 220", async () => {
    srv = await FixtureServer.start();
    srv.onConnect((s) => s.send("120 Soon.\r\n120 Sooner.\r\n220 Ready.\r\n"));
    const { host, port } = srv;
    const ftp = await FTP.create({ host, port, user: "user", password: "pass", timeout: 5000 });
    try {
      expect(ftp.getWelcome()).to.equal("220 Ready.");
      expect(await ftp.pwd()).to.equal("/");
    } finally {
      ftp.close();
    }
  });
});
