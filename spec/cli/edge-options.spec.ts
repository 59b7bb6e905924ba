/**
 * What a user types that the CLI took and did something else with:
 * - an option given to a command it is not for was ignored: `rm -r
 *   --dry-run` removed the tree it was asked to show, `get --delete`,
 *   `put -r`, `ls --max-filesize` ran as if it was not there;
 * - a number option went through Number(): `--timeout ""` (an unset
 *   variable) was 0, no timeout at all; "0x10", "1e3", "0b11" were 16, 1000, 3;
 * - `--ca` and `--insecure` with only ftp:// URLs were ignored: the login
 *   went in clear to a user who had asked for a verified TLS server;
 * - a glob with a `.` or `..` name (`--exclude ./keep.conf`) matches no
 *   path below the root, so it kept nothing out, and `--delete` deleted
 *   the very file it was written to protect.
 * Each is now a usage error (exit 2) before anything connects.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream: options a command does not take, numbers, and globs that match nothing", function () {
  const { dir, start, url } = useCliFixture("ftpstream-edge-options-");
  /** Nothing listens on port 1: a run that got past the usage check would exit 1. */
  const NOWHERE = "ftp://127.0.0.1:1";

  it("rm --dry-run and rm -r --dry-run are usage errors (exit 2), and the server's file and tree stay", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha", "/t/sub/b.txt": "beta" } });
    for (const flags of [["--dry-run"], ["-r", "--dry-run"]]) {
      const target = flags.includes("-r") ? "t/sub" : "t/a.txt";
      const run = await runCli(["rm", ...flags, url(srv, target)], { stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.include("ftpstream: --dry-run is for mirror, not rm");
    }
    expect(srv.vfs.get("/t/a.txt")?.toString()).to.equal("alpha");
    expect(srv.vfs.get("/t/sub/b.txt")?.toString()).to.equal("beta");
    expect(srv.commands.filter((line) => /^(DELE|RMD|USER) /.test(line))).to.deep.equal([]);
  });

  const misplaced: Array<[string[], string]> = [
    [["get", `${NOWHERE}/a.txt`, "a.txt", "--delete"], "--delete is for mirror, not get"],
    [["put", "a.txt", `${NOWHERE}/a.txt`, "-r"], "--recursive is for rm, not put"],
    [["mkdir", "-r", `${NOWHERE}/d`], "--recursive is for rm, not mkdir"],
    [["rm", "-p", `${NOWHERE}/d`], "--parents is for mkdir, not rm"],
    [["ls", "--max-filesize", "3", `${NOWHERE}/`], "--max-filesize is for get, cat, mirror, not ls"],
    [["put", "a.txt", `${NOWHERE}/a.txt`, "--max-filesize", "3"], "--max-filesize is for get, cat, mirror, not put"],
    [["get", `${NOWHERE}/a.txt`, "a.txt", "--part-files"], "--part-files is for put, mirror, not get"],
    [["mirror", `${NOWHERE}/t`, "out", "--concurrency", "2"], "--concurrency is for worker, not mirror"],
    [["mirror", `${NOWHERE}/t`, "out", "--until-drained"], "--until-drained is for worker, not mirror"],
    [
      ["worker", "redis://127.0.0.1:1/q", "--parallel", "2", "--server", NOWHERE, "--local-root", "/"],
      "--parallel is for mirror, not worker",
    ],
    [["worker", "redis://127.0.0.1:1/q", "--dry-run", "--server", NOWHERE, "--local-root", "/"], "--dry-run is for mirror, not worker"],
    [["mirror", `${NOWHERE}/t`, "out", "--wait"], "--wait is for mirror --queue"],
    [["mirror", `${NOWHERE}/t`, "out", "--queue", "redis://127.0.0.1:1/q", "--no-pipelining"], "mirror --queue takes no --no-pipelining"],
  ];
  for (const [args, message] of misplaced) {
    it(`${args.filter((arg) => arg.startsWith("-")).join(" ")} on ${args[0]} is a usage error (exit 2) before anything connects`, async () => {
      const run = await runCli(args, { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.include(`ftpstream: ${message}`);
      expect(run.stderr).to.include("usage: ftpstream");
    });
  }

  it("--ca and --insecure with no FTPS URL are usage errors (exit 2): nothing is sent, the login least of all", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const lines = [
      ["get", url(srv, "t/a.txt"), "-", "--ca", "/etc/hostname"],
      ["ls", url(srv, "t"), "--insecure"],
      ["mirror", url(srv, "t"), "out", "--insecure"],
      ["worker", "redis://127.0.0.1:1/q", "--server", url(srv, ""), "--local-root", "/", "--insecure"],
    ];
    // All at once: none connects.
    const runs = await Promise.all(lines.map((args) => runCli(args, { cwd: dir(), stdout: "ignore" })));
    for (const [i, run] of runs.entries()) {
      expect(run.code, `${lines[i].join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.match(/ftpstream: --(ca|insecure) is for FTPS \(ftpes:\/\/, ftps:\/\/\): ftp:\/\/ is not encrypted/);
    }
    expect(srv.commands).to.deep.equal([]);
    // With an FTPS URL they are taken: the run gets as far as connecting (nothing listens there: exit 1).
    for (const scheme of ["ftpes", "FTPS"]) {
      const run = await runCli(["ls", `${scheme}://127.0.0.1:1/t`, "--insecure"], { stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
    }
  });

  const numbers = ["", " ", " 5", "0x10", "1e3", "0b11", "0o7", "1.5", "-1", "+2", "NaN", "Infinity", "99999999999999999999"];
  for (const flag of ["--timeout", "--retry", "--parallel", "--max-filesize"]) {
    it(`${flag} takes decimal digits alone: ${numbers.map((text) => JSON.stringify(text)).join(", ")} are usage errors (exit 2)`, async () => {
      // All at once: none connects.
      const runs = await Promise.all(
        numbers.map((text) => runCli(["mirror", `${NOWHERE}/t`, "out", `${flag}=${text}`], { cwd: dir(), stdout: "ignore" })),
      );
      for (const [i, run] of runs.entries()) {
        const text = numbers[i];
        expect(run.code, `${flag}=${JSON.stringify(text)}: ${run.stderr}`).to.equal(2);
        expect(run.stderr).to.include(`ftpstream: ${flag} takes a whole number`);
      }
    });
  }

  it("--concurrency, --max-connections and --lock-ms take decimal digits alone too (exit 2 before reaching for Redis)", async () => {
    for (const flag of ["--concurrency", "--max-connections", "--lock-ms"]) {
      for (const text of ["", "0x10", "1e3", "0"]) {
        const run = await runCli(["worker", "redis://127.0.0.1:1/q", "--server", NOWHERE, "--local-root", "/", `${flag}=${text}`], {
          stdout: "ignore",
        });
        expect(run.code, `${flag}=${JSON.stringify(text)}: ${run.stderr}`).to.equal(2);
        expect(run.stderr).to.include(`ftpstream: ${flag} takes a whole number, 1 or more`);
      }
    }
  });

  it("a number in decimal digits is taken: --parallel 16 --timeout 0010000 mirrors the tree", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha", "/t/sub/b.txt": "beta" } });
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--parallel", "16", "--timeout", "0010000", "--quiet"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(existsSync(join(dir(), "sub/b.txt"))).to.equal(true);
  });

  for (const pattern of [
    "./keep.conf",
    "sub/../keep.conf",
    "..",
    ".",
    "/./keep.conf",
    "sub/./",
    "\\./keep.conf",
    "sub\\/\\.\\./keep.conf",
  ]) {
    it(`--exclude ${JSON.stringify(pattern)} (a '.' or '..' name, which no path has) is a usage error; --delete does not remove what it was to keep`, async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha" } });
      mkdirSync(join(dir(), "sub"));
      writeFileSync(join(dir(), "keep.conf"), "local only");
      writeFileSync(join(dir(), "sub/keep.conf"), "local only");
      const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--exclude", pattern]);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.include("a '.' or '..' name matches nothing");
      expect(existsSync(join(dir(), "keep.conf"))).to.equal(true);
      expect(existsSync(join(dir(), "sub/keep.conf"))).to.equal(true);
      expect(srv.commands).to.deep.equal([]);
    });
  }

  it("names with dots that are not '.' or '..' still match: --exclude .keep.conf and --exclude ..keep keep theirs under --delete", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    writeFileSync(join(dir(), ".keep.conf"), "local only");
    writeFileSync(join(dir(), "..keep"), "local only");
    writeFileSync(join(dir(), "gone.txt"), "the server lacks it");
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--exclude", ".keep.conf", "--exclude", "..keep"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(existsSync(join(dir(), ".keep.conf"))).to.equal(true);
    expect(existsSync(join(dir(), "..keep"))).to.equal(true);
    expect(existsSync(join(dir(), "gone.txt"))).to.equal(false);
  });
});
