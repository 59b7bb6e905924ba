/**
 * `ftpstream mirror --exclude/--include <glob>` (lib/glob-filter.ts, made
 * the tree transfer's `filter`), both ways and with `--queue`: what a rule
 * leaves out is neither transferred nor, under `--delete`, deleted on the
 * target side, whether the source lacks it or not; a directory left out is
 * not even listed. Before, mirror had no way to leave anything out, and
 * `--delete` removed every local (or remote) file the source lacked.
 */
import { expect } from "chai";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Queue } from "bullmq";
import { useRedis } from "../distributed/redis-server.js";
import { localTree, remoteTree } from "../sync/trees.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror --exclude and --include", function () {
  const { dir, start, url, sent } = useCliFixture("ftpstream-mirror-filter-");
  /** Writes `files` (path → content; a path ending in "/" an empty directory) below `root`. */
  const writeTree = (root: string, files: Record<string, string>): void => {
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith("/")) mkdirSync(join(root, path), { recursive: true });
      else {
        mkdirSync(join(root, path, ".."), { recursive: true });
        writeFileSync(join(root, path), content);
      }
    }
  };
  const EXCLUDES = ["--exclude", "*.tmp", "--exclude", "cache/", "--exclude", ".snapshot/"];

  it("download --delete: leaves out what matches, and deletes no local file or directory it matches, though the server lacks it", async () => {
    const srv = await start({
      files: {
        "/t/a.txt": "alpha",
        "/t/b.tmp": "remote scratch",
        "/t/cache/c.txt": "remote cache",
        "/t/sub/d.txt": "delta",
        "/t/sub/e.tmp": "remote scratch 2",
        "/t/.snapshot/old.txt": "yesterday",
      },
    });
    writeTree(dir(), {
      "keep.tmp": "local scratch",
      "sub/keep2.tmp": "local scratch 2",
      // In a directory the server lacks: that directory stays for it.
      "here/keep3.tmp": "local scratch 3",
      "cache/local.txt": "local cache",
      "extra.txt": "gone",
    });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", ...EXCLUDES], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({
      "a.txt": "alpha",
      cache: null,
      "cache/local.txt": "local cache",
      here: null,
      "here/keep3.tmp": "local scratch 3",
      "keep.tmp": "local scratch",
      sub: null,
      "sub/d.txt": "delta",
      "sub/keep2.tmp": "local scratch 2",
    });
    // --delete did run: extra.txt, which no rule matches, is gone.
    expect(run.stderr).to.include("transferred 2 files (10 bytes), 0 unchanged, 1 deleted");
    expect(sent(srv, "RETR").sort()).to.deep.equal(["t/a.txt", "t/sub/d.txt"]);
    // A directory left out is never listed.
    expect(srv.commands.filter((line) => /cache|snapshot/.test(line))).to.deep.equal([]);
  });

  it("upload --delete: leaves out what matches, and deletes no remote file or directory it matches, though the local tree lacks it", async () => {
    const srv = await start({
      files: {
        "/t/keep.tmp": "remote scratch",
        "/t/there/keep2.tmp": "remote scratch 2",
        "/t/cache/remote.txt": "remote cache",
        "/t/.snapshot/old.txt": "yesterday",
        "/t/extra.txt": "gone",
      },
    });
    writeTree(dir(), { "a.txt": "alpha", "b.tmp": "local scratch", "cache/c.txt": "local cache", "sub/d.txt": "delta", "sub/e.tmp": "x" });
    const run = await runCli(["mirror", dir(), url(srv, "t"), "--delete", ...EXCLUDES], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(remoteTree(srv, "/t")).to.deep.equal({
      "a.txt": "alpha",
      cache: null,
      "cache/remote.txt": "remote cache",
      ".snapshot": null,
      ".snapshot/old.txt": "yesterday",
      "keep.tmp": "remote scratch",
      sub: null,
      "sub/d.txt": "delta",
      there: null,
      "there/keep2.tmp": "remote scratch 2",
    });
    expect(run.stderr).to.include("transferred 2 files (10 bytes), 0 unchanged, 1 deleted");
    expect(sent(srv, "STOR").sort()).to.deep.equal(["t/a.txt", "t/sub/d.txt"]);
    expect(sent(srv, "DELE")).to.deep.equal(["t/extra.txt"]);
  });

  it("--include only: takes the files it matches at any depth; a file none matches is neither fetched nor, with --delete, deleted", async () => {
    const srv = await start({
      files: { "/t/a.csv": "1,2", "/t/b.txt": "no", "/t/d/c.csv": "3,4", "/t/d/e.txt": "no", "/t/logs/x.csv": "5,6" },
    });
    writeTree(dir(), { "old.txt": "local only", "d/old.csv": "gone" });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--include", "*.csv"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({
      "a.csv": "1,2",
      d: null,
      "d/c.csv": "3,4",
      logs: null,
      "logs/x.csv": "5,6",
      "old.txt": "local only",
    });
    expect(sent(srv, "RETR").sort()).to.deep.equal(["t/a.csv", "t/d/c.csv", "t/logs/x.csv"]);
  });

  it("directory patterns: 'data/' takes in all below it, a leading '/' anchors at the root, the first rule that matches decides", async () => {
    const srv = await start({
      files: {
        "/t/top.txt": "top",
        "/t/data/x.txt": "x",
        "/t/data/y.bin": "y",
        "/t/data/deep/z.txt": "z",
        "/t/cache/a.txt": "a",
        "/t/sub/cache/b.txt": "b",
        "/t/sub/data": "a file named data: 'data/' is for directories",
      },
    });
    const rules = ["--exclude", "/cache/", "--exclude", "*.bin", "--include", "data/", "--include", "b.txt"];
    const run = await runCli(["mirror", url(srv, "t"), dir(), ...rules], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({
      data: null,
      "data/deep": null,
      "data/deep/z.txt": "z",
      "data/x.txt": "x",
      // Directories no rule decides are walked, and made above a file taken in.
      sub: null,
      "sub/cache": null,
      "sub/cache/b.txt": "b",
    });
    // The same rules, *.bin after data/: data/ decides first for the directory, but y.bin's own rule is still *.bin.
    rmSync(dir(), { recursive: true, force: true });
    mkdirSync(dir());
    const reordered = ["--include", "data/", "--exclude", "*.bin", "--exclude", "/cache/"];
    const again = await runCli(["mirror", url(srv, "t"), dir(), ...reordered], { stdout: "ignore" });
    expect(again.code, again.stderr).to.equal(0);
    expect(Object.keys(localTree(dir())).filter((path) => path.startsWith("data/"))).to.deep.equal([
      "data/deep",
      "data/deep/z.txt",
      "data/x.txt",
    ]);
  });

  it("the order of the rules: the first that matches decides", async () => {
    const srv = await start({ files: { "/t/keep.tmp": "k", "/t/drop.tmp": "d" } });
    const first = await runCli(["mirror", url(srv, "t"), dir(), "--include", "keep.tmp", "--exclude", "*.tmp"], { stdout: "ignore" });
    expect(first.code, first.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({ "keep.tmp": "k" });
    rmSync(join(dir(), "keep.tmp"));
    const second = await runCli(["mirror", url(srv, "t"), dir(), "--exclude", "*.tmp", "--include", "keep.tmp"], { stdout: "ignore" });
    expect(second.code, second.stderr).to.equal(0);
    expect(localTree(dir())).to.deep.equal({});
  });

  it("upload: '*' matches a local name that is not UTF-8, which is then left out instead of failing the run", async () => {
    const srv = await start({ files: { "/t/": "" } });
    writeTree(dir(), { "a.txt": "alpha" });
    // caf\xe9.tmp, Latin-1: no string names it.
    writeFileSync(Buffer.concat([Buffer.from(`${dir()}/caf`), Buffer.from([0xe9]), Buffer.from(".tmp")]), "latin-1 named");
    const without = await runCli(["mirror", dir(), url(srv, "t")], { stdout: "ignore" });
    expect(without.code, "without the rule the name fails the run").to.equal(3);
    expect(without.stderr).to.match(/caf\\xe9\.tmp/);
    const run = await runCli(["mirror", dir(), url(srv, "t"), "--exclude", "*.tmp"], { stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).not.to.match(/caf/);
  });

  const usageCases: Array<[string[], string]> = [
    [["--exclude", ""], `ftpstream: --exclude: bad pattern "": it is empty`],
    [["--include", "[abc"], `ftpstream: --include: bad pattern "[abc": a character class '[' is not closed with ']'`],
    [["--exclude", "a\\"], `ftpstream: --exclude: bad pattern "a\\\\": it ends in a '\\' that escapes nothing`],
    [["--exclude", "[z-a]"], "the range z-a in a character class runs backwards"],
  ];
  for (const [flags, message] of usageCases) {
    it(`a bad pattern is a usage error, before anything connects (exit 2): ${flags.join(" ")}`, async () => {
      // Nothing listens on port 1: a run that got past the usage check would exit 1.
      const run = await runCli(["mirror", "ftp://127.0.0.1:1/t", dir(), ...flags], { stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.include(message);
      expect(run.stderr).to.include("usage: ftpstream");
    });
  }

  it("--exclude on another command than mirror is a usage error (exit 2)", async () => {
    const run = await runCli(["get", "ftp://127.0.0.1:1/t/a.txt", "--exclude", "*.tmp"], { cwd: dir(), stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include("ftpstream: --exclude and --include are for mirror");
  });

  it("--help says how the globs match", async () => {
    const run = await runCli(["--help"], { stdout: "text" });
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include("--exclude <glob>").and.include("--include <glob>");
    expect(run.stdout).to.include("globs (--exclude, --include): matched against the path below the tree's root");
  });

  describe("with --queue", () => {
    const redis = useRedis();

    for (const direction of ["download", "upload"] as const) {
      it(`${direction}: what the rules leave out gets no job`, async () => {
        const files = { "a.txt": "alpha", "b.tmp": "scratch", "cache/c.txt": "cache", "sub/d.txt": "delta", "sub/e.tmp": "x" };
        const srv = await start({
          files:
            direction === "download"
              ? Object.fromEntries(Object.entries(files).map(([path, data]) => [`/t/${path}`, data]))
              : { "/t/": "" },
        });
        if (direction === "upload") writeTree(dir(), files);
        const name = `filter-${direction}`;
        const args = direction === "download" ? [url(srv, "t"), dir()] : [dir(), url(srv, "t")];
        const run = await runCli(["mirror", ...args, "--queue", redis().url(name), "--exclude", "*.tmp", "--exclude", "cache/"], {
          stdout: "ignore",
        });
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stderr).to.include(`enqueued 2 files (10 bytes), 0 unchanged, on ${name}`);
        const queue = new Queue<{ path: string }>(name, { connection: { host: "127.0.0.1", port: redis().port } });
        try {
          expect((await queue.getWaiting()).map((job) => job.data.path).sort()).to.deep.equal(["a.txt", "sub/d.txt"]);
        } finally {
          await queue.close();
        }
      });
    }
  });
});
