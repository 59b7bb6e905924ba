/**
 * Fault matrix, data connection: reset mid-download and mid-upload (and
 * before the 1xx), a 150 with no data connection behind it (passive and
 * active), an upload the server ends early. Each row: the stream errors
 * once with a typed error (or finishes, where the server said 2xx and
 * nothing was lost), nothing escapes, nothing stays open, and `ftp.closed`
 * says whether the client can go on; when it can, the next command works.
 */
import { expect } from "chai";
import { Writable, type Readable } from "node:stream";
import { FtpConnectionError, FtpTempError, FtpTimeoutError, FtpClosedError, type FTP } from "../../lib/index.js";
import { patternFile, type Session } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, receiveAtLeast, rejectsWith, type StreamRecord, until, watchStream } from "./helpers.js";

/** Waits, inside a fixture handler, until the client's ABOR has cancelled the transfer (or the client left). */
async function untilAborted(s: Session): Promise<void> {
  while (!s.abortRequested && !s.closed) await s.sleep(5);
}

/**
 * A RETR handler: 150, 32 KiB, then RST on the data connection; it answers
 * nothing until the client's ABOR, then 426 (transfer) and 226 (ABOR).
 */
async function resetMidDownload(s: Session): Promise<void> {
  s.reply(150, "Opening BINARY mode data connection (1048576 bytes).");
  const sock = await s.openData();
  sock.write(Buffer.alloc(32 * 1024, 7));
  await s.sleep(20);
  sock.resetAndDestroy();
  await untilAborted(s);
  throw new Error("connection reset");
}

/** A RETR handler: 150 (no size), 32 KiB, 226 while the data connection is still open, then RST on it. */
async function resetAfterFinalReply(s: Session): Promise<void> {
  s.reply(150, "Opening BINARY mode data connection.");
  const sock = await s.openData();
  sock.write(Buffer.alloc(32 * 1024, 7));
  s.reply(226, "Transfer complete.");
  await s.sleep(50);
  sock.resetAndDestroy();
}

/** Starts a 64 MiB upload (STOR f) from a pattern source, watched; the caller destroys the source when done. */
function startBigUpload(ftp: FTP): { done: Promise<StreamRecord>; source: Readable } {
  const upload = ftp.storbinary("STOR f");
  const done = watchStream(upload);
  const source = patternFile(64 * 1024 * 1024).generate(0) as Readable;
  source.pipe(upload);
  return { done, source };
}

