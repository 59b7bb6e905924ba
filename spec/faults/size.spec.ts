/**
 * Fault matrix, short transfers: the server ends a download with 226 after
 * fewer bytes than it announced (in the 150 reply, or in its answer to
 * SIZE). By default a size in the 150 is checked when no REST offset makes
 * it ambiguous, and a mismatch errors with FtpSizeMismatchError; in TYPE A
 * only fewer bytes than announced do (the ASCII form may be longer). With
 * `verifySize: false` the stream ends — the server said 226 — and exposes
 * `bytes` and `expectedSize` so the caller can judge; with `verifySize:
 * true` REST is checked too, and when the 150 carries no size a binary
 * RETR asks SIZE first.
 */
import { expect } from "chai";
import { FtpSizeMismatchError } from "../../lib/index.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, rejectsWith, watchStream } from "./helpers.js";

/** RETR -> `150 <text>`, `body` on the data connection, data connection closed, 226. */
function shortRetr(srv: FixtureServer, preliminary: string, body: string): void {
  srv.handle("RETR", async (s) => {
    s.reply(150, preliminary);
    await s.sendData(body);
    s.reply(226, "Transfer complete.");
  });
}

/** The commands the client sent after `from`, verbs and arguments. */
function sentSince(srv: FixtureServer, from: number): string[] {
  return srv.commands.slice(from);
}

