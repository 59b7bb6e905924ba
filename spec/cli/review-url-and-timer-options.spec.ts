/**
 * Review of the CLI's option checks (316dcd7, bb4fba4):
 * - `--ca` and `--insecure` with no FTPS URL are refused, but the check
 *   read a URL by its first letters: ` ftp://u:pw@h/f` (a blank first)
 *   or `ft<TAB>p://…` is a URL to the parser that get and put use, and
 *   the login went in clear with the certificate option ignored;
 * - `--timeout` and `--lock-ms` took any safe integer, but a Node timer
 *   longer than 2^31 - 1 ms fires after 1 ms: `--timeout 2147483648`
 *   timed out every connect at once.
 * Each is a usage error now (exit 2), before anything connects.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream: --ca with a URL spelt loosely, and timers past 2^31 - 1 ms", function () {
  const { dir, start } = useCliFixture("ftpstream-review-url-timers-");

  it("--ca and --insecure with an ftp:// URL the parser reads past blanks or a tab are usage errors: no login is sent", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const plain = `ftp://user:pass@${srv.host}:${srv.port}/t/a.txt`;
    const lines = [
      ["cat", ` ${plain}`, "--ca", "/etc/hostname"],
      ["get", `\t${plain}`, "a.txt", "--insecure"],
      ["cat", `ft\tp${plain.slice(3)}`, "--ca", "/etc/hostname"],
      ["put", "a.txt", ` ${plain}`, "--insecure"],
    ];
    writeFileSync(join(dir(), "a.txt"), "local\n");
    for (const args of lines) {
      const run = await runCli(args, { cwd: dir(), stdout: "ignore" });
      expect(run.code, `${JSON.stringify(args)}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.match(/ftpstream: --(ca|insecure) is for FTPS \(ftpes:\/\/, ftps:\/\/\): ftp:\/\/ is not encrypted/);
    }
    expect(srv.commands).to.deep.equal([]);
  });

  it("the same URL without --ca or --insecure is still taken (cat prints the file)", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const run = await runCli(["cat", ` ftp://user:pass@${srv.host}:${srv.port}/t/a.txt`], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("alpha");
  });

  it("--timeout over 2147483647 is a usage error (exit 2); 2147483647 itself is taken", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const url = `ftp://user:pass@${srv.host}:${srv.port}/t/a.txt`;
    for (const text of ["2147483648", "9007199254740991"]) {
      const run = await runCli(["cat", url, "--timeout", text], { stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.include("ftpstream: --timeout takes a whole number of milliseconds, at most 2147483647");
    }
    expect(srv.commands).to.deep.equal([]);
    const run = await runCli(["cat", url, "--timeout", "2147483647"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("alpha");
  });

  it("--lock-ms over 2147483647 is a usage error (exit 2) before reaching for Redis", async () => {
    const run = await runCli(
      ["worker", "redis://127.0.0.1:1/q", "--server", "ftp://127.0.0.1:1", "--local-root", "/", "--lock-ms", "4294967296"],
      { stdout: "ignore" },
    );
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.include("ftpstream: --lock-ms takes a whole number, 1 or more (at most 2147483647)");
  });
});
