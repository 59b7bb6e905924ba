/**
 * Fault matrix, control connection: the server drops it (before the
 * welcome, during login, with commands queued, mid-transfer) or stops
 * answering. Each row: the running operation fails with a typed error,
 * everything queued behind it fails exactly once with FtpClosedError,
 * nothing escapes, nothing stays open, and `ftp.closed` is true.
 */
import { expect } from "chai";
import { FTP, FtpClosedError, FtpConnectionError, FtpTimeoutError } from "../../lib/index.js";
import { patternFile } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, receiveAtLeast, outcome, rejectsWith, settleIo, watchStream } from "./helpers.js";

describe("faults: control connection", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("rejects connect() with FtpConnectionError when the server drops the connection before the welcome", async () => {
    // Server: accepts the TCP connection, then destroys it without a byte.
    fc = await FaultCase.start();
    fc.srv.onConnect((s) => s.drop());
    const ftp = fc.client({ login: false });
    const connecting = later(ftp.connect(fc.srv.host, fc.srv.port));
    const queued = later(ftp.login("user", "pass"));
    await rejectsWith(connecting, FtpConnectionError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("rejects connect() with FtpConnectionError when nothing listens, and the client says it is closed", async () => {
    // Server: none; the port was just freed, so the connect is refused.
    fc = await FaultCase.start();
    const port = fc.srv.port;
    await fc.srv.close();
    await settleIo(); // the listener's handle goes a turn after 'close'
    fc.rebaseline();
    const ftp = fc.client({ login: false });
    const connecting = later(ftp.connect("127.0.0.1", port));
    const queued = later(ftp.pwd());
    await rejectsWith(connecting, FtpConnectionError);
    await rejectsWith(queued, FtpClosedError);
    expect(ftp.closed).to.equal(true);
    ftp.close();
    await fc.expectNoLeaks();
  });

  it("rejects connect() with FtpTimeoutError when the welcome never comes", async () => {
    // Server: accepts, then says nothing.
    fc = await FaultCase.start();
    fc.srv.onConnect(() => undefined);
    const ftp = fc.client({ login: false, timeout: 200 });
    const connecting = later(ftp.connect(fc.srv.host, fc.srv.port));
    const queued = later(ftp.login());
    await rejectsWith(connecting, FtpTimeoutError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("rejects login with FtpConnectionError when the server drops the connection at PASS", async () => {
    // Server: 220; USER -> 331; PASS -> connection destroyed.
    fc = await FaultCase.start();
    fc.srv.once("PASS", (s) => s.drop());
    const ftp = fc.client({ login: false });
    await ftp.connect(fc.srv.host, fc.srv.port);
    const login = later(ftp.login("user", "pass"));
    const queued: Promise<unknown>[] = [ftp.pwd(), ftp.nlst(), ftp.size("/f")].map((p: Promise<unknown>) => later(p));
    await rejectsWith(login, FtpConnectionError);
    for (const q of queued) await rejectsWith(q, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("fails every queued operation exactly once with FtpClosedError when the connection drops under the running one", async () => {
    // Server: login; NOOP -> connection destroyed. Queued behind NOOP: PWD,
    // SIZE, a RETR stream, a STOR stream, MKD: none is ever sent.
    fc = await FaultCase.start({ files: { "/f": "data" } });
    fc.srv.handle("NOOP", (s) => s.drop());
    const ftp = fc.client();
    await ftp.ready;
    const sentBefore = fc.srv.commands.length;
    const running = later(ftp.voidcmd("NOOP"));
    const queued = [ftp.pwd(), ftp.size("/f"), ftp.mkd("/d")];
    const download = ftp.retrbinary("RETR /f");
    const upload = ftp.storbinary("STOR /up");
    const downloadDone = watchStream(download);
    const uploadDone = watchStream(upload);
    let rejections = 0;
    const settled = queued.map((q) =>
      q.catch((error: unknown) => {
        rejections++;
        throw error;
      }),
    );
    await rejectsWith(running, FtpConnectionError);
    for (const q of settled) await rejectsWith(q, FtpClosedError);
    expect(rejections).to.equal(3);
    expectStreamError(await downloadDone, FtpClosedError);
    expectStreamError(await uploadDone, FtpClosedError);
    expect(fc.srv.commands.slice(sentBefore)).to.deep.equal(["NOOP"]);
    await fc.finish(ftp, true);
  });

  it("errors a download with FtpConnectionError when the control connection drops mid-transfer", async () => {
    // Server: RETR -> 150, 64 KiB on the data connection, then the control
    // (and data) connection destroyed; no final reply.
    fc = await FaultCase.start();
    fc.srv.handle("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection.");
      const sock = await s.openData();
      sock.write(Buffer.alloc(64 * 1024, 1));
      await s.sleep(20);
      s.drop();
    });
    const ftp = fc.client();
    await ftp.ready;
    const download = ftp.retrbinary("RETR big");
    const done = watchStream(download);
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpConnectionError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("errors an upload with FtpConnectionError when the control connection drops mid-transfer", async () => {
    // Server: STOR -> 150, reads 64 KiB, then destroys everything.
    fc = await FaultCase.start();
    fc.srv.handle("STOR", async (s) => {
      s.reply(150, "Ok to send data.");
      await receiveAtLeast(s, 64 * 1024);
      s.drop();
    });
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR big");
    const done = watchStream(upload);
    patternFile(64 * 1024 * 1024)
      .generate(0)
      .pipe(upload);
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpConnectionError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("errors a download with FtpTimeoutError when the final reply never comes", async () => {
    // Server: RETR -> 150, the data, the data connection closed; then silence.
    fc = await FaultCase.start();
    fc.srv.handle("RETR", async (s) => {
      s.reply(150, "Opening BINARY mode data connection.");
      await s.sendData("all of it");
      await s.sleep(60_000);
    });
    const ftp = fc.client({ timeout: 300 });
    await ftp.ready;
    const done = watchStream(ftp.retrbinary("RETR f"));
    const queued = later(ftp.pwd());
    const record = await done;
    expectStreamError(record, FtpTimeoutError);
    expect(record.data.toString()).to.equal("all of it");
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("errors an upload with FtpTimeoutError when the final reply never comes", async () => {
    // Server: STOR -> 150, reads everything; then silence.
    fc = await FaultCase.start();
    fc.srv.handle("STOR", async (s) => {
      s.reply(150, "Ok to send data.");
      await s.receiveAll();
      await s.sleep(60_000);
    });
    const ftp = fc.client({ timeout: 300 });
    await ftp.ready;
    const upload = ftp.storbinary("STOR f");
    const done = watchStream(upload);
    upload.end("payload");
    const queued = later(ftp.pwd());
    expectStreamError(await done, FtpTimeoutError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  it("rejects a command with FtpTimeoutError when its reply never comes", async () => {
    // Server: login; NOOP -> silence.
    fc = await FaultCase.start();
    fc.srv.handle("NOOP", async (s) => {
      await s.sleep(60_000);
    });
    const ftp = fc.client({ timeout: 300 });
    await ftp.ready;
    const running = later(ftp.voidcmd("NOOP"));
    const queued = later(ftp.pwd());
    await rejectsWith(running, FtpTimeoutError);
    await rejectsWith(queued, FtpClosedError);
    await fc.finish(ftp, true);
  });

  for (const [when, wait] of [
    ["at once after the constructor", async () => undefined],
    [
      "a few microtasks into connect",
      async () => {
        for (let i = 0; i < 5; i++) await Promise.resolve();
      },
    ],
    ["while the TCP connect is in flight", () => new Promise<void>((resolve) => setImmediate(resolve))],
  ] as const) {
    it(`close() ${when} rejects ready with FtpClosedError and leaves no connection open`, async () => {
      // Server: the welcome 50 ms after the connection arrives (if it does).
      fc = await FaultCase.start();
      fc.srv.onConnect(async (s) => {
        await s.sleep(50);
        s.sendWelcome();
      });
      const ftp = fc.client();
      await wait();
      ftp.close();
      await rejectsWith(ftp.ready, FtpClosedError);
      expect(ftp.closed).to.equal(true);
      await fc.expectNoLeaks();
      expect(fc.srv.commands).to.deep.equal([]);
    });
  }

  it("lets a new client work after the old one was closed by a fault", async () => {
    // Server: first NOOP -> connection destroyed; then the defaults.
    fc = await FaultCase.start();
    fc.srv.once("NOOP", (s) => s.drop());
    const first = fc.client();
    await first.ready;
    await rejectsWith(first.voidcmd("NOOP"), FtpConnectionError);
    expect(first.closed).to.equal(true);
    const second: FTP = fc.client();
    await second.ready;
    expect((await outcome(second.voidcmd("NOOP"))).ok).to.equal(true);
    first.close();
    await fc.finish(second, false);
  });
});
