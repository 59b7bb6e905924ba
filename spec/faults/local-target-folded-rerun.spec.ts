/**
 * A tree download run again over a target on a disk that folds letter case
 * or Unicode form (macOS, Windows), from a server holding two names that
 * disk takes for one (`README` and `readme`, or `café` in NFC and in NFD).
 * The first run writes one name and fails the other (same-file, see
 * sync/same-local-file). The next run found the first name unchanged and
 * skipped it, then wrote the second name over that very file, since this
 * run had not written it: both names reported done, one file holding the
 * second's bytes under the first's entry, and the run after that flipped it
 * back, for ever, each run exiting 0.
 *
 * This machine's disks fold nothing: as in sync/same-local-file, the
 * folding is played by a hard link from the second name to the first's
 * file, made once the local walk has read the target (when the server
 * lists the tree): what the walk saw is one name, what an lstat of the
 * other name finds is that name's file.
 *
 * A local file under another spelling of a name that only the source has
 * (the server renamed `readme` to `README`) is that name's file: it is
 * replaced, as before, not refused.
 *
 * Hard links of the target's own (one file under two walked names, or a
 * file linked from outside the target, as `cp -al` backups make) are no
 * such alias: both names are downloaded, each replaced by rename, so the
 * other name, inside or outside the target, keeps its bytes.
 */
import { expect } from "chai";
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type BigIntStats } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTINS } from "../../fixtures/builtins.js";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPathError } from "../../lib/index.js";
import { LocalWrites, mayBeListed } from "../../lib/part-file.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** Calls `fold` when the server first lists a directory: a streamed download's local walk is done by then. */
function foldOnListing(srv: FixtureServer, fold: () => void): void {
  let folded = false;
  for (const verb of ["MLSD", "LIST"] as const) {
    srv.handle(verb, async (s, arg) => {
      if (!folded) fold();
      folded = true;
      await BUILTINS[verb](s, arg);
    });
  }
}

/** The names RETR was sent for in `commands`, as the last segment of each path. */
function retrieved(commands: string[]): string[] {
  return commands.filter((line) => line.startsWith("RETR ")).map((line) => line.split("/").pop()!);
}

