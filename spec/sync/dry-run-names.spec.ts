/**
 * A dry run must promise what the real run does, no more and no less,
 * whatever names the source holds. Download direction: a hostile server
 * names the entries. A listing cannot give a name holding CR or LF (its
 * lines split on CRLF, a lone CR and a lone LF alike), so the names it can
 * give are: NUL, `/`, `\`, `.`, `..` and `...` (refused by the walk, in
 * both runs, as names not one path segment), bytes such as ESC (a valid
 * name, fetched by both), and a directory at a file's part name
 * (`.a.txt.ftpstream-part/`): the real run cannot download `a.txt` through
 * it and fails it, where the dry run listed it as a file to transfer and
 * resolved. Now refused with the plan, in both runs; an upload with
 * `partFiles` likewise.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpDirTransferError, type DirTransferOptions, type FtpPathFailure } from "../../lib/index.js";
import { serveMlsd } from "../cli/mirror-hostile-helpers.js";
import { useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

/** What a run said it did: files planned (onPlan) or fetched, what it deleted, each failure's path and code, and whether it resolved. */
interface Told {
  planned: string[];
  /** What onDelete was told. */
  deleted: string[];
  failures: string[];
  resolved: boolean;
}

const failed = (failures: readonly FtpPathFailure[]): string[] =>
  failures.map(({ path, error }) => `${path} ${(error as { code?: string }).code ?? error.name}`).sort();

