/**
 * Under `retry`, a binary STOR or APPE cut mid-transfer goes on from what
 * SIZE says the server holds. SIZE does not say whose bytes those are: a
 * server that keeps the old file until an upload is whole (pure-ftpd -0),
 * a stale part file, another writer. Before it resumes, the upload reads
 * the last bytes held back (REST + RETR, up to RESUME_OVERLAP of them) and
 * compares them with its own: equal, it resumes; else a STOR that still
 * has every byte starts over from 0, and anything else fails with
 * FtpResumeError, never a spliced file reported good.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternBytes } from "../../fixtures/server.js";
import type { Session as FixtureSession } from "../../fixtures/server.js";
import { FtpResumeError, type FTP, type RetryEvent } from "../../lib/index.js";
import { REPLAY_WINDOW } from "../../lib/resume.js";
import { RESUME_OVERLAP } from "../../lib/resume-overlap.js";
import { isTransient } from "../../lib/retry.js";
import { FaultCase, rejectsWith } from "../faults/helpers.js";
import { useTlsFixture } from "../tls/tls-fixture.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const PAYLOAD = patternBytes(3, 400_000);
/** The file on the server before the upload: another version, smaller than what the upload sends before the cut. */
const OLD = patternBytes(9, 150_000);
const CUT = 200_000;

/**
 * A STOR/APPE handler that reads at least `bytes` of the upload, then
 * `keep(before, received)` says what the file holds (the server's
 * view after the break), and `fault` breaks the transfer (by default the
 * data connection is reset).
 */
function cutAfter(
  bytes: number,
  keep: (before: Buffer, received: Buffer) => Buffer,
  fault = (data: Socket, s: FixtureSession): void => {
    data.resetAndDestroy();
    s.reply(426, "Connection reset.");
  },
) {
  return async (s: FixtureSession, arg: string): Promise<void> => {
    const path = s.resolvePath(arg);
    const before = s.vfs.get(path) ?? Buffer.alloc(0);
    s.reply(150, "Ok to send data.");
    const data: Socket = await s.openData();
    const chunks: Buffer[] = [];
    let seen = 0;
    await new Promise<void>((resolve) => {
      data.on("data", (chunk: Buffer) => {
        if (seen >= bytes) return;
        chunks.push(chunk);
        seen += chunk.length;
        if (seen >= bytes) resolve();
      });
      // The fixture hands the data connection over paused.
      data.resume();
    });
    s.vfs.set(path, keep(before, Buffer.concat(chunks)));
    fault(data, s);
  };
}