describe("faults: local target, a rerun over two remote names that are one local file", () => {
  const fixtures = useFixtures();
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ftpstream-folded-rerun-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  for (const [kind, first, second] of [
    ["letter case", "README", "readme"],
    ["Unicode form (NFC, NFD)", "caf\u00e9.txt", "cafe\u0301.txt"],
  ] as const) {
    // Files start as their directory is listed (the local walk is done by then), or once the whole plan is made (onPlan).
    for (const planned of [false, true]) {
      it(`${kind}, ${planned ? "planned first" : "streamed"}: the second name is refused (same-file) before it is fetched, not written over the unchanged first`, async () => {
        const srv = await fixtures.server({ files: { [`/t/${first}`]: "upper", [`/t/${second}`]: "lower" } });
        const local = join(root, "t");
        const ftp = await fixtures.client(srv);
        // The first run, as a folding disk leaves it: the first name written, with the server's time.
        await ftp.downloadDir("/t", local, { filter: (entry) => entry.path !== second });
        expect(readFileSync(join(local, first), "utf8")).to.equal("upper");
        const fold = (): void => linkSync(join(local, first), join(local, second));
        if (!planned) foldOnListing(srv, fold);
        const from = srv.commands.length;

        const error = await rejectionOf(ftp.downloadDir("/t", local, planned ? { onPlan: fold } : {}));

        expect(error).to.be.instanceOf(FtpDirTransferError);
        const failures = (error as FtpDirTransferError).failures;
        expect(failures.map((f) => f.path)).to.deep.equal([second]);
        expect(failures[0].error).to.be.instanceOf(FtpPathError);
        expect((failures[0].error as FtpPathError).reason).to.equal("same-file");
        expect(failures[0].error.message).to.include(JSON.stringify(first));
        expect((error as FtpDirTransferError).result.skipped).to.equal(1);
        expect(retrieved(srv.commands.slice(from))).to.deep.equal([]);
        expect(readFileSync(join(local, first), "utf8")).to.equal("upper");
        expect(readFileSync(join(local, second), "utf8")).to.equal("upper");
      });
    }
  }

  for (const planned of [false, true]) {
    it(`the local file under another spelling of a name only the source's (${planned ? "planned first" : "streamed"}): replaced as that name, not refused`, async () => {
      // The server renamed readme to README: the folding disk holds the old spelling, which the source no longer has.
      const srv = await fixtures.server({ files: { "/t/README": "new content" } });
      const local = join(root, "t");
      mkdirSync(local);
      writeFileSync(join(local, "readme"), "old");
      const fold = (): void => linkSync(join(local, "readme"), join(local, "README"));
      if (!planned) foldOnListing(srv, fold);
      const ftp = await fixtures.client(srv);
      const result = await ftp.downloadDir("/t", local, planned ? { onPlan: fold } : {});
      expect(result.transferred).to.equal(1);
      expect(readFileSync(join(local, "README"), "utf8")).to.equal("new content");
    });
  }

  describe("mayBeListed: which other names count as the source's while a streamed download is still listing", () => {
    // Docs/x.txt was walked as inode 42; a folding disk gives docs/x.txt that file.
    const target = new Map([["Docs/x.txt", { type: "file", walked: { dev: 7, ino: 42 } }]]);
    const found = { dev: 7n, ino: 42n } as BigIntStats;
    const check = (listed: string[]): (() => void) => {
      const writes = new LocalWrites(target, mayBeListed(new Set(listed)));
      return () => writes.assertNotWritten(found, "docs/x.txt");
    };

    it("a directory listed but not read yet (Docs): its file may still come, so docs/x.txt is refused", () => {
      expect(check(["Docs", "docs", "docs/x.txt"])).to.throw(FtpPathError, /"Docs\/x.txt", a file of the source too/);
    });

    it("a directory read without that file (Docs/y.txt only): docs/x.txt is that file under another spelling, replaced", () => {
      expect(check(["Docs", "Docs/y.txt", "docs", "docs/x.txt"])).to.not.throw();
    });

    it("a directory the read root lacks (the server renamed Docs to docs): replaced", () => {
      expect(check(["docs", "docs/x.txt"])).to.not.throw();
    });

    it("the file itself listed (Docs/x.txt): refused", () => {
      expect(check(["Docs", "Docs/x.txt", "docs", "docs/x.txt"])).to.throw(FtpPathError, /"Docs\/x.txt", a file of the source too/);
    });
  });

  it("two walked names of one file (a hard link inside the target) are both downloaded, each replaced, not refused", async () => {
    const srv = await fixtures.server({ files: { "/t/a.txt": "new a", "/t/b.txt": "new b" } });
    const local = join(root, "t");
    mkdirSync(local);
    writeFileSync(join(local, "a.txt"), "old");
    linkSync(join(local, "a.txt"), join(local, "b.txt"));
    const ftp = await fixtures.client(srv);
    const result = await ftp.downloadDir("/t", local);
    expect(result.transferred).to.equal(2);
    expect(readFileSync(join(local, "a.txt"), "utf8")).to.equal("new a");
    expect(readFileSync(join(local, "b.txt"), "utf8")).to.equal("new b");
  });

  it("a target file hard-linked from outside the target (cp -al) is replaced: the outside file keeps its bytes", async () => {
    const srv = await fixtures.server({ files: { "/t/a.txt": "new content" } });
    const local = join(root, "t");
    mkdirSync(local);
    writeFileSync(join(root, "backup-a.txt"), "old");
    linkSync(join(root, "backup-a.txt"), join(local, "a.txt"));
    const ftp = await fixtures.client(srv);
    const result = await ftp.downloadDir("/t", local);
    expect(result.transferred).to.equal(1);
    expect(readFileSync(join(local, "a.txt"), "utf8")).to.equal("new content");
    expect(readFileSync(join(root, "backup-a.txt"), "utf8")).to.equal("old");
  });
});