describe("tree transfers: a dry run and the real run agree on the names the source holds", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-dry-run-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fx = useFixtures();

  /**
   * downloadDir of /r (served by `mlsd` lines when given) with delete, as a
   * dry run, then for real: what each said, and the local tree after the
   * real one (a local extra.txt, which both delete, beside what came).
   */
  async function downloadBoth(
    files: Record<string, string>,
    options: DirTransferOptions,
    mlsd?: string[],
  ): Promise<{ dry: Told; real: Told; after: Record<string, string | null> }> {
    const srv = await fx.server({ files });
    if (mlsd) serveMlsd(srv, "/r", mlsd);
    const ftp = await fx.client(srv);
    const runs: Told[] = [];
    let after: Record<string, string | null> = {};
    for (const dryRun of [true, false]) {
      const local = join(dir, dryRun ? "dry" : "real");
      mkdirSync(local);
      writeFileSync(join(local, "extra.txt"), "e");
      const planned: string[] = [];
      const deleted: string[] = [];
      const onDelete = (path: string): number => deleted.push(path);
      const onPlan = (plan: Array<{ path: string }>): number => planned.push(...plan.map((file) => file.path));
      // The real run streams (pipelining, no onPlan) unless `options` says otherwise: what it fetched is read from the disk.
      const settings: DirTransferOptions = { ...options, delete: true, onDelete, ...(dryRun ? { dryRun, onPlan } : {}) };
      const outcome = await ftp.downloadDir("/r", local, settings).catch((error: unknown) => error as Error);
      const failures = outcome instanceof FtpDirTransferError ? failed(outcome.failures) : [];
      if (!(outcome instanceof FtpDirTransferError) && outcome instanceof Error) throw outcome;
      if (!dryRun) {
        after = localTree(local);
        planned.push(...Object.keys(after).filter((path) => after[path] !== null && path !== "extra.txt"));
      }
      runs.push({ planned: planned.sort(), deleted: deleted.sort(), failures, resolved: !(outcome instanceof Error) });
    }
    return { dry: runs[0], real: runs[1], after };
  }

  for (const pipelining of [true, false]) {
    const how = `pipelining ${pipelining ? "on" : "off"}`;

    it(`download, ${how}: a file beside a directory at its part name fails in the dry run as in the real run, not listed as a transfer`, async () => {
      const files = { "/r/a.txt": "a", "/r/b.txt": "b", "/r/.a.txt.ftpstream-part/x.txt": "x" };
      const { dry, real, after } = await downloadBoth(files, { pipelining });
      expect(real.failures).to.deep.equal(["a.txt ERR_FTP_PART_FILE"]);
      expect(dry).to.deep.equal({
        planned: [".a.txt.ftpstream-part/x.txt", "b.txt"],
        deleted: ["extra.txt"],
        failures: ["a.txt ERR_FTP_PART_FILE"],
        resolved: false,
      });
      expect(real).to.deep.equal(dry);
      expect(after).to.deep.equal({ ".a.txt.ftpstream-part": null, ".a.txt.ftpstream-part/x.txt": "x", "b.txt": "b" });
    });

    it(`download, ${how}: names a hostile MLSD gives (NUL, separators, dot segments, "...", ESC) are refused or fetched alike`, async () => {
      const files = { "/r/ok.txt": "o", "/r/e\x1bsc.txt": "e", "/r/...": "d" };
      const mlsd = [
        "type=cdir;modify=20240101000000; .",
        "type=file;size=1;modify=20240101000000; ok.txt",
        "type=file;size=1;modify=20240101000000; e\x1bsc.txt",
        "type=file;size=1;modify=20240101000000; ...",
        "type=file;size=1;modify=20240101000000; n\0ul.txt",
        "type=file;size=1;modify=20240101000000; a\\b.txt",
        "type=file;size=1;modify=20240101000000; c/d.txt",
        "type=dir;modify=20240101000000; ..",
        "type=file;size=1;modify=20240101000000; ..",
      ];
      const { dry, real } = await downloadBoth(files, { pipelining }, mlsd);
      // "..." too is refused: Windows trims a name's trailing dots, and reads it as "." (see isClimbingSegment).
      expect(dry.planned).to.deep.equal(["e\x1bsc.txt", "ok.txt"]);
      // ".." is no entry (the listing's parent), in both runs.
      expect(dry.failures).to.deep.equal([
        "... ERR_FTP_BAD_PATH",
        "a\\b.txt ERR_FTP_BAD_PATH",
        "c/d.txt ERR_FTP_BAD_PATH",
        "n\0ul.txt ERR_FTP_BAD_PATH",
      ]);
      expect(real).to.deep.equal(dry);
    });
  }

  it("upload with partFiles: a file beside a local directory at its part name fails in the dry run as in the real run", async () => {
    const srv = await fx.server({ files: { "/r/extra.txt": "e" } });
    const ftp = await fx.client(srv);
    const local = join(dir, "src");
    mkdirSync(join(local, ".a.txt.ftpstream-part"), { recursive: true });
    writeFileSync(join(local, ".a.txt.ftpstream-part", "x.txt"), "x");
    writeFileSync(join(local, "a.txt"), "a");
    writeFileSync(join(local, "b.txt"), "b");
    const planned: string[] = [];
    const outcomes: string[][] = [];
    for (const dryRun of [true, false]) {
      const settings: DirTransferOptions = {
        partFiles: true,
        dryRun,
        onPlan: (plan) => dryRun && planned.push(...plan.map((f) => f.path)),
      };
      const error = await ftp.uploadDir(local, "/r", settings).catch((caught: unknown) => caught);
      expect(error, `dryRun ${dryRun}`).to.be.instanceOf(FtpDirTransferError);
      outcomes.push(failed((error as FtpDirTransferError).failures));
    }
    expect(outcomes).to.deep.equal([["a.txt ERR_FTP_PART_FILE"], ["a.txt ERR_FTP_PART_FILE"]]);
    expect(planned.sort()).to.deep.equal([".a.txt.ftpstream-part/x.txt", "b.txt"]);
    // Nothing sent for a.txt, neither to its name nor to its part name.
    const writes = srv.commands.filter((line) => /^(STOR|APPE|RNFR|RNTO|DELE) /.test(line) && !line.includes("ftpstream-part/"));
    expect(writes.filter((line) => line.includes("a.txt"))).to.deep.equal([]);
    expect(remoteTree(srv, "/r")).to.deep.equal({
      "extra.txt": "e",
      ".a.txt.ftpstream-part": null,
      ".a.txt.ftpstream-part/x.txt": "x",
      "b.txt": "b",
    });
  });
});
