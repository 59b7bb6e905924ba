/**
 * Issue 24 on the command line: `mirror --parallel 8` against a server that
 * allows 3 connections completes on 3, and `--active-address` /
 * `--active-ports` announce a NAT's address and listen on the range.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { limitSessions } from "../../fixtures/session-limit.js";
import { runCli, useCliFixture } from "./run-cli.js";

/** 24 files in 3 directories. */
function tree(): Record<string, ReturnType<typeof patternFile>> {
  const files: Record<string, ReturnType<typeof patternFile>> = {};
  for (let d = 0; d < 3; d++) for (let f = 0; f < 8; f++) files[`/t/d${d}/f${f}.bin`] = patternFile(500 + 1009 * (d * 8 + f));
  return files;
}

describe("ftpstream against connection limits and behind NAT", function () {
  this.timeout(15_000);
  const { dir, start } = useCliFixture("ftpstream-cli-limits-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { ...tree(), "/f.bin": patternFile(50_000) } });
  });
  const url = (path: string): string => `ftp://user:pass@${server.host}:${server.port}/${path}`;

  it("mirror --parallel 8 against a server allowing 3 completes, never holding more than 3 sessions", async () => {
    const limit = limitSessions(server, 3);
    const run = await runCli(["mirror", url("t"), join(dir(), "t"), "--parallel", "8", "--quiet"]);
    expect(run.stderr).to.not.match(/421|error/i);
    expect(run.code).to.equal(0);
    for (const [path, file] of Object.entries(tree())) {
      const bytes = readFileSync(join(dir(), path));
      expect(bytes.length, path).to.equal(file.size);
      expect(patternMismatch(bytes), path).to.equal(-1);
    }
    expect(limit.peak).to.be.at.most(3);
    expect(limit.refused).to.be.at.least(1);
  });

  it("get --active-address --active-ports announces the address and listens on a port of the range", async () => {
    // Server: PORT is recorded and connected to on 127.0.0.1, as a NAT
    // forwarding the announced address would.
    const announced: string[] = [];
    server.handle("PORT", (s, arg) => {
      announced.push(arg);
      const n = arg.split(",").map(Number);
      s.setActive("127.0.0.1", n[4] * 256 + n[5]);
      s.reply(200, "PORT command successful.");
    });
    // Below the ephemeral ports (32768-60999), which outgoing connections keep bound.
    const low = 20_000 + Math.floor(Math.random() * 12_000);
    const target = join(dir(), "f.bin");
    const run = await runCli([
      "get",
      url("f.bin"),
      target,
      "--active-address",
      "203.0.113.7",
      "--active-ports",
      `${low}-${low + 19}`,
      "--quiet",
    ]);
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(patternMismatch(readFileSync(target))).to.equal(-1);
    expect(announced).to.have.length(1);
    const n = announced[0].split(",").map(Number);
    expect(n.slice(0, 4).join(".")).to.equal("203.0.113.7");
    expect(n[4] * 256 + n[5]).to.be.within(low, low + 19);
  });

  it("refuses a bad --active-address or --active-ports with status 2", async () => {
    expect((await runCli(["get", url("f.bin"), "-", "--active-address", "nat.example"])).code).to.equal(2);
    expect((await runCli(["get", url("f.bin"), "-", "--active-ports", "9-3"])).code).to.equal(2);
    expect((await runCli(["get", url("f.bin"), "-", "--active-ports", "70000-70001"])).code).to.equal(2);
  });
});
