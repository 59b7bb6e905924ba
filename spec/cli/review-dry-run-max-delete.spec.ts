/**
 * `ftpstream mirror --dry-run --delete --max-delete <n>` over the bound
 * said only the count ("--delete would remove 3 entries ..., more than
 * --max-delete 2") and listed none of them: a user checking the dry run
 * before an unattended run could not tell an unmounted source (everything
 * would go) from a bound set a little low. Now stdout lists each entry
 * --delete wanted to remove, deepest first and a directory with a
 * trailing '/' as below the bound, in words that say the real run would
 * not remove it either ("not deleted (over --max-delete): ..."), and the
 * refusal is said on stderr as before (exit 3); nothing is changed.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localTree, remoteTree } from "../sync/trees.js";
import { runCli, useCliFixture } from "./run-cli.js";

const REFUSAL = "ftpstream: nothing deleted: --delete would remove 3 entries (files and directories), more than --max-delete 2";
const LISTED = [
  "not deleted (over --max-delete): gone/x.txt",
  "not deleted (over --max-delete): gone/",
  "not deleted (over --max-delete): old.txt",
];

describe("ftpstream mirror --dry-run --delete over --max-delete lists what it would not delete", function () {
  const { dir, start, url } = useCliFixture("ftpstream-dry-run-max-delete-");
  const lines = (stdout: string): string[] => stdout.split("\n").filter((line) => line !== "");
  const refused = (stdout: string): string[] => lines(stdout).filter((line) => line.startsWith("not deleted "));

  for (const flags of [[], ["--parallel", "2"]]) {
    it(`download: each local entry --delete wanted, then the refusal (exit 3), nothing changed${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      const srv = await start({ files: { "/t/keep.txt": "kept\n", "/t/new.txt": "new\n" } });
      const local = join(dir(), "local");
      mkdirSync(join(local, "gone"), { recursive: true });
      writeFileSync(join(local, "keep.txt"), "kept\n");
      writeFileSync(join(local, "old.txt"), "old\n");
      writeFileSync(join(local, "gone/x.txt"), "x\n");
      const run = await runCli(["mirror", url(srv, "t"), local, "--delete", "--max-delete", "2", "--dry-run", ...flags], {
        stdout: "text",
      });
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.include(REFUSAL);
      const listed = refused(run.stdout);
      expect([...listed].sort()).to.deep.equal([...LISTED].sort());
      // Deepest first, a directory after what it held, as the real run's plan.
      expect(listed.indexOf(LISTED[0])).to.be.below(listed.indexOf(LISTED[1]));
      expect(lines(run.stdout).filter((line) => line.startsWith("would delete"))).to.deep.equal([]);
      expect(lines(run.stdout)).to.include("would transfer new.txt");
      expect(localTree(local)).to.deep.equal({ "keep.txt": "kept\n", "old.txt": "old\n", gone: null, "gone/x.txt": "x\n" });
    });
  }

  it("upload: each remote entry --delete wanted, then the refusal (exit 3), nothing changed on the server", async () => {
    const srv = await start({ files: { "/t/keep.txt": "kept\n", "/t/old.txt": "old\n", "/t/gone/x.txt": "x\n" } });
    const local = join(dir(), "local");
    mkdirSync(local);
    writeFileSync(join(local, "keep.txt"), "kept\n");
    const run = await runCli(["mirror", local, url(srv, "t"), "--delete", "--max-delete", "2", "--dry-run"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stderr).to.include(REFUSAL);
    expect(refused(run.stdout).sort()).to.deep.equal([...LISTED].sort());
    expect(remoteTree(srv, "/t")).to.deep.equal({ "keep.txt": "kept\n", "old.txt": "old\n", gone: null, "gone/x.txt": "x\n" });
    expect(srv.commands.filter((line) => /^(DELE|RMD|STOR) /.test(line))).to.deep.equal([]);
  });

  it("a name holding a line feed is one line of that list, escaped", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const stale = "stale\nwould delete other.txt";
    writeFileSync(join(dir(), stale), "local only");
    writeFileSync(join(dir(), "b.txt"), "local only");
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--max-delete", "1", "--dry-run"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(3);
    expect(refused(run.stdout).sort()).to.deep.equal([
      "not deleted (over --max-delete): b.txt",
      "not deleted (over --max-delete): stale\\x0awould delete other.txt",
    ]);
    expect(lines(run.stdout).filter((line) => line.startsWith("would delete"))).to.deep.equal([]);
  });

  it("a real run over the bound lists nothing on stdout: it deletes nothing and says so on stderr", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    writeFileSync(join(dir(), "b.txt"), "local only");
    writeFileSync(join(dir(), "c.txt"), "local only");
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--max-delete", "1", "--quiet"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stderr).to.include("--delete would remove 2 entries (files and directories), more than --max-delete 1");
    expect(run.stdout).to.equal("");
  });
});