describe("retry: a resumed upload goes on only from bytes that are its own", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  async function client(): Promise<{ ftp: FTP; events: RetryEvent[] }> {
    const ftp = fc.client({ retry: FAST });
    const events: RetryEvent[] = [];
    ftp.on("retry", (event) => events.push(event));
    await ftp.ready;
    return { ftp, events };
  }

  /** The transfer commands and the REST before each, in order. */
  function transfers(): string[] {
    return fc.srv.commands.filter((line) => /^(REST|STOR|APPE|RETR) /.test(line));
  }

  it("resumes when the server holds the upload's own first bytes: the last 16 KiB read back, one REST for the STOR, the file whole", async () => {
    fc = await FaultCase.start();
    const { ftp, events } = await client();
    fc.srv.once(
      "STOR",
      cutAfter(100_000, (_before, received) => received),
    );
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
    expect(events).to.have.length(1);
    const sent = transfers();
    const held = Number(sent[sent.length - 2].slice(5));
    expect(held).to.be.at.least(100_000);
    expect(sent).to.deep.equal(["STOR /up.bin", `REST ${held - RESUME_OVERLAP}`, "RETR /up.bin", `REST ${held}`, "STOR /up.bin"]);
    await fc.finish(ftp, false);
  });

  it("starts over from 0 when the server still holds an old file of a size within what was sent: never old bytes then new", async () => {
    fc = await FaultCase.start({ files: { "/up.bin": OLD } });
    const { ftp, events } = await client();
    // As pure-ftpd -0: the upload went to a temporary file, and the target is still the old one.
    fc.srv.once(
      "STOR",
      cutAfter(CUT, (before) => before),
    );
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD), "the file is the new one, whole").to.equal(true);
    expect(events).to.have.length(1);
    expect(transfers()).to.deep.equal(["STOR /up.bin", `REST ${OLD.length - RESUME_OVERLAP}`, "RETR /up.bin", "STOR /up.bin"]);
    await fc.finish(ftp, false);
  });

  it("a Buffer source (written before the 150): starts over from 0 onto an old file too, its bytes counted once", async () => {
    fc = await FaultCase.start({ files: { "/up.bin": OLD } });
    const { ftp, events } = await client();
    fc.srv.once(
      "STOR",
      cutAfter(CUT, (before) => before),
    );
    const blocks: number[] = [];
    // The size check after the 226 (SIZE against the bytes sent) passes only if the new start counted them once.
    expect(await ftp.storbinary("STOR /up.bin", PAYLOAD, 64 * 1024, (block) => blocks.push(block.length))).to.match(/^226/);
    expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
    expect(events).to.have.length(1);
    expect(transfers()).to.deep.equal(["STOR /up.bin", `REST ${OLD.length - RESUME_OVERLAP}`, "RETR /up.bin", "STOR /up.bin"]);
    expect(blocks.reduce((sum, length) => sum + length, 0)).to.equal(PAYLOAD.length);
    await fc.finish(ftp, false);
  });

  it("starts over from 0 when the server refuses to send the bytes held (a drop box: RETR 550)", async () => {
    fc = await FaultCase.start({ files: { "/up.bin": OLD } });
    const { ftp } = await client();
    fc.srv.handle("RETR", (s) => s.reply(550, "Permission denied."));
    fc.srv.once(
      "STOR",
      cutAfter(CUT, (before) => before),
    );
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
    // REST 0: the refused RETR's offset is not left pending for the STOR (the fixture keeps it, as servers may).
    expect(transfers()).to.deep.equal(["STOR /up.bin", `REST ${OLD.length - RESUME_OVERLAP}`, "RETR /up.bin", "REST 0", "STOR /up.bin"]);
    await fc.finish(ftp, false);
  });

  it("starts over when the server ignores REST for the read back (more bytes than asked come: ABOR), the session still in step", async () => {
    fc = await FaultCase.start();
    const { ftp } = await client();
    fc.srv.once(
      "STOR",
      cutAfter(100_000, (_before, received) => received),
    );
    fc.srv.once("RETR", async (s) => {
      s.takeRest();
      s.reply(150, "Opening BINARY mode data connection.");
      await s.sendData(s.vfs.get("/up.bin")!);
      s.reply(226, "Transfer complete.");
    });
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
    const sent = transfers().filter((line) => !line.startsWith("REST"));
    expect(sent[0]).to.equal("STOR /up.bin");
    expect(sent[1]).to.equal("RETR /up.bin");
    expect(sent[sent.length - 1]).to.equal("STOR /up.bin");
    // The second STOR goes from 0: no REST right before it.
    const all = transfers();
    expect(all[all.length - 2]).not.to.match(/^REST/);
    // The read back was ended with ABOR once more than was asked came.
    expect(fc.srv.commands.lastIndexOf("ABOR")).to.be.above(fc.srv.commands.indexOf("RETR /up.bin"));
    await fc.finish(ftp, false);
  });

  it("APPE: resumes onto its own bytes after the file's old ones (offsets from the size before)", async () => {
    const LOG = patternBytes(7, 50_000);
    fc = await FaultCase.start({ files: { "/log.bin": LOG } });
    const { ftp } = await client();
    fc.srv.once(
      "APPE",
      cutAfter(100_000, (before, received) => Buffer.concat([before, received])),
    );
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("APPE /log.bin"));
    expect(fc.srv.vfs.get("/log.bin")?.equals(Buffer.concat([LOG, PAYLOAD]))).to.equal(true);
    const sent = transfers();
    expect(sent[0]).to.equal("APPE /log.bin");
    expect(sent.slice(2)).to.deep.equal(["RETR /log.bin", "APPE /log.bin"]);
    // Read back from the end of what it holds: the size before plus the upload's bytes held, less the overlap.
    const rest = Number(sent[1].slice(5));
    expect(rest + RESUME_OVERLAP - LOG.length).to.be.at.least(100_000);
    await fc.finish(ftp, false);
  });

  it("APPE: fails with FtpResumeError (not retried) when another writer changed the bytes after the file's old ones", async () => {
    const LOG = patternBytes(7, 50_000);
    fc = await FaultCase.start({ files: { "/log.bin": LOG } });
    const { ftp, events } = await client();
    const other = patternBytes(8, 100_000);
    fc.srv.once(
      "APPE",
      cutAfter(100_000, (before) => Buffer.concat([before, other])),
    );
    const error = await rejectsWith(
      pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("APPE /log.bin")),
      FtpResumeError,
    );
    expect(error.code).to.equal("ERR_FTP_RESUME");
    expect(isTransient(error)).to.equal(false);
    expect(error.stored).to.equal(LOG.length + other.length);
    expect(error.message).to.match(/holds 150000 bytes of the file, but its bytes 133616\.\.150000 are not those the upload sent there/);
    expect(error.message).to.match(/APPE cannot start over/);
    // Nothing was added to the other writer's bytes.
    expect(fc.srv.vfs.get("/log.bin")?.equals(Buffer.concat([LOG, other]))).to.equal(true);
    expect(fc.srv.commands.filter((line) => line.startsWith("APPE"))).to.have.length(1);
    expect(events).to.have.length(1);
    await fc.finish(ftp, false);
  });

  it("APPE: fails with FtpResumeError when the server refuses to send the bytes held, not appending blind", async () => {
    const LOG = patternBytes(7, 50_000);
    fc = await FaultCase.start({ files: { "/log.bin": LOG } });
    const { ftp } = await client();
    fc.srv.handle("RETR", (s) => s.reply(550, "Permission denied."));
    fc.srv.once(
      "APPE",
      cutAfter(100_000, (before, received) => Buffer.concat([before, received])),
    );
    const error = await rejectsWith(ftp.storbinary("APPE /log.bin", Readable.from([PAYLOAD])), FtpResumeError);
    expect(error.message).to.match(/back was refused \(550 Permission denied\.\)/);
    expect(fc.srv.commands.filter((line) => line.startsWith("APPE"))).to.have.length(1);
    await fc.finish(ftp, false);
  });

  describe("a stream source further on than the 16 MiB it keeps", () => {
    const BIG = patternBytes(11, REPLAY_WINDOW + 4 * 1024 * 1024);
    const chunks = function* (): Generator<Buffer> {
      for (let at = 0; at < BIG.length; at += 64 * 1024) yield BIG.subarray(at, at + 64 * 1024);
    };

    it("fails with FtpResumeError (not retried) when the bytes held within what it keeps are not its own", async () => {
      fc = await FaultCase.start();
      const { ftp, events } = await client();
      const held = BIG.length - 1024 * 1024;
      // The server holds as many bytes as a cut would leave, but the last of them are another writer's.
      const theirs = Buffer.concat([BIG.subarray(0, held - 100), Buffer.alloc(100, 0x55)]);
      fc.srv.once(
        "STOR",
        cutAfter(BIG.length, () => theirs),
      );
      const error = await rejectsWith(ftp.storbinary("STOR /big.bin", Readable.from(chunks())), FtpResumeError);
      expect(isTransient(error)).to.equal(false);
      expect(error.stored).to.equal(held);
      expect(error.message).to.match(new RegExp(`its bytes ${held - RESUME_OVERLAP}\\.\\.${held} are not those the upload sent there`));
      expect(fc.srv.vfs.get("/big.bin")?.equals(theirs), "nothing sent after the other writer's bytes").to.equal(true);
      expect(fc.srv.commands.filter((line) => line.startsWith("STOR"))).to.have.length(1);
      expect(events).to.have.length(1);
      await fc.finish(ftp, false);
    });

    it("fails with FtpResumeError when the server holds exactly up to the first byte still kept: nothing to compare, not resumed blind", async () => {
      fc = await FaultCase.start();
      const { ftp } = await client();
      const held = BIG.length - REPLAY_WINDOW;
      fc.srv.once(
        "STOR",
        cutAfter(BIG.length, () => patternBytes(12, held)),
      );
      const error = await rejectsWith(ftp.storbinary("STOR /big.bin", Readable.from(chunks())), FtpResumeError);
      expect(isTransient(error)).to.equal(false);
      expect(error.keptFrom).to.equal(held);
      expect(error.stored).to.equal(held);
      expect(error.message).to.match(/none of them is still at hand to compare/);
      expect(fc.srv.commands.filter((line) => line.startsWith("STOR"))).to.have.length(1);
      expect(fc.srv.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
      await fc.finish(ftp, false);
    });
  });
});

describe("retry on FTP_TLS: the bytes held are read back over a protected data connection", () => {
  const fx = useTlsFixture();

  it("an old file left after the control connection dropped mid-STOR is not resumed onto: starts over on the new connection", async () => {
    const srv = await fx.start({ tls: { requireSessionReuse: true }, files: { "/up.bin": OLD } });
    const ftp = fx.client({ timeout: 10_000, retry: FAST });
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    await ftp.prot_p();
    srv.once(
      "STOR",
      cutAfter(
        CUT,
        (before) => before,
        (_data, s) => s.drop(),
      ),
    );
    await pipeline(Readable.from([PAYLOAD.subarray(0, CUT), PAYLOAD.subarray(CUT)]), ftp.storbinary("STOR /up.bin"));
    expect(srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
    const sent = srv.commands.filter((line) => /^(REST|STOR|RETR|PROT) /.test(line));
    expect(sent).to.deep.equal(["PROT P", "STOR /up.bin", "PROT P", `REST ${OLD.length - RESUME_OVERLAP}`, "RETR /up.bin", "STOR /up.bin"]);
  });
});
