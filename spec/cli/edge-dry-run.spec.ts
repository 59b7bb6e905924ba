/**
 * `ftpstream mirror --delete --dry-run`, run before an unattended
 * `--delete`, is how a user sees what that run will remove. It printed
 * counts alone ("would transfer 1 files (1 bytes), 0 unchanged, 3
 * deleted"): neither what would be transferred nor what deleted, and
 * "3 deleted" read as done. Now stdout names each file it would transfer
 * and each entry --delete would remove (a directory with a trailing '/'),
 * in both directions, and nothing is changed.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror --dry-run --delete names what it would transfer and delete", function () {
  const { dir, start, url } = useCliFixture("ftpstream-edge-dry-run-");
  const lines = (stdout: string): string[] => stdout.split("\n").filter((line) => line !== "");

  for (const flags of [[], ["--parallel", "3"], ["--no-pipelining"]]) {
    it(`download: each file to fetch and each local entry to delete, nothing changed${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      const srv = await start({ files: { "/t/new.txt": "new", "/t/sub/also.txt": "also" } });
      mkdirSync(join(dir(), "old/deeper"), { recursive: true });
      writeFileSync(join(dir(), "gone.txt"), "local only");
      writeFileSync(join(dir(), "old/deeper/x.txt"), "local only");
      const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--dry-run", ...flags], { stdout: "text" });
      expect(run.code, run.stderr).to.equal(0);
      expect(
        lines(run.stdout)
          .filter((line) => line.startsWith("would transfer "))
          .sort(),
      ).to.deep.equal(["would transfer new.txt", "would transfer sub/also.txt"]);
      // Deepest first, a directory after what it held.
      const deletions = lines(run.stdout).filter((line) => line.startsWith("would delete "));
      expect([...deletions].sort()).to.deep.equal([
        "would delete gone.txt",
        "would delete old/",
        "would delete old/deeper/",
        "would delete old/deeper/x.txt",
      ]);
      expect(deletions.indexOf("would delete old/deeper/x.txt")).to.be.below(deletions.indexOf("would delete old/deeper/"));
      expect(deletions.indexOf("would delete old/deeper/")).to.be.below(deletions.indexOf("would delete old/"));
      expect(run.stderr).to.include("would transfer 2 files (7 bytes), 0 unchanged, 4 to delete");
      expect(readdirSync(dir()).sort()).to.deep.equal(["gone.txt", "old"]);
      expect(existsSync(join(dir(), "old/deeper/x.txt"))).to.equal(true);
    });
  }

  it("upload: each file to send and each remote entry to delete, nothing changed on the server", async () => {
    const srv = await start({ files: { "/t/stale.txt": "old", "/t/extra.txt": "x", "/t/olddir/y.txt": "y" } });
    writeFileSync(join(dir(), "new.txt"), "new");
    const run = await runCli(["mirror", dir(), url(srv, "t"), "--delete", "--dry-run"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(lines(run.stdout).sort()).to.deep.equal([
      "would delete extra.txt",
      "would delete olddir/",
      "would delete olddir/y.txt",
      "would delete stale.txt",
      "would transfer new.txt",
    ]);
    expect(srv.vfs.exists("/t/olddir/y.txt")).to.equal(true);
    expect(srv.vfs.exists("/t/new.txt")).to.equal(false);
    expect(srv.commands.filter((line) => /^(STOR|DELE|RMD|MKD) /.test(line))).to.deep.equal([]);
  });

  it("what --exclude keeps out is not listed; a run that is no dry run prints nothing on stdout", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    writeFileSync(join(dir(), "gone.txt"), "local only");
    writeFileSync(join(dir(), "keep.conf"), "local only");
    const dry = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--dry-run", "--exclude", "*.conf"], { stdout: "text" });
    expect(dry.code, dry.stderr).to.equal(0);
    expect(lines(dry.stdout)).to.deep.equal(["would transfer a.txt", "would delete gone.txt"]);
    const real = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--exclude", "*.conf"], { stdout: "text" });
    expect(real.code, real.stderr).to.equal(0);
    expect(real.stdout).to.equal("");
    expect(readdirSync(dir()).sort()).to.deep.equal(["a.txt", "keep.conf"]);
  });
});
