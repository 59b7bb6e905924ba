/**
 * `ftpstream mirror --delete --max-delete <n>` run by cron: a source that
 * is an unmounted mount point (an empty directory) or a remote directory
 * emptied by mistake must not empty the target. Over the bound nothing is
 * deleted, the transfers are still done, and the run exits 3 naming the
 * count and the bound; at it, everything goes. The real process, both
 * directions, one connection and --parallel, with and without pipelining.
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { localTree, remoteTree } from "../sync/trees.js";
import { runCli, useCliFixture } from "./run-cli.js";

const SOURCE = { "keep.txt": "kept\n", "new.txt": "new\n" };
/** Three entries the source lacks: two files and a directory. */
const TARGET = { "keep.txt": "kept\n", "old.txt": "old\n", "gone/x.txt": "x\n" };

function plant(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const remoteFiles = (files: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(files).map(([path, content]) => [`/t/${path}`, content]));

describe("ftpstream mirror --max-delete", function () {
  const { dir, start, url } = useCliFixture("ftpstream-max-delete-");

  for (const direction of ["download", "upload"] as const) {
    for (const flags of [[], ["--parallel", "2"], ["--no-pipelining"]]) {
      const shown = `${direction}${flags.length ? `, ${flags.join(" ")}` : ""}`;

      /** Both trees planted, `mirror --delete` run with `extra`, and the target's tree after it. */
      async function mirror(extra: string[]): Promise<{ code: number | null; stderr: string; stdout: string; target: object }> {
        const local = join(dir(), "local");
        mkdirSync(local);
        plant(local, direction === "download" ? TARGET : SOURCE);
        const srv: FixtureServer = await start({ files: remoteFiles(direction === "download" ? SOURCE : TARGET) });
        const args = direction === "download" ? [url(srv, "t"), local] : [local, url(srv, "t")];
        const run = await runCli(["mirror", ...args, "--delete", ...extra, ...flags], { stdout: "text" });
        const target = direction === "download" ? localTree(local) : remoteTree(srv, "/t");
        return { code: run.code, stderr: run.stderr, stdout: run.stdout, target };
      }

      it(`${shown}: one over the bound deletes nothing, transfers the rest, exits 3 naming the count and the bound`, async () => {
        const run = await mirror(["--max-delete", "2"]);
        expect(run.code, run.stderr).to.equal(3);
        expect(run.stderr).to.include(
          "ftpstream: nothing deleted: --delete would remove 3 entries (files and directories), more than --max-delete 2",
        );
        expect(run.target).to.deep.equal({ ...TARGET, gone: null, "new.txt": "new\n" });
      });

      it(`${shown}: at the bound deletes every extra (exit 0)`, async () => {
        const run = await mirror(["--max-delete", "3"]);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.target).to.deep.equal(SOURCE);
      });

      it(`${shown}: --dry-run reports the same refusal (exit 3), names nothing it would delete, changes nothing`, async () => {
        const run = await mirror(["--max-delete", "2", "--dry-run"]);
        expect(run.code, run.stderr).to.equal(3);
        expect(run.stderr).to.include("--delete would remove 3 entries (files and directories), more than --max-delete 2");
        expect(run.stdout).to.not.include("would delete");
        expect(run.target).to.deep.equal({ ...TARGET, gone: null });
      });
    }
  }

  it("an empty source directory (an unmounted mount point) with --max-delete 0 empties nothing on the server", async () => {
    const srv = await start({ files: remoteFiles(TARGET) });
    const mnt = join(dir(), "mnt");
    mkdirSync(mnt);
    const run = await runCli(["mirror", mnt, url(srv, "t"), "--delete", "--max-delete", "0"]);
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stderr).to.include("more than --max-delete 0");
    expect(remoteTree(srv, "/t")).to.deep.equal({ ...TARGET, gone: null });
    expect(srv.commands.filter((line) => /^(DELE|RMD) /.test(line))).to.deep.equal([]);
  });

  it("refuses (exit 2, before connecting) a bad --max-delete, one without --delete, one with --queue, one for another command; --help names it", async () => {
    const srv = await start({ files: remoteFiles(TARGET) });
    const target = url(srv, "t");
    for (const [args, says] of [
      [["mirror", target, dir(), "--delete", "--max-delete=-1"], "--max-delete takes a whole number"],
      [["mirror", target, dir(), "--delete", "--max-delete", "1.5"], "--max-delete takes a whole number"],
      [["mirror", target, dir(), "--delete", "--max-delete", "0x3"], "--max-delete takes a whole number"],
      [["mirror", target, dir(), "--delete", "--max-delete", ""], "--max-delete takes a whole number"],
      [["mirror", target, dir(), "--max-delete", "3"], "--max-delete bounds mirror --delete"],
      [["mirror", dir(), target, "--max-delete", "3", "--queue", "redis://127.0.0.1:1/q"], "mirror --queue takes no --max-delete"],
      [["get", `${target}/keep.txt`, join(dir(), "k"), "--max-delete", "3"], "--max-delete is for mirror"],
    ] as const) {
      const run = await runCli([...args]);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.include(says);
    }
    expect(srv.commands).to.deep.equal([]);
    const help = await runCli(["--help"], { stdout: "text" });
    expect(help.stdout).to.match(/--max-delete <n> +mirror --delete: if it would delete more than n entries/);
  });
});
