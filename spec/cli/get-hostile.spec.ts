/**
 * `ftpstream get <url> <file>` where <file> is there and is no regular
 * file: a directory, a FIFO, a device. The download goes to a part file
 * renamed over its target, so before, a FIFO (or, run as root, /dev/null)
 * was replaced by a regular file holding the download, and a directory
 * failed only once the whole file had come (EISDIR at the rename). Each
 * is refused before anything connects; `get <url> - > <file>` writes into
 * it.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream get into what is there and is no regular file", () => {
  const { dir, start, url } = useCliFixture("ftpstream-cli-get-hostile-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { "/pub/a.txt": "alpha" } });
  });

  it("a FIFO is left a FIFO, and a directory as it was, both refused before connecting (exit 1)", async () => {
    const fifo = join(dir(), "fifo");
    execFileSync("mkfifo", [fifo]);
    mkdirSync(join(dir(), "sub"));
    const source = url(server, "pub/a.txt");
    for (const [target, what] of [
      ["fifo", "a FIFO"],
      ["sub", "a directory"],
      ["sub/", "a directory"],
    ]) {
      const run = await runCli(["get", source, target], { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include(`refusing to write over ${JSON.stringify(target)}: it is ${what}`);
    }
    expect(lstatSync(fifo).isFIFO()).to.equal(true);
    expect(readdirSync(join(dir(), "sub"))).to.deep.equal([]);
    expect(readdirSync(dir()).sort()).to.deep.equal(["fifo", "sub"]);
    expect(server.sessions, "connections").to.deep.equal([]);
  });
});
