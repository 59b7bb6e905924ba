/**
 * mirror --dry-run's listing (75ad22d) is one entry a line, what a user
 * or a script reads before an unattended --delete. A name holding a line
 * feed was printed as it is (shown() keeps one, for messages of several
 * lines): a local file `stale\nwould transfer other.txt` in a download's
 * target listed as `would delete stale` and `would transfer other.txt`,
 * neither of which that run does. The line feed is escaped now (\x0a),
 * as shown() escapes every other control character: one entry, one line.
 * And --quiet, which says "no progress bar", left the listing out too:
 * `mirror --dry-run --delete --quiet`, a check before an unattended run,
 * printed nothing of what that run would delete.
 */
import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror --dry-run: a name holding a line feed is one line of the listing", function () {
  const { dir, start, url } = useCliFixture("ftpstream-dry-run-line-feeds-");

  it("download --delete: a local file named with a line feed is listed on one line, escaped, and nothing is changed", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    const stale = "stale\nwould transfer other.txt";
    writeFileSync(join(dir(), stale), "local only");
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--dry-run"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.split("\n").filter((line) => line !== "")).to.deep.equal([
      "would transfer a.txt",
      "would delete stale\\x0awould transfer other.txt",
    ]);
    expect(run.stderr).to.include("would transfer 1 files (5 bytes), 0 unchanged, 1 to delete");
    expect(readdirSync(dir())).to.deep.equal([stale]);
  });

  it("--quiet (no progress bar) leaves out the summary, not the listing a dry run is run for", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha" } });
    writeFileSync(join(dir(), "gone.txt"), "local only");
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--dry-run", "--quiet"], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("would transfer a.txt\nwould delete gone.txt\n");
    expect(run.stderr).to.equal("");
    expect(readdirSync(dir())).to.deep.equal(["gone.txt"]);
  });
});
