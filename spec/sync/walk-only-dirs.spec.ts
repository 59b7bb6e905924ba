/**
 * A directory `filter` answers `"walk"` (the CLI's `--include` globs do,
 * for a directory no rule decides) is walked but not made on the target
 * for its own sake: downloadDir and uploadDir make it only above a file
 * they transfer or above a directory the filter took in, and `delete`
 * does not remove the target's for itself. Before, every directory an
 * include walked was made, so `--include '*.csv'` left the target's
 * copy of the whole directory tree, empty. A boolean filter's directory
 * is made as before, empty or not.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globFilter } from "../../lib/glob-filter.js";
import type { DirTransferOptions } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { localTree, remoteTree } from "./trees.js";

/** The tree both ways, by path below its root ("/" ending an empty directory). */
const TREE: Record<string, string> = {
  "top.csv": "1",
  "none/a.txt": "a",
  "none/deeper/b.txt": "b",
  "deep/x/other.txt": "o",
  "deep/x/y/z.csv": "2",
  "keep/inner/": "",
  "data/": "",
};

/** `--include '*.csv'`: only what it takes in, with the directories above it. */
const CSV_ONLY = { deep: null, "deep/x": null, "deep/x/y": null, "deep/x/y/z.csv": "2", "top.csv": "1" };

/** `--include inner/ --include '*.csv'`: an included directory is made empty, and its walk-only parent with it. */
const INNER_TOO = { ...CSV_ONLY, keep: null, "keep/inner": null };

const csvOnly = (): DirTransferOptions["filter"] => globFilter([{ pattern: "*.csv", include: true }]);
const innerToo = (): DirTransferOptions["filter"] =>
  globFilter([
    { pattern: "inner/", include: true },
    { pattern: "*.csv", include: true },
  ]);
/** The same files as csvOnly, as a boolean filter: every directory true. */
const booleanCsv: DirTransferOptions["filter"] = (entry) => entry.type === "dir" || entry.path.endsWith(".csv");

function writeLocal(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith("/")) mkdirSync(join(root, path), { recursive: true });
    else {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }
}

const remoteFiles = (root: string, files: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(files).map(([path, content]) => [`${root}/${path}`, content]));

