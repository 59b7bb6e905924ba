/**
 * `--netrc-file` naming something that is not a file: a FIFO no one
 * writes to (or a terminal, a socket) is refused at once, as a directory
 * is. Before, opening a FIFO waited for a writer: the command, and a
 * worker reading its netrc file at its start, hung for ever without a
 * word. The CLI runs as its own process, so a hang shows as the run
 * killed.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

describe("CLI: --netrc-file naming a FIFO", () => {
  const { dir } = useCliFixture("ftpstream-netrc-hostile-");

  it("is refused at once (exit 1, not a regular file), before anything connects", async () => {
    const fifo = join(dir(), "netrc");
    execFileSync("mkfifo", [fifo]);
    // Port 1 on loopback: nothing listens, and nothing is asked of it before the netrc file is read.
    const run = await runCli(["ls", "ftp://alice@127.0.0.1:1/", "--netrc-file", fifo], { env: { HOME: dir() }, killAfterMs: 5000 });
    expect(run.signal, "killed: it hung").to.equal(null);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.include(`the netrc file ${fifo} is not a regular file`);
  });
});
