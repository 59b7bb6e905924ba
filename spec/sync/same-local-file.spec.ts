/**
 * Two names of a tree that are one local file: on a disk that folds letter
 * case or Unicode form (macOS and Windows by default), `README` and
 * `readme` of a Linux server land in one file. A tree download must not
 * let the second replace the first's bytes, nor take the first's part file
 * for a stale one, and report both done. This machine's disks fold
 * nothing, so the folding is played by a hard link made where the disk
 * would resolve the second name to the first file: that is all such a
 * disk does, as far as the download can see (one inode, two names).
 */
import { expect } from "chai";
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, type BigIntStats } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTINS } from "../../fixtures/builtins.js";
import { FtpDirTransferError, FtpPathError } from "../../lib/index.js";
import { LocalWrites, partName, writeThroughPart } from "../../lib/part-file.js";
import { rejectionOf, until, useFixtures } from "../core/helpers.js";
import { writing } from "./part-writes.js";

describe("sync: two names of the tree that are one local file (a disk folding letter case)", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ftpstream-same-file-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("one after the other: the second is refused before anything is fetched, and the first keeps its bytes", async () => {
    const writes = new LocalWrites();
    await writeThroughPart(root, "README", writing("upper"), writes);
    // The disk resolves "readme" to README's file.
    linkSync(join(root, "README"), join(root, "readme"));
    let fetched = false;
    const error = await rejectionOf(
      writeThroughPart(
        root,
        "readme",
        writing("lower", async () => void (fetched = true)),
        writes,
      ),
    );
    expect(error).to.be.instanceOf(FtpPathError);
    expect((error as FtpPathError).reason).to.equal("same-file");
    expect((error as FtpPathError).path).to.equal("readme");
    expect(fetched).to.equal(false);
    expect(readFileSync(join(root, "README"), "utf8")).to.equal("upper");
  });

  it("one after the other, the name becoming the first's file during the transfer: refused before the rename", async () => {
    const writes = new LocalWrites();
    await writeThroughPart(root, "README", writing("upper"), writes);
    const error = await rejectionOf(
      writeThroughPart(
        root,
        "readme",
        writing("lower", async () => linkSync(join(root, "README"), join(root, "readme"))),
        writes,
      ),
    );
    expect((error as FtpPathError).reason).to.equal("same-file");
    expect(readFileSync(join(root, "README"), "utf8")).to.equal("upper");
  });

  it("at once: the first's part file is not taken for a stale one; the second fails and the first ends whole", async () => {
    const writes = new LocalWrites();
    let second: Promise<unknown> | undefined;
    const first = writeThroughPart(
      root,
      "README",
      writing("upper", async () => {
        // README's part file is open: the disk resolves readme's part name to it.
        linkSync(partName(join(root, "README")), partName(join(root, "readme")));
        second = rejectionOf(writeThroughPart(root, "readme", writing("lower"), writes));
        await second;
      }),
      writes,
    );
    expect(await first).to.equal(5);
    const error = await second!;
    expect((error as FtpPathError).reason).to.equal("same-file");
    expect(readFileSync(join(root, "README"), "utf8")).to.equal("upper");
  });

  it("a part file a killed run left (not written by this run) is still replaced", async () => {
    const writes = new LocalWrites();
    await writeThroughPart(root, "a.txt", writing("old"), writes);
    linkSync(join(root, "a.txt"), partName(join(root, "b.txt")));
    expect(await writeThroughPart(root, "b.txt", writing("new"), writes)).to.equal(3);
    expect(readFileSync(join(root, "b.txt"), "utf8")).to.equal("new");
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("old");
  });

  it("tracks nothing on a disk that gives no inode numbers (0 for every file): no file is refused for another", () => {
    const writes = new LocalWrites();
    // Every file of such a disk looks alike: nothing may be taken for another.
    const noInode = { dev: 7n, ino: 0n } as BigIntStats;
    writes.writing(noInode);
    writes.assertNotWriting(noInode, "b.txt");
    writes.done(noInode, "a.txt");
    writes.assertNotWritten(noInode, "b.txt");
    // Where the disk gives them, the same calls catch it.
    const known = { dev: 7n, ino: 42n } as BigIntStats;
    writes.writing(known);
    expect(() => writes.assertNotWriting(known, "d.txt")).to.throw(FtpPathError, /being written to/);
    writes.done(known, "c.txt");
    expect(() => writes.assertNotWritten(known, "d.txt")).to.throw(FtpPathError, /wrote as "c.txt"/);
  });

  describe("downloadDir", () => {
    const fixtures = useFixtures();

    it("fails the second of two names that are one local file, and keeps the first whole", async () => {
      const srv = await fixtures.server({ files: { "/t/README": "upper", "/t/readme": "lower" } });
      const local = join(root, "t");
      // The second name's RETR waits for the first's file to be in place (its
      // download goes on locally after its 226), which the disk would then
      // resolve the second name to.
      let first: string | undefined;
      srv.handle("RETR", async (s, arg) => {
        const name = arg.split("/").pop()!;
        if (first === undefined) first = name;
        else {
          await until(() => existsSync(join(local, first!)), "the first file in place");
          linkSync(join(local, first), join(local, name));
        }
        await BUILTINS.RETR(s, arg);
      });
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/t", local));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures).to.have.length(1);
      expect(failures[0].error).to.be.instanceOf(FtpPathError);
      expect((failures[0].error as FtpPathError).reason).to.equal("same-file");
      expect(failures[0].path).to.not.equal(first);
      expect(readFileSync(join(local, first!), "utf8")).to.equal(first === "README" ? "upper" : "lower");
    });
  });
});