describe("faults: a 226 after a short transfer", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("by default errors with FtpSizeMismatchError, without asking SIZE, when the server closed the data connection early yet said 226", async () => {
    // Issue 12, case 1: RETR f -> 150 "(100 bytes)", 5 bytes, the data
    // connection closed (FIN), 226.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening BINARY mode data connection for f (100 bytes).", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    const download = ftp.retrbinary("RETR f");
    const done = watchStream(download);
    const queued = later(ftp.pwd());
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect([error.expected, error.received]).to.deep.equal([100, 5]);
    expect(error.response).to.match(/^226/);
    expect(await queued).to.equal("/");
    expect(sentSince(fc.srv, from)).to.deep.equal(["TYPE I", "EPSV", "RETR f", "PWD"]);
    await fc.finish(ftp, false);
  });

  it("by default ends normally after REST whatever the 150 announced (the whole file or what is left)", async () => {
    // Server: REST 4 -> 350; RETR f -> 150 "(100 bytes)", 5 bytes, 226.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening BINARY mode data connection for f (100 bytes).", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const download = ftp.retrbinary("RETR f", { rest: 4 });
    const record = await watchStream(download);
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.ends).to.equal(1);
    expect([download.bytes, download.expectedSize]).to.deep.equal([5, 100]);
    await fc.finish(ftp, false);
  });

  it("in TYPE A by default ends normally when the ASCII form is longer than the size announced", async () => {
    // Server: the built-in RETR in TYPE A of a 6-byte file with 3 LFs:
    // 150 "(6 bytes)", then 9 bytes (each LF sent as CRLF), 226.
    fc = await FaultCase.start({ files: { "/t.txt": "a\nb\nc\n" } });
    const ftp = fc.client();
    await ftp.ready;
    const lines: string[] = [];
    const response = await ftp.retrlines("RETR t.txt", (line) => lines.push(line));
    expect(response).to.match(/^226/);
    expect(lines).to.deep.equal(["a", "b", "c"]);
    await fc.finish(ftp, false);
  });

  it("in TYPE A by default errors with FtpSizeMismatchError when fewer bytes came than announced", async () => {
    // Server: RETR t.txt -> 150 "(100 bytes)", 6 bytes, 226.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening ASCII mode data connection for t.txt (100 bytes).", "a\r\nb\r\n");
    const ftp = fc.client();
    await ftp.ready;
    const error = await rejectsWith(
      ftp.retrlines("RETR t.txt", () => undefined),
      FtpSizeMismatchError,
    );
    expect([error.expected, error.received]).to.deep.equal([100, 6]);
    await fc.finish(ftp, false);
  });

  it("ends the stream and exposes bytes and expectedSize under verifySize: false when the 150 announced more", async () => {
    // Server: RETR f -> 150 "(100 bytes)", 5 bytes, 226. No SIZE is sent.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening BINARY mode data connection for f (100 bytes).", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    const download = ftp.retrbinary("RETR f", { verifySize: false });
    const record = await watchStream(download);
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.ends).to.equal(1);
    expect(download.bytes).to.equal(5);
    expect(download.expectedSize).to.equal(100);
    expect(download.response).to.match(/^226/);
    expect(sentSince(fc.srv, from).some((line) => line.startsWith("SIZE"))).to.equal(false);
    await fc.finish(ftp, false);
  });

  it("errors with FtpSizeMismatchError under verifySize when the 150 announced more", async () => {
    // Server: RETR f -> 150 "(100 bytes)", 5 bytes, 226.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening BINARY mode data connection for f (100 bytes).", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const download = ftp.retrbinary("RETR f", { verifySize: true });
    const done = watchStream(download);
    const queued = later(ftp.pwd());
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect(error.expected).to.equal(100);
    expect(error.received).to.equal(5);
    expect(error.response).to.match(/^226/);
    expect(download.bytes).to.equal(5);
    expect(download.expectedSize).to.equal(100);
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("asks SIZE before RETR under verifySize and errors with FtpSizeMismatchError when SIZE said more", async () => {
    // Server: TYPE I -> 200; SIZE f -> 213 100; EPSV -> 229; RETR f -> 150
    // (no size), 5 bytes, 226.
    fc = await FaultCase.start();
    fc.srv.handle("SIZE", (s) => s.reply(213, "100"));
    shortRetr(fc.srv, "Opening BINARY mode data connection.", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    const download = ftp.retrbinary("RETR f", { verifySize: true });
    const done = watchStream(download);
    const queued = later(ftp.pwd());
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect(error.expected).to.equal(100);
    expect(error.received).to.equal(5);
    expect(download.expectedSize).to.equal(100);
    expect(await queued).to.equal("/");
    expect(sentSince(fc.srv, from)).to.deep.equal(["TYPE I", "SIZE f", "EPSV", "RETR f", "PWD"]);
    await fc.finish(ftp, false);
  });

  const AGREEING_OR_UNKNOWN = [
    // Server: SIZE f -> 213 5; RETR f -> 150 (no size), 5 bytes, 226.
    { when: "when SIZE and the bytes agree", answer: [213, "5"], expectedSize: 5 },
    // Server: SIZE f -> 550; RETR f -> 150 (no size), 5 bytes, 226.
    {
      when: "when the server refuses SIZE and the 150 has no size (nothing to check against)",
      answer: [550, "Could not get file size."],
      expectedSize: null,
    },
  ] as const;
  for (const { when, answer, expectedSize } of AGREEING_OR_UNKNOWN) {
    it(`ends normally under verifySize ${when}`, async () => {
      fc = await FaultCase.start();
      fc.srv.handle("SIZE", (s) => s.reply(answer[0], answer[1]));
      shortRetr(fc.srv, "Opening BINARY mode data connection.", "12345");
      const ftp = fc.client();
      await ftp.ready;
      const download = ftp.retrbinary("RETR f", { verifySize: true });
      const record = await watchStream(download);
      expect(record.errors.map(String)).to.deep.equal([]);
      expect(record.ends).to.equal(1);
      expect(download.expectedSize).to.equal(expectedSize);
      await fc.finish(ftp, false);
    });
  }

  it("errors with FtpSizeMismatchError under verifySize when the server sends more than announced", async () => {
    // Server: RETR f -> 150 "(3 bytes)", 5 bytes, 226.
    fc = await FaultCase.start();
    shortRetr(fc.srv, "Opening BINARY mode data connection for f (3 bytes).", "12345");
    const ftp = fc.client();
    await ftp.ready;
    const error = expectStreamError(await watchStream(ftp.retrbinary("RETR f", { verifySize: true })), FtpSizeMismatchError);
    expect([error.expected, error.received]).to.deep.equal([3, 5]);
    await fc.finish(ftp, false);
  });

  for (const sizeIn of ["150", "SIZE"] as const) {
    it(`accounts for REST under verifySize (file size from ${sizeIn})`, async () => {
      // Server: the built-in RETR of a 10-byte file after REST 4: 150 "(10
      // bytes)" (the whole file, as vsftpd says it) or, when scripted, a 150
      // without a size and SIZE -> 213 10; then bytes 4..9, 226.
      fc = await FaultCase.start({ files: { "/f": "0123456789" } });
      if (sizeIn === "SIZE") {
        fc.srv.handle("RETR", async (s, arg) => {
          const rest = s.takeRest();
          s.reply(150, "Opening BINARY mode data connection.");
          await s.sendData(Buffer.from("0123456789").subarray(rest));
          s.reply(226, `Transfer complete (${arg}).`);
        });
      }
      const ftp = fc.client();
      await ftp.ready;
      const download = ftp.retrbinary("RETR f", { verifySize: true, rest: 4 });
      const record = await watchStream(download);
      expect(record.errors.map(String)).to.deep.equal([]);
      expect(record.data.toString()).to.equal("456789");
      expect(download.expectedSize).to.equal(10);
      await fc.finish(ftp, false);
    });
  }
});
