/**
 * A URL's path with a `.` or `..` segment written in it (`a/b/..`,
 * `%2e%2E`, `a\..\b`, a tab inside `..`) is refused before connecting:
 * the URL parser resolves such segments before the CLI sees the path, so
 * `rm -r ftp://h/a/b/..` removed `a` and `rm ftp://h/a/%2e%2E/b` deleted
 * `b`, while `..` written with an encoded separator was refused. A script's
 * `"ftp://h/home/$name"` with name `..` acted on `home`.
 */
import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream: dot segments the URL parser resolves", () => {
  const { dir, start, url } = useCliFixture("ftpstream-cli-url-dots-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { "/b": "keep me", "/a/b/f.txt": "in a/b", "/a/f.txt": "in a" } });
  });

  const dotted = ["a/b/..", "a/%2e%2E/b", "a/.%2e", "a\\..\\b", "a/./f.txt", "a/.\t./b", "a/b/%2E"];
  const commands: Array<[string, (target: string) => string[]]> = [
    ["rm", (target) => ["rm", target]],
    ["rm -r", (target) => ["rm", "-r", target]],
    ["mv", (target) => ["mv", target, "c"]],
    ["mv (a URL to rename to)", (target) => ["mv", url(server, "a/f.txt"), target]],
    ["get", (target) => ["get", target, "out"]],
    ["mirror (download)", (target) => ["mirror", target, "tree"]],
  ];
  for (const [name, argsFor] of commands) {
    it(`${name} refuses it before connecting (exit 1) and changes nothing`, async () => {
      writeFileSync(join(dir(), "up.txt"), "upload");
      const runs = dotted.map((path) => argsFor(url(server, path)));
      for (const [args, run] of await Promise.all(
        runs.map(async (args) => [args, await runCli(args, { cwd: dir(), stdout: "ignore" })] as const),
      )) {
        expect(run.code, `${JSON.stringify(args)}: ${run.stderr}`).to.equal(1);
        expect(run.stderr, JSON.stringify(args)).to.match(/^ftpstream: refusing ".*": its path has a segment/);
        expect(run.stderr, "no password shown").not.to.include("pass@");
      }
      expect(server.sessions, "connections").to.deep.equal([]);
      expect(server.vfs.get("/b")?.toString()).to.equal("keep me");
      expect(server.vfs.get("/a/f.txt")?.toString()).to.equal("in a");
      expect(server.vfs.get("/a/b/f.txt")?.toString()).to.equal("in a/b");
      expect(readdirSync(dir())).to.deep.equal(["up.txt"]);
    });
  }

  it("a refused URL's password is not shown, however the slashes after its scheme are written", async () => {
    const at = `${server.host}:${server.port}`;
    const texts = [
      `ftp:user:s3cr3t@${at}/f?x`,
      `ftp:\\user:s3cr3t@${at}/f#x`,
      `ftp:/user:s3cr3t@${at}/a/../b`,
      `FTP:///user:s3cr3t@${at}/a/%2e%2e/b`,
    ];
    const runs = await Promise.all(texts.map((text) => runCli(["rm", text], { cwd: dir() })));
    runs.forEach((run, i) => {
      expect(run.code, texts[i]).to.be.oneOf([1, 2]);
      expect(run.stderr, texts[i]).to.include("***@");
      expect(run.stderr, texts[i]).not.to.include("s3cr3t");
    });
    expect(server.sessions, "connections").to.deep.equal([]);
  });

  it("a name with dots that is no dot segment is taken as it is", async () => {
    server.vfs.set("/a/..x", Buffer.from("dots"));
    const run = await runCli(["rm", url(server, "a/..x")], { cwd: dir() });
    expect(run.code, run.stderr).to.equal(0);
    expect(server.vfs.exists("/a/..x")).to.equal(false);
  });
});
