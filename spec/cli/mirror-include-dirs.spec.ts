/**
 * `ftpstream mirror --include <glob>`, both ways: a directory the rules
 * only walk (none decides it, and some rule is an --include) is made on
 * the target only for a file taken in below it, and `--delete` does not
 * remove the target's for itself. Before, every directory walked was
 * made, so `--include '*.csv'` copied the whole directory tree, empty.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localTree, remoteTree } from "../sync/trees.js";
import { runCli, useCliFixture } from "./run-cli.js";

const FILES: Record<string, string> = {
  "a.csv": "1",
  "none/b.txt": "b",
  "none/deeper/c.txt": "c",
  "deep/x/y/z.csv": "2",
  "deep/x/o.txt": "o",
};
const EXPECTED = { "a.csv": "1", deep: null, "deep/x": null, "deep/x/y": null, "deep/x/y/z.csv": "2" };

describe("ftpstream mirror --include: directories only walked", function () {
  const { dir, start, url, sent } = useCliFixture("ftpstream-mirror-include-dirs-");
  const writeTree = (root: string, files: Record<string, string>): void => {
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith("/")) mkdirSync(join(root, path), { recursive: true });
      else {
        mkdirSync(join(root, path, ".."), { recursive: true });
        writeFileSync(join(root, path), content);
      }
    }
  };

  it("download: makes no local directory with nothing taken in below it, and --delete keeps one the source lacks", async () => {
    const srv = await start({ files: Object.fromEntries(Object.entries(FILES).map(([path, data]) => [`/t/${path}`, data])) });
    writeTree(dir(), { "gone/": "", "gone2/old.csv": "old" });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--include", "*.csv"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({ ...EXPECTED, gone: null, gone2: null });
    expect(run.stderr).to.include("transferred 2 files (2 bytes), 0 unchanged, 1 deleted");
  });

  it("upload: makes no remote directory with nothing taken in below it, and --delete keeps one the source lacks", async () => {
    const srv = await start({ files: { "/t/gone/": "", "/t/gone2/old.csv": "old" } });
    writeTree(dir(), FILES);
    const run = await runCli(["mirror", dir(), url(srv, "t"), "--delete", "--include", "*.csv"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(remoteTree(srv, "/t")).to.deep.equal({ ...EXPECTED, gone: null, gone2: null });
    // Below the root (ensureDir's MKD of t itself aside).
    expect(sent(srv, "MKD").filter((path) => path.startsWith("t/"))).to.deep.equal(["t/deep", "t/deep/x", "t/deep/x/y"]);
    expect(sent(srv, "DELE")).to.deep.equal(["t/gone2/old.csv"]);
  });

  it("a directory an --include rule takes in is made, empty too", async () => {
    const srv = await start({ files: { "/t/a.csv": "1", "/t/keep/inner/": "", "/t/none/": "" } });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--include", "inner/", "--include", "*.csv"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({ "a.csv": "1", keep: null, "keep/inner": null });
  });

  it("with only --exclude rules, every directory walked is made, empty too, as before", async () => {
    const srv = await start({ files: { "/t/a.csv": "1", "/t/none/b.tmp": "b" } });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--exclude", "*.tmp"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({ "a.csv": "1", none: null });
  });
});
