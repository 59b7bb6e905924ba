/**
 * Under `retry`, a download cut mid-file resumes with REST. If the file on
 * the server was replaced meanwhile by one of the same size, every size
 * check passes; the resume asks again for the last bytes delivered
 * (RESUME_OVERLAP of them) and compares them, so the download fails with
 * FtpSourceChangedError instead of ending half old, half new. An unchanged
 * file still resumes byte-exact, at the cost of the overlap alone.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { patternBytes } from "../../fixtures/server.js";
import type { Session as FixtureSession } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPool, FtpSourceChangedError } from "../../lib/index.js";
import { DeliveredTail, RESUME_OVERLAP, tailFor } from "../../lib/resume-overlap.js";
import { FaultCase, outcome, resetOnceRead, watchStream } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const SIZE = 300_000;
const CUT = 100_000;
const OLD = patternBytes(0, SIZE);
/** Same size, other bytes throughout. */
const NEW = patternBytes(1, SIZE);

describe("retry: a resumed download of a file replaced meanwhile", () => {
  let fc: FaultCase;
  let dir: string | undefined;
  afterEach(async () => {
    await fc?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /**
   * The first RETR of `path` sends CUT bytes of the file, then `replace`
   * runs (the file swapped on the server, or not) and the data connection
   * is reset once the client has read them (cutOnceRead); later RETRs
   * get the fixture's own (REST honoured).
   */
  function cutOnce(path: string, replace: () => void): void {
    let first = true;
    fc.srv.handle("RETR", async (s: FixtureSession, arg: string) => {
      if (!first || s.resolvePath(arg) !== path) return s.defaultHandler("RETR", arg);
      first = false;
      s.reply(150, `Opening BINARY mode data connection for ${arg} (${SIZE} bytes).`);
      const data = await s.openData();
      await new Promise<void>((resolve) => data.write(OLD.subarray(0, CUT), () => resolve()));
      replace();
      await cutOnceRead(s, data, CUT);
    });
  }

  /** Resets a first RETR's data connection once the client has read its `count` bytes (see resetOnceRead), then says 426. */
  async function cutOnceRead(s: FixtureSession, data: Socket, count: number): Promise<void> {
    await resetOnceRead(data, count);
    s.reply(426, "Connection reset.");
  }

  function rests(): string[] {
    return fc.srv.commands.filter((line) => line.startsWith("REST "));
  }

  it("stream form: fails with FtpSourceChangedError, never ends, delivers none of the new version", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    cutOnce("/f.bin", () => fc.srv.vfs.set("/f.bin", NEW));
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
    expect(record.ends, "the download ended as a good one").to.equal(0);
    expect(record.errors).to.have.length(1);
    const error = record.errors[0] as FtpSourceChangedError;
    expect(error).to.be.instanceOf(FtpSourceChangedError);
    expect(error.code).to.equal("ERR_FTP_SOURCE_CHANGED");
    expect(error.reason).to.equal("changed");
    expect(error.path).to.equal("/f.bin");
    // Only the old version's bytes reached the consumer, and no more than were delivered before the cut.
    expect(record.data.length).to.equal(CUT);
    expect(record.data.equals(OLD.subarray(0, CUT))).to.equal(true);
    expect(rests()).to.deep.equal([`REST ${CUT - RESUME_OVERLAP}`]);
    await fc.finish(ftp, false);
  });

  it("Writable form: rejects with FtpSourceChangedError (not retried again), the sink holding only the old bytes", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    cutOnce("/f.bin", () => fc.srv.vfs.set("/f.bin", NEW));
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const result = await outcome(ftp.retrbinary("RETR /f.bin", sink));
    expect(result.ok, "the download resolved").to.equal(false);
    expect((result as { error: unknown }).error).to.be.instanceOf(FtpSourceChangedError);
    expect(Buffer.concat(chunks).equals(OLD.subarray(0, CUT))).to.equal(true);
    // One resume, which found the change: no third RETR.
    expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.have.length(2);
    await fc.finish(ftp, false);
  });

  it("after a first RETR refused with 425 (nothing delivered), the attempt cut mid-file is still checked on its resume", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    fc.srv.once("RETR", (s: FixtureSession) => s.reply(425, "Can't open data connection."));
    cutOnce("/f.bin", () => fc.srv.vfs.set("/f.bin", NEW));
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
    expect(record.ends).to.equal(0);
    expect(record.errors[0]).to.be.instanceOf(FtpSourceChangedError);
    expect(record.data.equals(OLD.subarray(0, CUT))).to.equal(true);
    expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.have.length(3);
    await fc.finish(ftp, false);
  });

  it("a small file replaced after 2000 of its 3000 bytes: the resume from byte 0 compares all 2000, and fails", async () => {
    const small = patternBytes(0, 3000);
    fc = await FaultCase.start({ files: { "/s.bin": small } });
    let first = true;
    fc.srv.handle("RETR", async (s: FixtureSession, arg: string) => {
      if (!first) return s.defaultHandler("RETR", arg);
      first = false;
      s.reply(150, `Opening BINARY mode data connection for ${arg} (3000 bytes).`);
      const data = await s.openData();
      await new Promise<void>((resolve) => data.write(small.subarray(0, 2000), () => resolve()));
      fc.srv.vfs.set("/s.bin", patternBytes(1, 3000));
      await cutOnceRead(s, data, 2000);
    });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /s.bin"));
    expect(record.ends).to.equal(0);
    expect(record.errors[0]).to.be.instanceOf(FtpSourceChangedError);
    expect(rests()).to.deep.equal(["REST 0"]);
    await fc.finish(ftp, false);
  });

  it("a file cut shorter than the bytes delivered meanwhile: fails with FtpSourceChangedError, not retried", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    // The old version's start, ending inside the overlap: what comes again matches, then stops with 226.
    cutOnce("/f.bin", () => fc.srv.vfs.set("/f.bin", OLD.subarray(0, CUT - 100)));
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
    expect(record.ends).to.equal(0);
    expect(record.errors).to.have.length(1);
    expect(record.errors[0]).to.be.instanceOf(FtpSourceChangedError);
    expect(record.data.equals(OLD.subarray(0, CUT))).to.equal(true);
    expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.have.length(2);
    await fc.finish(ftp, false);
  });

  it("a resumed attempt cut inside the overlap, its 150 still giving the whole size: a short transfer, resumed again, the file byte-exact", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    // The first RETR is cut as cutOnce's; the second (after REST) sends 5,000 of the overlap's bytes, then its data
    // connection closes and 226 comes (a proxy's close between a server that sent all and the client); the third is
    // the fixture's own.
    let retrs = 0;
    fc.srv.handle("RETR", async (s: FixtureSession, arg: string) => {
      retrs++;
      if (retrs === 1) {
        s.reply(150, `Opening BINARY mode data connection for ${arg} (${SIZE} bytes).`);
        const data = await s.openData();
        await new Promise<void>((resolve) => data.write(OLD.subarray(0, CUT), () => resolve()));
        return cutOnceRead(s, data, CUT);
      }
      if (retrs !== 2) return s.defaultHandler("RETR", arg);
      const rest = s.takeRest();
      s.reply(150, `Opening BINARY mode data connection for ${arg} (${SIZE} bytes).`);
      await s.sendData(OLD.subarray(rest, rest + 5_000));
      s.reply(226, "Transfer complete.");
    });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
    expect(record.errors).to.deep.equal([]);
    expect(record.ends).to.equal(1);
    expect(record.data.equals(OLD)).to.equal(true);
    expect(rests()).to.deep.equal([`REST ${CUT - RESUME_OVERLAP}`, `REST ${CUT - RESUME_OVERLAP}`]);
    await fc.finish(ftp, false);
  });

  it("downloadDir: the file fails with FtpSourceChangedError and nothing is put in place (no part file left)", async () => {
    fc = await FaultCase.start({ files: { "/d/f.bin": OLD, "/d/g.txt": "ggg" } });
    cutOnce("/d/f.bin", () => fc.srv.vfs.set("/d/f.bin", NEW));
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const local = (dir = mkdtempSync(join(tmpdir(), "ftpstream-resume-replaced-")));
    let error: unknown;
    await ftp.downloadDir("/d", local).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["f.bin"]);
    expect(failures[0].error).to.be.instanceOf(FtpSourceChangedError);
    expect(existsSync(join(local, "f.bin"))).to.equal(false);
    expect(readdirSync(local).sort()).to.deep.equal(["g.txt"]);
    expect(readFileSync(join(local, "g.txt"), "utf8")).to.equal("ggg");
    await fc.finish(ftp, false);
  });

  it("pool.downloadSegmented: a segment resumed on a replaced file fails the download, no file left", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    const half = SIZE / 2;
    let cut = false;
    // The second segment (REST half): CUT bytes of the old version, then the file is swapped and the data connection reset.
    fc.srv.handle("RETR", async (s: FixtureSession, arg: string) => {
      if (cut || s.state.rest !== half) return s.defaultHandler("RETR", arg);
      cut = true;
      s.takeRest();
      s.reply(150, `Opening BINARY mode data connection for ${arg} (${SIZE} bytes).`);
      const data = await s.openData();
      await new Promise<void>((resolve) => data.write(OLD.subarray(half, half + CUT), () => resolve()));
      fc.srv.vfs.set("/f.bin", NEW);
      await cutOnceRead(s, data, CUT);
    });
    const pool = new FtpPool({
      size: 2,
      connect: async () => {
        const ftp = fc.client({ retry: FAST });
        await ftp.ready;
        return ftp;
      },
    });
    const local = (dir = mkdtempSync(join(tmpdir(), "ftpstream-resume-replaced-")));
    try {
      const result = await outcome(pool.downloadSegmented("/f.bin", join(local, "f.bin"), { segments: 2, minSegmentSize: 1024 }));
      expect(result.ok, "the segmented download resolved").to.equal(false);
      expect((result as { error: unknown }).error).to.be.instanceOf(FtpSourceChangedError);
      expect(readdirSync(local)).to.deep.equal([]);
      expect(rests()).to.include(`REST ${half + CUT - RESUME_OVERLAP}`);
    } finally {
      await pool.close();
    }
  });

  it("an unchanged file resumes byte-exact, the overlap the only bytes sent twice", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    cutOnce("/f.bin", () => undefined);
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const stream = ftp.retrbinary("RETR /f.bin");
    const progress: number[] = [];
    stream.on("progress", (p: { bytes: number }) => progress.push(p.bytes));
    const record = await watchStream(stream);
    expect(record.errors).to.deep.equal([]);
    expect(record.ends).to.equal(1);
    expect(record.data.equals(OLD)).to.equal(true);
    expect(stream.bytes).to.equal(SIZE);
    expect(progress[progress.length - 1]).to.equal(SIZE);
    // The fixture sends from REST to the end: SIZE - (CUT - overlap) bytes, the overlap and what was missing.
    expect(rests()).to.deep.equal([`REST ${CUT - RESUME_OVERLAP}`]);
    await fc.finish(ftp, false);
  });

  it("a file cut before RESUME_OVERLAP bytes resumes from byte 0, comparing all it had", async () => {
    const small = 5_000;
    fc = await FaultCase.start({ files: { "/f.bin": OLD } });
    let first = true;
    fc.srv.handle("RETR", async (s: FixtureSession, arg: string) => {
      if (!first) return s.defaultHandler("RETR", arg);
      first = false;
      s.reply(150, `Opening BINARY mode data connection for ${arg} (${SIZE} bytes).`);
      const data = await s.openData();
      await new Promise<void>((resolve) => data.write(OLD.subarray(0, small), () => resolve()));
      await cutOnceRead(s, data, small);
    });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
    expect(record.errors).to.deep.equal([]);
    expect(record.data.equals(OLD)).to.equal(true);
    expect(rests()).to.deep.equal(["REST 0"]);
    await fc.finish(ftp, false);
  });

  it("tailFor keeps no more than the file's announced size (a tree of small files), RESUME_OVERLAP at most", () => {
    expect(tailFor(3000).window).to.equal(3000);
    expect(tailFor(10 * RESUME_OVERLAP).window).to.equal(RESUME_OVERLAP);
    expect(tailFor(null).window).to.equal(RESUME_OVERLAP);
    expect(tailFor(0).window).to.equal(1);
  });

  it("DeliveredTail keeps exactly the last bytes, whatever the chunk sizes", () => {
    const all = patternBytes(3, 200_000);
    const tail = new DeliveredTail(1000);
    let at = 0;
    for (const size of [1, 7, 999, 1000, 1001, 3, 5000, 250, 750, 1]) {
      tail.add(all.subarray(at, at + size));
      at += size;
      const held = Math.min(at, 1000);
      expect(tail.length).to.equal(held);
      for (const count of [0, 1, held >> 1, held]) {
        expect(tail.last(count).equals(all.subarray(at - count, at)), `last ${count} after ${at}`).to.equal(true);
      }
    }
  });
});
