/**
 * `ftpstream mirror` run by cron, as the real process, when the local
 * machine misbehaves rather than the server: a signal mid-file, a full
 * disk, files and directories it may not read or write, a second run on
 * the same tree at once, the local tree removed mid-run. Every act on the
 * disk waits for the server to see the transfer it is about (no sleeps).
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { until } from "../faults/helpers.js";
import { localTree } from "./mirror-hostile-helpers.js";
import { entriesBelow, giveToNobody, holdCommand, holdRetr, holdStor, NOBODY } from "./mirror-local-faults-helpers.js";
import { runCli, useCliFixture, type RunningCli } from "./run-cli.js";

const BIG = "B".repeat(100_000);
const PART = ".big.bin.ftpstream-part";

describe("ftpstream mirror when the local machine misbehaves", function () {
  const fx = useCliFixture("ftpstream-mirror-local-");
  const { start, url } = fx;
  /** The tree mirrored: "tree" in the fixture's directory, which some specs look at or give away whole. */
  let dir: string;
  beforeEach(() => {
    dir = join(fx.dir(), "tree");
    mkdirSync(dir);
  });
  /** Run from this process's directory, as these specs always were, not from the fixture's. */
  const cli = (args: string[]): RunningCli => fx.cli(args, { cwd: process.cwd() });
  const deletions = (srv: FixtureServer): string[] => srv.commands.filter((line) => /^(DELE|RMD) /.test(line));

  describe("a signal mid-file", () => {
    const statusOf = { SIGTERM: 143, SIGINT: 130 } as const;
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      for (const flags of [[], ["--parallel", "4"]]) {
        const named = flags.length ? ` (${flags.join(" ")})` : "";
        it(`download: ${signal} exits ${statusOf[signal]} naming it, removes the part file, keeps the old copy and deletes nothing (--delete${named})`, async () => {
          const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG, "/t/c.txt": "gamma\n" } });
          const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
          writeFileSync(join(dir, "big.bin"), "the old copy");
          writeFileSync(join(dir, "extra.txt"), "a true extra, but the run was stopped");
          const run = cli(["mirror", url(srv, "t"), dir, "--delete", ...flags]);
          await held.nth(0);
          run.child.kill(signal);
          const code = await run.exit;
          expect(run.child.signalCode, "died of the signal, nothing cleaned up").to.equal(null);
          expect(code, run.lines.join("\n")).to.equal(statusOf[signal]);
          expect(run.lines).to.include(`ftpstream: stopped by ${signal}: no more files started, nothing deleted`);
          const tree = localTree(dir);
          expect(tree["big.bin"]).to.equal("the old copy");
          expect(tree["extra.txt"]).to.equal("a true extra, but the run was stopped");
          expect(tree).not.to.have.property(PART);
          // What was put in place before the signal is whole.
          for (const [name, text] of [
            ["a.txt", "alpha\n"],
            ["c.txt", "gamma\n"],
          ])
            if (name in tree) expect(tree[name]).to.equal(text);
        });
      }
      it(`upload: ${signal} exits ${statusOf[signal]} naming it, and deletes nothing on the server (--delete --parallel 4)`, async () => {
        const srv = await start({ files: { "/t/extra.txt": "a true extra, but the run was stopped", "/t/big.bin": "the old copy" } });
        const held = holdStor(srv, (arg) => arg.endsWith("big.bin"));
        writeFileSync(join(dir, "a.txt"), "alpha\n");
        writeFileSync(join(dir, "big.bin"), BIG);
        const run = cli(["mirror", dir, url(srv, "t"), "--delete", "--parallel", "4"]);
        await held.nth(0);
        run.child.kill(signal);
        const code = await run.exit;
        expect(run.child.signalCode, "died of the signal").to.equal(null);
        expect(code, run.lines.join("\n")).to.equal(statusOf[signal]);
        expect(run.lines).to.include(`ftpstream: stopped by ${signal}: no more files started, nothing deleted`);
        expect(deletions(srv)).to.deep.equal([]);
        expect(srv.vfs.get("/t/extra.txt")?.toString()).to.equal("a true extra, but the run was stopped");
      });
    }

    it("files that failed before the signal are named as a failed run names them, then the signal, exit 143 (--no-pipelining: the walk ends before the first file)", async () => {
      const srv = await start({ files: { "/t/big.bin": BIG, "/t/sub/c.txt": "gamma\n" } });
      srv.handle("MLSD", async (s, arg) => {
        if (!arg.endsWith("sub")) return s.defaultHandler("MLSD", arg);
        await s.closeData();
        s.reply(550, "sub: Permission denied.");
      });
      const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
      const run = cli(["mirror", url(srv, "t"), dir, "--no-pipelining"]);
      await held.nth(0);
      run.child.kill("SIGTERM");
      const code = await run.exit;
      expect(run.child.signalCode).to.equal(null);
      expect(code, run.lines.join("\n")).to.equal(143);
      const said = run.lines.join("\n");
      expect(said).to.match(/^ftpstream: downloadDir of t: 1 failed\n {2}sub: .*550 sub: Permission denied\./m);
      expect(said.indexOf("1 failed")).to.be.below(said.indexOf("stopped by SIGTERM"));
      expect(run.lines).to.include("ftpstream: stopped by SIGTERM: no more files started, nothing deleted");
    });

    it("a second signal at once ends it at once: not worse (no deletion, no partial file under its own name, the old copy kept)", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG } });
      const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
      writeFileSync(join(dir, "big.bin"), "the old copy");
      writeFileSync(join(dir, "extra.txt"), "extra");
      const run = cli(["mirror", url(srv, "t"), dir, "--delete", "--parallel", "4"]);
      await held.nth(0);
      run.child.kill("SIGTERM");
      run.child.kill("SIGINT");
      const code = await run.exit;
      expect(run.child.signalCode).to.equal(null);
      expect(code, run.lines.join("\n")).to.be.oneOf([130, 143]);
      const tree = localTree(dir);
      expect(tree["big.bin"]).to.equal("the old copy");
      expect(tree["extra.txt"]).to.equal("extra");
      // Its part file may be left (hidden, replaced by the next run); never put in place.
      if (PART in tree) expect(BIG.startsWith(tree[PART]!)).to.equal(true);
      if ("a.txt" in tree) expect(tree["a.txt"]).to.equal("alpha\n");
    });
  });

  describe("on a full disk (a 64 KiB tmpfs)", () => {
    let mounted = false;
    beforeEach(() => {
      // Root with CAP_SYS_ADMIN can mount one; anywhere else this fails the spec, saying why.
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
      mounted = true;
    });
    afterEach(() => {
      if (mounted) execFileSync("umount", [dir]);
      mounted = false;
    });
    const files = { "/t/a.txt": "alpha\n", "/t/big.bin": "x".repeat(200_000), "/t/c.txt": "gamma\n", "/t/sub/d.txt": "delta\n" };
    const old = (): void => {
      writeFileSync(join(dir, "big.bin"), "the old copy");
      writeFileSync(join(dir, "extra.txt"), "a true extra");
    };

    it("fails the file that does not fit (ENOSPC) by name, removes its part, keeps its old copy, does the rest, exits 3 (--no-pipelining: one file at a time)", async () => {
      const srv = await start({ files });
      old();
      const run = await runCli(["mirror", url(srv, "t"), dir, "--delete", "--no-pipelining"]);
      expect(run.signal).to.equal(null);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.match(/big\.bin: .*ENOSPC/);
      expect(localTree(dir)).to.deep.equal({
        "a.txt": "alpha\n",
        "big.bin": "the old copy",
        "c.txt": "gamma\n",
        sub: null,
        "sub/d.txt": "delta\n",
      });
    });

    for (const flags of [[], ["--parallel", "4"]]) {
      it(`files written beside the one filling the disk fail by name too, none is left partial or as a part file, exit 3${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
        const srv = await start({ files });
        old();
        const run = await runCli(["mirror", url(srv, "t"), dir, "--delete", ...flags]);
        expect(run.signal).to.equal(null);
        expect(run.code, run.stderr).to.equal(3);
        expect(run.stderr).to.match(/big\.bin: .*ENOSPC/);
        const tree = localTree(dir);
        expect(tree["big.bin"]).to.equal("the old copy");
        expect(tree).not.to.have.property("extra.txt");
        // Each small file is there whole, or failed by name (written while the big one held the space).
        for (const [path, text] of [
          ["a.txt", "alpha\n"],
          ["c.txt", "gamma\n"],
          ["sub/d.txt", "delta\n"],
        ]) {
          if (path in tree) expect(tree[path]).to.equal(text);
          else expect(run.stderr).to.match(new RegExp(`${path.replace(".", "\\.")}: .*ENOSPC`));
        }
        expect(entriesBelow(dir).filter((path) => path.endsWith(".ftpstream-part"))).to.deep.equal([]);
      });
    }
  });

  describe("files and directories it may not read or write (run as nobody: root ignores mode bits)", () => {
    const asNobody = { user: NOBODY };
    afterEach(() => {
      // Modes restored, so that the directory can be removed.
      execFileSync("chmod", ["-R", "u+rwx", fx.dir()]);
    });

    it("download: a target directory it may not write fails its files and deletions by name, the rest is done, exit 3", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/locked/b.txt": "beta\n", "/t/locked/c.txt": "gamma\n" } });
      mkdirSync(join(dir, "locked"));
      writeFileSync(join(dir, "locked/b.txt"), "the old b");
      writeFileSync(join(dir, "locked/extra.txt"), "extra");
      giveToNobody(fx.dir());
      chmodSync(join(dir, "locked"), 0o555);
      const run = await runCli(["mirror", url(srv, "t"), dir, "--delete"], asNobody);
      expect(run.code, run.stderr).to.equal(3);
      for (const path of ["locked/b.txt", "locked/c.txt", "locked/extra.txt"]) expect(run.stderr).to.match(new RegExp(`${path}: .*EACCES`));
      expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n", locked: null, "locked/b.txt": "the old b", "locked/extra.txt": "extra" });
    });

    it("download: a target directory it may not read is left whole under --delete (its entries unknown), and the rest is done, exit 3", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/hidden/": "" } });
      mkdirSync(join(dir, "hidden"));
      writeFileSync(join(dir, "hidden/keep.txt"), "not in the source, but unseen");
      giveToNobody(fx.dir());
      chmodSync(join(dir, "hidden"), 0o333);
      const run = await runCli(["mirror", url(srv, "t"), dir, "--delete"], asNobody);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.match(/hidden: .*EACCES/);
      chmodSync(join(dir, "hidden"), 0o755);
      expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n", hidden: null, "hidden/keep.txt": "not in the source, but unseen" });
    });

    it("upload: a file and a directory it may not read fail by name, the rest is sent, --delete removes only the true extra, exit 3", async () => {
      const srv = await start({
        files: {
          "/t/secret.txt": "the old secret",
          "/t/locked/x.txt": "x",
          "/t/locked/extra.txt": "unseen",
          "/t/gone.txt": "a true extra",
        },
      });
      writeFileSync(join(dir, "a.txt"), "alpha\n");
      writeFileSync(join(dir, "secret.txt"), "new secret");
      mkdirSync(join(dir, "locked"));
      writeFileSync(join(dir, "locked/x.txt"), "new x");
      giveToNobody(fx.dir());
      chmodSync(join(dir, "secret.txt"), 0o000);
      chmodSync(join(dir, "locked"), 0o000);
      const run = await runCli(["mirror", dir, url(srv, "t"), "--delete"], asNobody);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.match(/secret\.txt: .*EACCES/);
      expect(run.stderr).to.match(/locked: .*EACCES/);
      expect(srv.vfs.get("/t/a.txt")?.toString()).to.equal("alpha\n");
      expect(srv.vfs.get("/t/secret.txt")?.toString()).to.equal("the old secret");
      expect(srv.vfs.get("/t/locked/x.txt")?.toString()).to.equal("x");
      expect(srv.vfs.get("/t/locked/extra.txt")?.toString()).to.equal("unseen");
      expect(deletions(srv)).to.deep.equal(["DELE t/gone.txt"]);
    });
  });

  describe("two runs on one tree at once (cron starting the next before the last ended)", () => {
    for (const order of ["first", "second"] as const) {
      it(`download: the file both write ends whole; the run whose part was taken fails it by name, exit 3 (the ${order} let go first)`, async () => {
        const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG } });
        const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
        writeFileSync(join(dir, "big.bin"), "the old copy");
        const first = cli(["mirror", url(srv, "t"), dir, "--delete"]);
        const firstHeld = await held.nth(0);
        // The second run takes the first's part file for a stale one and writes its own there.
        const second = cli(["mirror", url(srv, "t"), dir, "--delete"]);
        const secondHeld = await held.nth(1);
        const [early, late] = order === "first" ? [first, second] : [second, first];
        const [earlyHeld, lateHeld] = order === "first" ? [firstHeld, secondHeld] : [secondHeld, firstHeld];
        earlyHeld.release();
        const earlyCode = await early.exit;
        // Between the two, the file under its own name is never torn: the old copy, or the whole new one.
        expect([BIG, "the old copy"]).to.include(readFileSync(join(dir, "big.bin"), "utf8"));
        lateHeld.release();
        const lateCode = await late.exit;
        expect(await first.exit, first.lines.join("\n")).to.equal(3);
        expect(first.lines.join("\n")).to.match(/big\.bin: .*was replaced while it was written/);
        expect(await second.exit, second.lines.join("\n")).to.equal(0);
        expect([earlyCode, lateCode]).to.have.members([0, 3]);
        expect(localTree(dir)).to.deep.equal({ "a.txt": "alpha\n", "big.bin": BIG });
      });
    }

    it("upload: each run's file ends whole on the server and neither deletes the other's work (--delete)", async () => {
      const srv = await start({ files: { "/t/gone.txt": "a true extra" } });
      const held = holdStor(srv, (arg) => arg.endsWith("big.bin"));
      writeFileSync(join(dir, "a.txt"), "alpha\n");
      writeFileSync(join(dir, "big.bin"), BIG);
      const first = cli(["mirror", dir, url(srv, "t"), "--delete"]);
      const firstHeld = await held.nth(0);
      const second = cli(["mirror", dir, url(srv, "t"), "--delete"]);
      const secondHeld = await held.nth(1);
      firstHeld.release();
      secondHeld.release();
      expect(await first.exit, first.lines.join("\n")).to.be.oneOf([0, 3]);
      expect(await second.exit, second.lines.join("\n")).to.be.oneOf([0, 3]);
      expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal(BIG);
      expect(srv.vfs.get("/t/a.txt")?.toString()).to.equal("alpha\n");
      expect(srv.vfs.get("/t/gone.txt")).to.equal(undefined);
    });
  });

  describe("the local tree removed mid-run", () => {
    it("download: the target removed and a file put at its name fails the files by name and writes nothing outside, exit 3", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG, "/t/sub/c.txt": "gamma\n" } });
      const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
      writeFileSync(join(dir, "extra.txt"), "extra");
      const run = cli(["mirror", url(srv, "t"), dir, "--delete"]);
      const big = await held.nth(0);
      // Another job's removal, racing the run's own making of directories in
      // the tree (sub/, as it is listed): a directory made between the
      // remover's emptying and its rmdir gives ENOTEMPTY, which a remover
      // meets too and deals with by going again. What is asserted is the
      // run's part: nothing written outside, each file failed by name.
      rmSync(dir, { recursive: true, maxRetries: 10, retryDelay: 10 });
      writeFileSync(dir, "another job's file");
      big.release();
      const code = await run.exit;
      expect(code, run.lines.join("\n")).to.equal(3);
      expect(run.lines.join("\n")).to.match(/big\.bin: /);
      expect(entriesBelow(fx.dir())).to.deep.equal(["tree"]);
      expect(readFileSync(dir, "utf8")).to.equal("another job's file");
    });

    it("download: the target renamed away mid-run fails its files by name and deletes nothing in the moved tree, whose only new entries are hidden part files, exit 3 (--parallel 4)", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG, "/t/sub/c.txt": "gamma\n" } });
      const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
      writeFileSync(join(dir, "extra.txt"), "extra");
      const run = cli(["mirror", url(srv, "t"), dir, "--delete", "--parallel", "4"]);
      const big = await held.nth(0);
      renameSync(dir, join(fx.dir(), "moved"));
      big.release();
      const code = await run.exit;
      expect(code, run.lines.join("\n")).to.equal(3);
      expect(run.lines.join("\n")).to.match(/big\.bin: /);
      expect(run.lines).to.include(`  .: ${JSON.stringify(dir)} is gone since it was read: nothing is deleted for what it lacked`);
      // The part files of the files running at the rename stay there, hidden: renamed with the tree, they are no longer at the names removed.
      const moved = entriesBelow(join(fx.dir(), "moved")).filter((path) => !/(^|\/)\.[^/]*\.ftpstream-part$/.test(path));
      expect(moved.filter((path) => path !== "sub")).to.deep.equal(["extra.txt"]);
      expect(existsSync(dir)).to.equal(false);
    });

    it("download: the target removed and made again by another job: what that job put there is not deleted as an extra (--delete)", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/big.bin": BIG } });
      const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
      writeFileSync(join(dir, "extra.txt"), "the old extra");
      mkdirSync(join(dir, "old"));
      writeFileSync(join(dir, "old/extra.txt"), "the old extra");
      const run = cli(["mirror", url(srv, "t"), dir, "--delete"]);
      const big = await held.nth(0);
      // Nothing may write in the target while it is removed (ENOTEMPTY, 1 run in 12 under load):
      // a.txt goes before or after big.bin. Before, its part may still be written and renamed
      // when big.bin's RETR is held: wait until it is in place. After, its part is made ahead of
      // its RETR, which waits for big.bin: wait until that part is there.
      const aFetched = (): boolean => srv.commands.some((line) => /^RETR .*a\.txt$/.test(line));
      const settled = (): boolean => existsSync(join(dir, "a.txt")) || (!aFetched() && existsSync(join(dir, ".a.txt.ftpstream-part")));
      expect(await until(settled), "a.txt in place, or its part waiting for its turn").to.equal(true);
      rmSync(dir, { recursive: true });
      mkdirSync(join(dir, "old"), { recursive: true });
      writeFileSync(join(dir, "extra.txt"), "another job's file of that name");
      writeFileSync(join(dir, "old/extra.txt"), "another job's file of that name");
      big.release();
      const code = await run.exit;
      expect(code, run.lines.join("\n")).to.equal(3);
      expect(run.lines.join("\n")).to.include("is not the directory walked since it was read: nothing is deleted for what it lacked");
      expect(localTree(dir)).to.deep.include({
        "extra.txt": "another job's file of that name",
        "old/extra.txt": "another job's file of that name",
      });
    });

    it("upload: a source directory emptied by a removal under way when walked, gone before the deletions: nothing below it is deleted on the server (--delete)", async () => {
      const srv = await start({ files: { "/t/a.txt": "old", "/t/sub/x.txt": "x", "/t/sub/y.txt": "y", "/t/gone.txt": "a true extra" } });
      const held = holdStor(srv, (arg) => arg.endsWith("a.txt"));
      writeFileSync(join(dir, "a.txt"), "alpha\n");
      // What `rm -rf` leaves of sub/ when the walk reads it: its files removed, itself not yet.
      mkdirSync(join(dir, "sub"));
      const run = cli(["mirror", dir, url(srv, "t"), "--delete"]);
      const stor = await held.nth(0);
      rmSync(dir, { recursive: true });
      stor.release();
      const code = await run.exit;
      expect(code, run.lines.join("\n")).to.equal(3);
      expect(run.lines.join("\n")).to.match(/sub: .*(gone|not the directory)/);
      expect(srv.vfs.get("/t/sub/x.txt")?.toString()).to.equal("x");
      expect(srv.vfs.get("/t/sub/y.txt")?.toString()).to.equal("y");
      expect(deletions(srv)).not.to.include.members(["DELE t/sub/x.txt"]);
    });

    it("upload: a source root found empty (being removed) and gone before the deletions: the remote tree is not deleted (--delete)", async () => {
      const srv = await start({ files: { "/t/a.txt": "a", "/t/sub/x.txt": "x", "/t/sub/deeper/y.txt": "y" } });
      // After the local walk, the remote tree's listing: the removal ends meanwhile.
      const listing = holdCommand(srv, "MLSD");
      const run = cli(["mirror", dir, url(srv, "t"), "--delete"]);
      const first = await listing.nth(0);
      rmSync(dir, { recursive: true });
      listing.releaseAll();
      first.release();
      const code = await run.exit;
      expect(code, run.lines.join("\n")).to.equal(3);
      expect(deletions(srv)).to.deep.equal([]);
      expect(srv.vfs.get("/t/a.txt")?.toString()).to.equal("a");
      expect(srv.vfs.get("/t/sub/x.txt")?.toString()).to.equal("x");
      expect(existsSync(dir)).to.equal(false);
    });
  });
});
