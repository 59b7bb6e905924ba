/**
 * `ftpstream mirror --delete` from a source that lists nothing at all,
 * without --max-delete: an unmounted mount point (an empty directory), or
 * a remote directory a server lists as empty because it is missing or
 * unreadable (vsftpd, proftpd, pure-ftpd: see spec/sync/empty-source),
 * must not empty the target. Nothing is deleted, the run exits 3 and
 * says how to allow it (--max-delete N); a dry run lists what it would not
 * delete. --max-delete N is the opt-in. Both directions.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { localTree, remoteTree } from "../sync/trees.js";
import { runCli, useCliFixture } from "./run-cli.js";

/** Three entries an empty source lacks: two files and a directory. */
const TARGET = { "old.txt": "old\n", "gone/x.txt": "x\n" };

function plant(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const remoteFiles = (files: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(files).map(([path, content]) => [`/t/${path}`, content]));

describe("ftpstream mirror --delete from a source that lists nothing at all", function () {
  const { dir, start, url } = useCliFixture("ftpstream-mirror-empty-source-");

  for (const direction of ["download", "upload"] as const) {
    /** An empty source, the TARGET tree, `mirror --delete` run with `extra`, and the target's tree after it. */
    async function mirror(
      extra: string[],
    ): Promise<{ code: number | null; stderr: string; stdout: string; target: object; deletes: string[] }> {
      const local = join(dir(), "local");
      mkdirSync(local);
      if (direction === "download") plant(local, TARGET);
      const srv: FixtureServer = await start({ files: direction === "download" ? {} : remoteFiles(TARGET) });
      if (direction === "download") srv.vfs.mkdir("/t");
      const args = direction === "download" ? [url(srv, "t"), local] : [local, url(srv, "t")];
      const run = await runCli(["mirror", ...args, "--delete", ...extra], { stdout: "text" });
      const target = direction === "download" ? localTree(local) : remoteTree(srv, "/t");
      return {
        code: run.code,
        stderr: run.stderr,
        stdout: run.stdout,
        target,
        deletes: srv.commands.filter((line) => /^(DELE|RMD) /.test(line)),
      };
    }

    it(`${direction}: without --max-delete deletes nothing and exits 3, telling the user to pass --max-delete 3`, async () => {
      const run = await mirror([]);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr)
        .to.include("ftpstream: nothing deleted: the source lists nothing at all")
        .and.to.include("--delete would remove 3 entries (files and directories); pass --max-delete 3 to allow it");
      expect(run.target).to.deep.equal({ ...TARGET, gone: null });
      expect(run.deletes).to.deep.equal([]);
    });

    it(`${direction}: --dry-run reports the same refusal (exit 3) and lists what it would not delete`, async () => {
      const run = await mirror(["--dry-run"]);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.include("pass --max-delete 3 to allow it");
      expect(run.stdout.split("\n").filter(Boolean).sort()).to.deep.equal([
        "not deleted (the source is empty): gone/",
        "not deleted (the source is empty): gone/x.txt",
        "not deleted (the source is empty): old.txt",
      ]);
      expect(run.target).to.deep.equal({ ...TARGET, gone: null });
    });

    it(`${direction}: --max-delete 3 allows it (exit 0, the target emptied)`, async () => {
      const run = await mirror(["--max-delete", "3"]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.target).to.deep.equal({});
    });
  }
});