describe('a filter\'s walk-only directories ("walk")', () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-walk-only-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('globFilter answers "walk" for a directory no rule decides only when some rule is an include', () => {
    const include = globFilter([{ pattern: "*.csv", include: true }]);
    expect(include({ path: "none", type: "dir" })).to.equal("walk");
    expect(include({ path: "a.csv", type: "dir" }), "its own rule").to.equal(true);
    expect(include({ path: "a.txt", type: "file" })).to.equal(false);
    const data = globFilter([{ pattern: "data/", include: true }]);
    expect(data({ path: "data/sub", type: "dir" }), "an included directory above").to.equal(true);
    expect(globFilter([{ pattern: "*.tmp", include: false }])({ path: "none", type: "dir" }), "excludes only").to.equal(true);
  });

  for (const pipelining of [true, false]) {
    describe(`downloadDir, pipelining ${pipelining}`, () => {
      it("makes no directory with nothing included below it; one with an included file deep below is made with its ancestors", async () => {
        const srv = await fx.server({ files: remoteFiles("/r", TREE) });
        const ftp = await fx.client(srv);
        const result = await ftp.downloadDir("/r", join(dir, "out"), { filter: csvOnly(), pipelining });
        expect(result.transferred).to.equal(2);
        expect(localTree(join(dir, "out"))).to.deep.equal(CSV_ONLY);
      });

      it("makes a directory the filter takes in, empty, and the walk-only directory above it", async () => {
        const srv = await fx.server({ files: remoteFiles("/r", TREE) });
        const ftp = await fx.client(srv);
        await ftp.downloadDir("/r", join(dir, "out"), { filter: innerToo(), pipelining });
        expect(localTree(join(dir, "out"))).to.deep.equal(INNER_TOO);
      });

      it("a boolean filter makes every directory it takes in, empty or not, as before", async () => {
        const srv = await fx.server({ files: remoteFiles("/r", TREE) });
        const ftp = await fx.client(srv);
        await ftp.downloadDir("/r", join(dir, "out"), { filter: booleanCsv, pipelining });
        expect(localTree(join(dir, "out"))).to.deep.equal({
          ...CSV_ONLY,
          data: null,
          keep: null,
          "keep/inner": null,
          none: null,
          "none/deeper": null,
        });
      });

      it("delete removes no walk-only directory for itself, only what the filter takes in below it", async () => {
        const srv = await fx.server({ files: remoteFiles("/r", TREE) });
        const ftp = await fx.client(srv);
        // none: the source has it, nothing in it included; gone and gone2: the source lacks them.
        writeLocal(dir, { "none/": "", "gone/": "", "gone2/old.csv": "old", "gone2/kept.txt": "left out" });
        const result = await ftp.downloadDir("/r", dir, { filter: csvOnly(), pipelining, delete: true });
        expect(result.deleted).to.equal(1);
        expect(localTree(dir)).to.deep.equal({ ...CSV_ONLY, none: null, gone: null, gone2: null, "gone2/kept.txt": "left out" });
        // A boolean filter's directory the source lacks goes, as before.
        await ftp.downloadDir("/r", dir, { filter: booleanCsv, pipelining, delete: true });
        expect(localTree(dir)).to.not.have.property("gone");
      });
    });

    describe(`uploadDir, pipelining ${pipelining}`, () => {
      it("makes no directory with nothing included below it; one with an included file deep below is made with its ancestors", async () => {
        const srv = await fx.server({ files: { "/other.txt": "x" } });
        const ftp = await fx.client(srv);
        writeLocal(dir, TREE);
        const result = await ftp.uploadDir(dir, "/up", { filter: csvOnly(), pipelining });
        expect(result.transferred).to.equal(2);
        expect(remoteTree(srv, "/up")).to.deep.equal(CSV_ONLY);
        expect(srv.commands.filter((line) => line.startsWith("MKD ") && /none|keep|data/.test(line))).to.deep.equal([]);
      });

      it("makes a directory the filter takes in, empty, and the walk-only directory above it", async () => {
        const srv = await fx.server({ files: { "/other.txt": "x" } });
        const ftp = await fx.client(srv);
        writeLocal(dir, TREE);
        await ftp.uploadDir(dir, "/up", { filter: innerToo(), pipelining });
        expect(remoteTree(srv, "/up")).to.deep.equal(INNER_TOO);
      });

      it("a boolean filter makes every directory it takes in, empty or not, as before", async () => {
        const srv = await fx.server({ files: { "/other.txt": "x" } });
        const ftp = await fx.client(srv);
        writeLocal(dir, TREE);
        await ftp.uploadDir(dir, "/up", { filter: booleanCsv, pipelining });
        expect(remoteTree(srv, "/up")).to.deep.equal({
          ...CSV_ONLY,
          data: null,
          keep: null,
          "keep/inner": null,
          none: null,
          "none/deeper": null,
        });
      });

      it("delete removes no walk-only directory for itself, only what the filter takes in below it", async () => {
        const srv = await fx.server({
          files: remoteFiles("/up", { "none/": "", "gone/": "", "gone2/old.csv": "old", "gone2/kept.txt": "left out" }),
        });
        const ftp = await fx.client(srv);
        writeLocal(dir, TREE);
        const result = await ftp.uploadDir(dir, "/up", { filter: csvOnly(), pipelining, delete: true });
        expect(result.deleted).to.equal(1);
        expect(remoteTree(srv, "/up")).to.deep.equal({ ...CSV_ONLY, none: null, gone: null, gone2: null, "gone2/kept.txt": "left out" });
        await ftp.uploadDir(dir, "/up", { filter: booleanCsv, pipelining, delete: true });
        expect(remoteTree(srv, "/up")).to.not.have.property("gone");
      });
    });
  }
});
