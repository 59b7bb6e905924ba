/**
 * downloadSegmented writes into a part file beside the target and renames
 * it over the target only once every segment is complete. A failed
 * segment leaves nothing that looks complete: no file at the target (or
 * the old one untouched), no part file. The part file is created
 * exclusively: a stale one or a link at its name is unlinked, never
 * written through.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternBytes, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, FtpPool, FtpTempError } from "../../lib/index.js";
import { rejectsWith } from "../faults/helpers.js";

const MiB = 1024 * 1024;
const SIZE = 3 * MiB;
const SEGMENTS = { segments: 3, minSegmentSize: MiB };
const PART = ".big.bin.ftpstream-part";

describe("FtpPool.downloadSegmented: a part file, renamed into place only when complete", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let root: string;
  let dir: string;
  let target: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/big.bin": patternFile(SIZE) } });
    pool = new FtpPool({ size: 3, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    root = mkdtempSync(join(tmpdir(), "ftpstream-segmented-"));
    dir = join(root, "out");
    mkdirSync(dir);
    target = join(dir, "big.bin");
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The middle segment (from 1 MiB) gets 100 KB of its bytes, then 451. */
  function failMiddleSegment(): void {
    server.handle("RETR", async (s, arg) => {
      if (s.state.rest !== MiB) return s.defaultHandler("RETR", arg);
      s.state.rest = 0;
      s.reply(150, "Opening BINARY mode data connection for big.bin.");
      await s.sendData(patternBytes(MiB, 100_000));
      s.reply(451, "Local error in processing.");
    });
  }

  it("rejects when a segment fails mid-way, leaving no file at the target and no part file", async () => {
    failMiddleSegment();
    await rejectsWith(pool.downloadSegmented("/big.bin", target, SEGMENTS), FtpTempError);
    expect(readdirSync(dir)).to.deep.equal([]);
    // The pool's clients are still usable after the segments were cut off.
    expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
  });

  it("leaves a file already at the target untouched when a segment fails", async () => {
    writeFileSync(target, "the old contents\n");
    failMiddleSegment();
    await rejectsWith(pool.downloadSegmented("/big.bin", target, SEGMENTS), FtpTempError);
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
    expect(readFileSync(target, "utf8")).to.equal("the old contents\n");
  });

  it("renames the complete file over the target, leaving no part file", async () => {
    writeFileSync(target, "the old contents\n");
    expect(await pool.downloadSegmented("/big.bin", target, SEGMENTS)).to.equal(SIZE);
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
    expect(patternMismatch(readFileSync(target))).to.equal(-1);
    expect(readFileSync(target).length).to.equal(SIZE);
  });

  it("unlinks a stale part file and a link at the part file's name, never writing through the link", async () => {
    const victim = join(root, "victim.txt");
    writeFileSync(victim, "not yours\n");
    symlinkSync(victim, join(dir, PART));
    expect(await pool.downloadSegmented("/big.bin", target, SEGMENTS)).to.equal(SIZE);
    expect(readFileSync(victim, "utf8")).to.equal("not yours\n");
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
    expect(patternMismatch(readFileSync(target))).to.equal(-1);

    writeFileSync(join(dir, PART), "left by a run that was killed");
    rmSync(target);
    expect(await pool.downloadSegmented("/big.bin", target, SEGMENTS)).to.equal(SIZE);
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
    expect(patternMismatch(readFileSync(target))).to.equal(-1);
  });

  it("refuses a directory at the part file's name, touching neither it nor the target", async () => {
    mkdirSync(join(dir, PART));
    writeFileSync(join(dir, PART, "keep.txt"), "keep");
    const error = await pool.downloadSegmented("/big.bin", target, SEGMENTS).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: unknown }).code).to.equal("ERR_FTP_PART_FILE");
    expect(readdirSync(dir)).to.deep.equal([PART]);
    expect(readFileSync(join(dir, PART, "keep.txt"), "utf8")).to.equal("keep");
    expect(server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
  });
});
