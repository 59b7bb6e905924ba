/**
 * FtpPool.downloadSegmented refuses a symbolic link at its local target,
 * as get and the tree downloads do (FtpPathError, reason "link"): the
 * rename of its part put the file in the link's place, the user's link
 * gone, after the whole file was fetched. Refused before a byte is
 * fetched; a link put there while the segments ran is refused before the
 * rename too. The link and what it points to stay as they were, and no
 * part file is left.
 */
import { expect } from "chai";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternBytes, patternFile } from "../../fixtures/server.js";
import { FTP, FtpPathError, FtpPool } from "../../lib/index.js";
import { rejectsWith } from "../faults/helpers.js";

const MiB = 1024 * 1024;
const SIZE = 3 * MiB;
const SEGMENTS = { segments: 3, minSegmentSize: MiB };

describe("FtpPool.downloadSegmented: a symbolic link at the target is refused, never replaced", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let root: string;
  let dir: string;
  let target: string;
  /** What the link points to, outside the directory written to. */
  let pointed: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/big.bin": patternFile(SIZE) } });
    pool = new FtpPool({ size: 3, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    root = mkdtempSync(join(tmpdir(), "ftpstream-segmented-link-"));
    dir = join(root, "out");
    mkdirSync(dir);
    target = join(dir, "big.bin");
    pointed = join(root, "elsewhere.bin");
    writeFileSync(pointed, "the user's file\n");
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The link is still there, still pointing where it did, and what it points to is untouched; no part file. */
  function expectLinkKept(): void {
    expect(lstatSync(target).isSymbolicLink(), "the link is still there").to.equal(true);
    expect(readlinkSync(target)).to.equal(pointed);
    expect(readFileSync(pointed, "utf8")).to.equal("the user's file\n");
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
  }

  it("refuses with FtpPathError (reason link) before any RETR", async () => {
    symlinkSync(pointed, target);
    const error = await rejectsWith(pool.downloadSegmented("/big.bin", target, SEGMENTS), FtpPathError);
    expect(error.reason).to.equal("link");
    expect(error.path).to.equal(target);
    expect(error.message).to.match(/it is a link in the target/);
    expect(server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
    expectLinkKept();
  });

  it("refuses a link to a directory (or a dangling one) the same way", async () => {
    for (const to of [join(root, "a-dir"), join(root, "nothing-there")]) {
      if (to.endsWith("a-dir")) mkdirSync(to);
      symlinkSync(to, target);
      const error = await rejectsWith(pool.downloadSegmented("/big.bin", target, SEGMENTS), FtpPathError);
      expect(error.reason, to).to.equal("link");
      expect(readlinkSync(target)).to.equal(to);
      rmSync(target);
    }
    expect(server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
  });

  it("refuses a link put at the target while the segments ran, before the rename", async () => {
    let linked = false;
    server.handle("RETR", async (s, arg) => {
      // Once the first segment has begun: the call's own check is behind it.
      if (!linked) {
        linked = true;
        symlinkSync(pointed, target);
      }
      return s.defaultHandler("RETR", arg);
    });
    const error = await rejectsWith(pool.downloadSegmented("/big.bin", target, SEGMENTS), FtpPathError);
    expect(error.reason).to.equal("link");
    expectLinkKept();
  });

  it("still replaces a plain file at the target", async () => {
    writeFileSync(target, "old\n");
    expect(await pool.downloadSegmented("/big.bin", target, SEGMENTS)).to.equal(SIZE);
    expect(readFileSync(target).equals(patternBytes(0, SIZE))).to.equal(true);
  });
});
