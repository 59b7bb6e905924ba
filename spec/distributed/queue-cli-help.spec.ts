/**
 * What `ftpstream --help` says of the queue commands: where Redis's
 * password may come from (before, nothing said that REDISCLI_AUTH, read
 * since af72800, keeps it out of the URL and so out of `ps`), and that a
 * worker whose jobs failed exits 3. The built CLI, no server needed.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));

/** The help's line for `name` (a command, or an option as `--name`), or undefined. */
function helpLine(name: string): string | undefined {
  const run = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
  expect(run.status, run.stderr).to.equal(0);
  return run.stdout.split("\n").find((line) => line.trimStart().startsWith(`${name} `));
}

describe("ftpstream --help on the queue commands", () => {
  it("--queue says that Redis's password may come from REDISCLI_AUTH instead of the URL", () => {
    expect(helpLine("--queue")).to.include("$REDISCLI_AUTH instead of the URL");
  });

  it("worker says it exits with status 3 when a job it ran failed", () => {
    expect(helpLine("worker")).to.include("exit status 3 if one it ran failed");
  });
});
