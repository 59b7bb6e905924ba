/**
 * A download to a local name longer than a file name may be (NAME_MAX: 255
 * bytes on Linux) failed with fs's raw ENAMETOOLONG, an untyped error, at
 * whatever step touched the disk first: downloadDir's real run at the file
 * (its dry run listed it as would transfer), the queue worker's lstat,
 * downloadSegmented's rename after the whole file was fetched, get's check
 * of its target. Each now fails with FtpPathError, reason "name-too-long",
 * naming the path, where the name is known and before a byte of it is
 * fetched; the dry run and the real run say the same. A name of 240 to
 * 255 bytes still fits (its part name is shortened, see part-file.ts), and
 * a part name the disk refuses all the same (a path past PATH_MAX) says it
 * is the part's.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FTP, FtpDirTransferError, FtpPathError, FtpPool } from "../../lib/index.js";
import { writeThroughPart } from "../../lib/part-file.js";
import { runCli, useCliFixture } from "../cli/run-cli.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { attemptJob, downloadJob, jobBounds } from "../distributed/tree-job.js";

/** 256 bytes: one past NAME_MAX. */
const LONG = `${"n".repeat(252)}.txt`;
/** 240 bytes: fits, its whole part name (256 bytes) does not. */
const FITS = `${"f".repeat(236)}.txt`;
/** 300 bytes in 100 letters of a multibyte script (3 bytes each in UTF-8): too long on Linux and macOS, not on Windows (100 UTF-16 units). */
const LONG_DIR = "\u6587".repeat(100);

describe("faults: local names longer than NAME_MAX", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-name-too-long-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("downloadDir: the dry run and the real run both fail the long file and the long directory (name-too-long), nothing of them fetched", async () => {
    const srv = await fx.server({
      files: { "/r/ok.txt": "ok", [`/r/${FITS}`]: "fits", [`/r/${LONG}`]: "long", [`/r/${LONG_DIR}/x.txt`]: "below" },
    });
    const ftp = await fx.client(srv);
    const told: Array<{ planned: string[]; failures: string[] }> = [];
    for (const dryRun of [true, false]) {
      const local = join(dir, dryRun ? "dry" : "real");
      const planned: string[] = [];
      const from = srv.commands.length;
      const error = await rejectionOf(
        ftp.downloadDir("/r", local, { dryRun, onPlan: (plan) => planned.push(...plan.map((file) => file.path)) }),
      );
      expect(error, String(error)).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      for (const { error: failure } of failures) expect(failure).to.be.instanceOf(FtpPathError).and.include({ reason: "name-too-long" });
      told.push({ planned: planned.sort(), failures: failures.map(({ path }) => path).sort() });
      const fetched = srv.commands.slice(from).filter((line) => line.startsWith("RETR"));
      expect(fetched.map((line) => line.split("/").pop()).sort()).to.deep.equal(dryRun ? [] : [FITS, "ok.txt"].sort());
    }
    expect(told[0]).to.deep.equal(told[1]);
    expect(told[0]).to.deep.equal({ planned: [FITS, "ok.txt"].sort(), failures: [LONG, LONG_DIR].sort() });
    expect(readFileSync(join(dir, "real", FITS), "utf8")).to.equal("fits");
    expect(readdirSync(join(dir, "real")).sort()).to.deep.equal([FITS, "ok.txt"].sort());
  });

  it("the failure names the path and the name too long, with its bytes", async () => {
    const srv = await fx.server({ files: { [`/r/${LONG_DIR}/x.txt`]: "below" } });
    const ftp = await fx.client(srv);
    const error = (await rejectionOf(ftp.downloadDir("/r", join(dir, "t")))) as FtpDirTransferError;
    expect(error.failures.map(({ path }) => path)).to.deep.equal([LONG_DIR]);
    expect(error.failures[0].error.message).to.include("has 300 bytes, more than a local file name may have (255)");
  });

  it("a queue worker's job fails at once (name-too-long) before it connects", async () => {
    const srv = await fx.server({ files: { [`/r/${LONG}`]: "long" } });
    const outcome = await attemptJob(downloadJob(srv, dir, LONG, 4), () => fx.client(srv), jobBounds(srv, dir));
    expect(outcome.connects).to.equal(0);
    const cause = (outcome.error as Error & { cause?: unknown })?.cause;
    expect(outcome.error?.name, String(outcome.error)).to.equal("UnrecoverableError");
    expect(cause).to.be.instanceOf(FtpPathError).and.include({ reason: "name-too-long", path: LONG });
  });

  it("a queue worker's job below a directory whose name is too long fails the same", async () => {
    const srv = await fx.server({ files: { [`/r/${LONG_DIR}/x.txt`]: "below" } });
    const outcome = await attemptJob(downloadJob(srv, dir, `${LONG_DIR}/x.txt`, 5), () => fx.client(srv), jobBounds(srv, dir));
    expect(outcome.connects).to.equal(0);
    const cause = (outcome.error as Error & { cause?: unknown })?.cause;
    expect(cause)
      .to.be.instanceOf(FtpPathError)
      .and.include({ reason: "name-too-long", path: `${LONG_DIR}/x.txt` });
    expect(existsSync(join(dir, LONG_DIR.slice(0, 10)))).to.equal(false);
  });

  it("FtpPool.downloadSegmented: refused (name-too-long) before RETR, no part left", async () => {
    const srv = await fx.server({ files: { "/f.bin": "x".repeat(4096) } });
    const pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" }) });
    try {
      const target = join(dir, LONG);
      const error = await rejectionOf(pool.downloadSegmented("/f.bin", target, { segments: 2, minSegmentSize: 1024 }));
      expect(error).to.be.instanceOf(FtpPathError).and.include({ reason: "name-too-long", path: target });
      expect(srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
      expect(readdirSync(dir)).to.deep.equal([]);
    } finally {
      await pool.close();
    }
  });

  it("a part file the disk refuses as too long (a path past PATH_MAX, every name fitting): name-too-long, saying it is the part's", async () => {
    // Levels of 200 bytes up to some 4,090 bytes in all: the target's path fits PATH_MAX (4,096), its part's does not.
    let deep = dir;
    while (Buffer.byteLength(join(deep, "d".repeat(200), "x")) < 4060) deep = join(deep, "d".repeat(200));
    mkdirSync(deep, { recursive: true });
    const name = "x".repeat(4090 - Buffer.byteLength(deep) - 1);
    const relative = `${deep.slice(dir.length + 1)}/${name}`;
    let fetched = false;
    const error = await rejectionOf(
      writeThroughPart(dir, relative, async () => {
        fetched = true;
        return { bytes: 0, modified: null };
      }),
    );
    expect(fetched).to.equal(false);
    expect(error).to.be.instanceOf(FtpPathError).and.include({ reason: "name-too-long", path: relative });
    expect(error.message).to.include("the disk refused its part file");
  });

  describe("ftpstream get", () => {
    const { dir: cwd, start } = useCliFixture("ftpstream-cli-name-too-long-");

    it("to a local name too long: exits 1 saying so, before it connects", async () => {
      const server = await start({ files: { "/pub/a.txt": "downloaded\n" } });
      const run = await runCli(["get", `ftp://user:pass@127.0.0.1:${server.port}/pub/a.txt`, LONG], { cwd: cwd(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include("has 256 bytes, more than a local file name may have (255)");
      expect(server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
      expect(readdirSync(cwd())).to.deep.equal([]);
    });
  });
});
