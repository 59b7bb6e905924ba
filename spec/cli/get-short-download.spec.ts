/**
 * `ftpstream get` and `cat` never end a download the server cut short
 * like a whole one. On a server whose 150 gives no size (pure-ftpd,
 * pyftpdlib), a data connection cut with a FIN ends in 226 too: the CLI
 * asks SIZE first (verifySize: true) and checks the count against it, so
 * a cut file is neither put in place nor written out with exit status 0.
 */
import { expect } from "chai";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";
import { cutShort, FULL } from "../faults/cut-short.js";

describe("ftpstream get and cat: a download cut short that ends in 226", () => {
  const { dir, start } = useCliFixture("ftpstream-cli-short-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { "/pub/a.txt": FULL } });
    writeFileSync(join(dir(), "a.txt"), "the old copy");
  });

  const url = (path: string): string => `ftp://user:pass@127.0.0.1:${server.port}${path}`;

  it("get fails with exit status 1, keeps the old file and leaves no part file", async () => {
    server.handle("RETR", (s) => cutShort(s));
    const run = await runCli(["get", url("/pub/a.txt")], { cwd: dir(), stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.match(/5 bytes.*10|10.*5 bytes/);
    expect(readFileSync(join(dir(), "a.txt"), "utf8")).to.equal("the old copy");
    expect(readdirSync(dir())).to.deep.equal(["a.txt"]);
  });

  it("cat fails with exit status 1 after what came", async () => {
    server.handle("RETR", (s) => cutShort(s));
    const run = await runCli(["cat", url("/pub/a.txt")], { stdout: "text" });
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.equal(FULL.slice(0, 5));
  });

  it("a whole file is fetched as before, SIZE asked first; a server that refuses SIZE leaves nothing to check", async () => {
    const whole = await runCli(["get", url("/pub/a.txt")], { cwd: dir(), stdout: "ignore" });
    expect(whole.code, whole.stderr).to.equal(0);
    expect(readFileSync(join(dir(), "a.txt"), "utf8")).to.equal(FULL);
    expect(server.commands.filter((line) => /^(SIZE|RETR)/.test(line))).to.deep.equal(["SIZE pub/a.txt", "RETR pub/a.txt"]);
    server.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    server.handle("RETR", (s) => cutShort(s));
    const unchecked = await runCli(["cat", url("/pub/a.txt")], { stdout: "text" });
    expect(unchecked.code, unchecked.stderr).to.equal(0);
    expect(unchecked.stdout).to.equal(FULL.slice(0, 5));
  });
});
