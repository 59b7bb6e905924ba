/**
 * Fault matrix, uploads that end in 226 with the wrong bytes on the server:
 * under `verifySize` an upload asks SIZE after the 226 (as rclone does) and
 * errors with FtpSizeMismatchError instead of finishing when the file is not
 * the size it should be. APPE asks SIZE first too, since it adds to what is
 * there; REST+STOR counts from the offset.
 */
import { expect } from "chai";
import { FtpSizeMismatchError } from "../../lib/index.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { expectStreamError, FaultCase, later, watchStream } from "./helpers.js";

/** STOR -> 150, the client's bytes read, only the first `keep` of them stored, 226: a server that lost the tail. */
function truncatingStor(srv: FixtureServer, keep: number): void {
  srv.handle("STOR", async (s, arg) => {
    s.reply(150, "Ok to send data.");
    const bytes = await s.receiveAll();
    s.vfs.set(s.resolvePath(arg), bytes.subarray(0, keep));
    s.reply(226, "Transfer complete.");
  });
}

/** The commands the client sent after `from`. */
function sentSince(srv: FixtureServer, from: number): string[] {
  return srv.commands.slice(from);
}

describe("faults: an upload that ends in 226 with the wrong size on the server", function () {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("asks SIZE after the 226 under verifySize and finishes when it agrees", async () => {
    // Server: TYPE I, EPSV, STOR f (10 bytes stored), 226; SIZE f -> 213 10.
    fc = await FaultCase.start();
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    const reply = await ftp.storbinary("STOR f", Buffer.from("0123456789"), { verifySize: true });
    expect(reply).to.match(/^226/);
    expect(sentSince(fc.srv, from)).to.deep.equal(["TYPE I", "EPSV", "STOR f", "SIZE f"]);
    await fc.finish(ftp, false);
  });

  it("errors with FtpSizeMismatchError under verifySize when the server stored fewer bytes, and stays usable", async () => {
    // Server: STOR f -> 150, reads 10 bytes, stores 4, 226; SIZE f -> 213 4.
    fc = await FaultCase.start();
    truncatingStor(fc.srv, 4);
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f", { verifySize: true });
    const done = watchStream(upload);
    upload.end(Buffer.from("0123456789"));
    const queued = later(ftp.pwd());
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect([error.expected, error.received]).to.deep.equal([10, 4]);
    expect(error.code).to.equal("ERR_FTP_SIZE_MISMATCH");
    expect(error.response).to.match(/^226/);
    expect(error.message).to.equal("upload sent 10 bytes but SIZE gives 4, not 10");
    expect(await queued).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("finishes without asking SIZE when verifySize is not set, whatever the server stored", async () => {
    // Server: STOR f -> 150, reads 10 bytes, stores 4, 226.
    fc = await FaultCase.start();
    truncatingStor(fc.srv, 4);
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    expect(await ftp.storbinary("STOR f", Buffer.from("0123456789"))).to.match(/^226/);
    expect(sentSince(fc.srv, from).some((line) => line.startsWith("SIZE"))).to.equal(false);
    await fc.finish(ftp, false);
  });

  it("finishes under verifySize when the server refuses SIZE (nothing to check against)", async () => {
    // Server: STOR f -> 150, stores 4 of 10 bytes, 226; SIZE f -> 502.
    fc = await FaultCase.start();
    truncatingStor(fc.srv, 4);
    fc.srv.handle("SIZE", (s) => s.reply(502, "Command not implemented."));
    const ftp = fc.client();
    await ftp.ready;
    expect(await ftp.storbinary("STOR f", Buffer.from("0123456789"), { verifySize: true })).to.match(/^226/);
    await fc.finish(ftp, false);
  });

  it("counts from the REST offset for REST+STOR under verifySize", async () => {
    // Server: the built-in STOR after REST 4 over a 4-byte file: writes 6 bytes at 4; SIZE -> 213 10.
    fc = await FaultCase.start({ files: { "/f": "0123" } });
    const ftp = fc.client();
    await ftp.ready;
    expect(await ftp.storbinary("STOR f", Buffer.from("456789"), { verifySize: true, rest: 4 })).to.match(/^226/);
    expect(fc.srv.vfs.get("/f")?.toString()).to.equal("0123456789");
    await fc.finish(ftp, false);
  });

  it("errors for REST+STOR when the server keeps bytes beyond what was sent", async () => {
    // Server: the built-in STOR after REST 2 over a 10-byte file writes 3 bytes at 2 and keeps the rest: SIZE -> 213 10, not 5.
    fc = await FaultCase.start({ files: { "/f": "0123456789" } });
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR f", { verifySize: true, rest: 2 });
    const done = watchStream(upload);
    upload.end(Buffer.from("abc"));
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect([error.expected, error.received]).to.deep.equal([5, 10]);
    await fc.finish(ftp, false);
  });

  it("asks SIZE before and after APPE under verifySize, counting what was there", async () => {
    // Server: SIZE f -> 213 4; APPE f (6 bytes appended), 226; SIZE f -> 213 10.
    fc = await FaultCase.start({ files: { "/f": "0123" } });
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    expect(await ftp.storbinary("APPE f", Buffer.from("456789"), { verifySize: true })).to.match(/^226/);
    expect(sentSince(fc.srv, from)).to.deep.equal(["TYPE I", "SIZE f", "EPSV", "APPE f", "SIZE f"]);
    await fc.finish(ftp, false);
  });

  it("counts a missing file as empty for APPE under verifySize (SIZE 550 first)", async () => {
    // Server: SIZE new -> 550; APPE new (3 bytes), 226; SIZE new -> 213 3.
    fc = await FaultCase.start();
    const ftp = fc.client();
    await ftp.ready;
    expect(await ftp.storbinary("APPE new", Buffer.from("abc"), { verifySize: true })).to.match(/^226/);
    expect(fc.srv.vfs.get("/new")?.toString()).to.equal("abc");
    await fc.finish(ftp, false);
  });

  it("errors for APPE when the server lost appended bytes", async () => {
    // Server: SIZE f -> 213 4; APPE f -> 150, reads 6 bytes, stores "0123" + 2 of them, 226; SIZE f -> 213 6.
    fc = await FaultCase.start({ files: { "/f": "0123" } });
    fc.srv.handle("APPE", async (s, arg) => {
      s.reply(150, "Ok to send data.");
      const bytes = await s.receiveAll();
      const path = s.resolvePath(arg);
      s.vfs.set(path, Buffer.concat([s.vfs.get(path)!, bytes.subarray(0, 2)]));
      s.reply(226, "Transfer complete.");
    });
    const ftp = fc.client();
    await ftp.ready;
    const upload = ftp.storbinary("APPE f", { verifySize: true });
    const done = watchStream(upload);
    upload.end(Buffer.from("456789"));
    const error = expectStreamError(await done, FtpSizeMismatchError);
    expect([error.expected, error.received]).to.deep.equal([10, 6]);
    await fc.finish(ftp, false);
  });

  it("sends no SIZE for a text upload (storlines) under verifySize: its stored size depends on the server's line ends", async () => {
    // Server: TYPE A, EPSV, STOR t, 226.
    fc = await FaultCase.start();
    const ftp = fc.client();
    await ftp.ready;
    const from = fc.srv.commands.length;
    const upload = ftp.storlines("STOR t", { verifySize: true });
    const done = watchStream(upload);
    upload.end("one\ntwo\n");
    const record = await done;
    expect(record.errors.map(String)).to.deep.equal([]);
    expect(record.finishes).to.equal(1);
    expect(sentSince(fc.srv, from)).to.deep.equal(["TYPE A", "EPSV", "STOR t"]);
    await fc.finish(ftp, false);
  });
});