describe("faults: data connection", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const passive of [true, false]) {
    const mode = passive ? "passive" : "active";

    const DOWNLOAD_RESETS = [
      { when: "mid-transfer", handler: resetMidDownload, abortSent: true },
      // No size in the 150, so only the reset can tell the download failed.
      { when: "after the server's 226", handler: resetAfterFinalReply, abortSent: false },
    ];
    for (const { when, handler, abortSent } of DOWNLOAD_RESETS) {
      it(`errors a download with FtpConnectionError when the data connection is reset ${when} (${mode}), and stays usable`, async () => {
        fc = await FaultCase.start();
        fc.srv.handle("RETR", handler);
        const ftp = fc.client({ passive });
        await ftp.ready;
        const done = watchStream(ftp.retrbinary("RETR f"));
        const queued = later(ftp.pwd());
        expectStreamError(await done, FtpConnectionError);
        expect(await queued).to.equal("/");
        // After the 226 there is nothing to abort, unless the reset outran the 226.
        if (abortSent) expect(fc.srv.commands).to.include("ABOR");
        await fc.finish(ftp, false);
      });
    }

    it(`retrbinary into a Writable: a reset mid-transfer rejects with FtpConnectionError and destroys the Writable unfinished (${mode})`, async () => {
      fc = await FaultCase.start();
      fc.srv.handle("RETR", resetMidDownload);
      const ftp = fc.client({ passive });
      await ftp.ready;
      let received = 0;
      let finished = false;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          callback();
        },
      });
      sink.on("finish", () => (finished = true));
      const error = await rejectsWith(ftp.retrbinary("RETR f", sink), FtpConnectionError);
      expect(sink.destroyed).to.equal(true);
      expect(sink.errored).to.equal(error);
      expect(finished).to.equal(false);
      expect(received).to.be.at.most(32 * 1024);
      expect(await ftp.pwd()).to.equal("/");
      await fc.finish(ftp, false);
    });

    it(`errors an upload with FtpConnectionError when the data connection is reset mid-transfer (${mode}), and stays usable`, async () => {
      // Server: STOR -> 150, reads 64 KiB, then RST on the data connection;
      // after the client's ABOR: 426, 226.
      fc = await FaultCase.start();
      fc.srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        const sock = await receiveAtLeast(s, 64 * 1024);
        sock.resetAndDestroy();
        await untilAborted(s);
        throw new Error("connection reset");
      });
      const ftp = fc.client({ passive });
      await ftp.ready;
      const { done, source } = startBigUpload(ftp);
      const queued = later(ftp.pwd());
      expectStreamError(await done, FtpConnectionError);
      source.destroy();
      expect(await queued).to.equal("/");
      await fc.finish(ftp, false);
    });

    it(`errors a download with FtpTimeoutError when the server sends 150 and never uses the data connection (${mode})`, async () => {
      // Server: RETR -> 150, then nothing on either connection (passive: the
      // data connection is open but silent; active: the server never connects).
      fc = await FaultCase.start();
      fc.srv.handle("RETR", async (s) => {
        s.reply(150, "Opening BINARY mode data connection.");
        await s.sleep(60_000);
      });
      const ftp = fc.client({ passive, timeout: 300 });
      await ftp.ready;
      const done = watchStream(ftp.retrbinary("RETR f"));
      const queued = later(ftp.pwd());
      expectStreamError(await done, FtpTimeoutError);
      // A timeout leaves the server mid-transfer: the client cannot go on.
      await rejectsWith(queued, FtpClosedError);
      await fc.finish(ftp, true);
    });

    it(`errors an upload with FtpTimeoutError when the server sends 150 and never uses the data connection (${mode})`, async () => {
      // Server: STOR -> 150, then nothing: passive, it never reads (the
      // client's writes fill the socket buffers); active, it never connects.
      fc = await FaultCase.start();
      fc.srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        await s.sleep(60_000);
      });
      const ftp = fc.client({ passive, timeout: 300 });
      await ftp.ready;
      const { done, source } = startBigUpload(ftp);
      const queued = later(ftp.pwd());
      expectStreamError(await done, FtpTimeoutError);
      source.destroy();
      await rejectsWith(queued, FtpClosedError);
      await fc.finish(ftp, true);
    });

    it(`errors a download with the 4xx when the data connection is reset before the 1xx (${mode})`, async () => {
      // Server: RETR -> takes the data connection, resets it, then 425.
      fc = await FaultCase.start();
      fc.srv.handle("RETR", async (s) => {
        const sock = await s.openData();
        sock.resetAndDestroy();
        await s.sleep(50);
        s.reply(425, "Can't open data connection.");
      });
      const ftp = fc.client({ passive });
      await ftp.ready;
      const done = watchStream(ftp.retrbinary("RETR f"));
      const queued = later(ftp.pwd());
      expectStreamError(await done, FtpTempError);
      expect(await queued).to.equal("/");
      await fc.finish(ftp, false);
    });
  }

  it("active mode: drops a connection to its data port from another address and takes the server's", async () => {
    // Server: PORT h,p -> before answering, an intruder connects to h:p from
    // 127.0.0.2 and sends "EVIL"; the client must close it. Then 200, and the
    // built-in RETR connects from 127.0.0.1 and sends the file.
    fc = await FaultCase.start({ files: { "/f": "the real data" } });
    let intruderClosed = false;
    fc.srv.once("PORT", async (s, arg) => {
      const n = arg.split(",").map(Number);
      const { connect } = await import("node:net");
      const intruder = connect({ host: n.slice(0, 4).join("."), port: n[4] * 256 + n[5], localAddress: "127.0.0.2" });
      intruder.on("error", () => undefined);
      await new Promise<void>((resolve) => {
        intruder.on("connect", () => intruder.write("EVIL"));
        intruder.on("close", () => {
          intruderClosed = true;
          resolve();
        });
        intruder.resume();
      });
      await s.defaultHandler("PORT", arg);
    });
    const ftp = fc.client({ passive: false });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR f"));
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.data.toString()).to.equal("the real data");
    expect(intruderClosed).to.equal(true);
    await fc.finish(ftp, false);
  });

  it("finishes an upload the server confirmed with 226 after closing the data connection early", async () => {
    // Server: STOR -> 150, reads the 3 bytes sent so far, closes the data
    // connection, 226 — all while the client has not called end() yet.
    fc = await FaultCase.start();
    let received = "";
    let replied = false;
    fc.srv.handle("STOR", async (s) => {
      s.reply(150, "Ok to send data.");
      const sock = await s.openData();
      received = await new Promise<string>((resolve) => {
        sock.once("data", (chunk: Buffer) => resolve(chunk.toString()));
        sock.resume();
      });
      await s.closeData();
      s.reply(226, "Transfer complete.");
      replied = true;
    });
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f");
    const done = watchStream(upload);
    upload.write("abc");
    await until(() => replied);
    // Let the 226 and the data connection's close reach the client before
    // end() (if they have not, the spec still holds, it just tests less).
    await new Promise((r) => setTimeout(r, 50));
    upload.end();
    const record = await done;
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.finishes).to.equal(1);
    expect(upload.response).to.match(/^226/);
    expect(received).to.equal("abc");
    await fc.finish(ftp, false);
  });
});
