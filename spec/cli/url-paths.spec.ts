/**
 * What the CLI takes from a URL's path. One rule for every command that
 * acts on a remote path (get, cat, put, rm, rm -r, mkdir, mv, mirror):
 * decoded, no segment of it (split at `/` and `\`) climbs or is `.`;
 * such a path is refused with FtpPathError before anything connects.
 * The URL parser folds `/../` and `/%2e%2e/` away itself, but not
 * `%2F..%2F`: before, `rm ftp://h/a%2F..%2Fb` sent `DELE a/../b` and
 * deleted `b` (while `rm -r` refused it). get's local name, when taken
 * from the URL, is one path segment or refused.
 *
 * RFC 1738's typecode, `;type=a|i|d` at the end of the path, chooses
 * ASCII or binary for get, cat and put, and a listing of names (NLST)
 * for get, cat and ls; before, it was sent as part of the name.
 */
import { expect } from "chai";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { parseFtpUrl } from "../../lib/index.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("parseFtpUrl's typecode, query and fragment", () => {
  it("takes ;type=a, i or d (either case) off the end of the path as the typecode", () => {
    expect(parseFtpUrl("ftp://h/dir/f.txt;type=a")).to.include({ path: "dir/f.txt", typecode: "a" });
    expect(parseFtpUrl("ftp://h/f.bin;TYPE=I")).to.include({ path: "f.bin", typecode: "i" });
    expect(parseFtpUrl("ftp://h/dir;type=d")).to.include({ path: "dir", typecode: "d" });
    expect(parseFtpUrl("ftp://h/;type=d")).to.include({ path: "", typecode: "d" });
    expect(parseFtpUrl("ftp://h/f.txt")).to.not.have.property("typecode");
  });

  it("keeps an encoded ';' as part of the name", () => {
    expect(parseFtpUrl("ftp://h/f%3Btype=a")).to.deep.include({ path: "f;type=a" });
    expect(parseFtpUrl("ftp://h/f%3Btype=a")).to.not.have.property("typecode");
  });

  it("refuses a ;type= that is no typecode or not at the end, and a query or fragment, rather than send or drop them", () => {
    for (const text of ["ftp://h/f;type=x", "ftp://h/f;type=", "ftp://h/f;type=ai", "ftp://h/d;type=a/f"])
      expect(() => parseFtpUrl(text), text).to.throw(TypeError, /typecode a, i or d/);
    for (const text of ["ftp://h/f?x", "ftp://h/f?", "ftp://h/f#x", "ftp://h/f#"])
      expect(() => parseFtpUrl(text), text).to.throw(TypeError, /no query or fragment/);
  });
});

describe("ftpstream: remote paths from URLs", () => {
  const { dir, start, url } = useCliFixture("ftpstream-cli-url-paths-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({
      files: { "/b": "keep me", "/a/f.txt": "in a", "/pub/x\\y": "backslash" },
    });
  });

  const climbing = ["a%2F..%2Fb", "a%5C..%5Cb", "%2E%2E%2Fb", "a%2F.%2Ff.txt", "a%2F..", "a%2F%20..%20%2Fb"];
  /** The climbing path as typed, not in a URL (mv's target). */
  const decoded = (path: string): string => decodeURIComponent(path);
  const commands: Array<[string, (target: string, path: string) => string[]]> = [
    ["rm", (target) => ["rm", target]],
    ["rm -r", (target) => ["rm", "-r", target]],
    ["mkdir", (target) => ["mkdir", target]],
    ["mkdir -p", (target) => ["mkdir", "-p", target]],
    ["mv (what to rename)", (target) => ["mv", target, "c"]],
    ["mv (a path to rename to)", (_, path) => ["mv", url(server, "a/f.txt"), decoded(path)]],
    ["mv (a URL to rename to)", (target) => ["mv", url(server, "a/f.txt"), target]],
    ["put", (target) => ["put", "up.txt", target]],
    ["get", (target) => ["get", target, "out"]],
    ["cat", (target) => ["cat", target]],
    ["mirror (download)", (target) => ["mirror", target, "tree"]],
    ["mirror (upload)", (target) => ["mirror", dir(), target]],
  ];
  for (const [name, argsFor] of commands) {
    it(`${name} refuses a path whose decoded segments climb or are '.', before connecting (exit 1), and changes nothing`, async () => {
      writeFileSync(join(dir(), "up.txt"), "upload");
      // All at once: each is refused before it connects or writes, and a process each is most of this spec's time.
      const runs = climbing.map((path) => argsFor(url(server, path), path));
      for (const [args, run] of await Promise.all(
        runs.map(async (args) => [args, await runCli(args, { cwd: dir(), stdout: "ignore" })] as const),
      )) {
        expect(run.code, `${args.join(" ")}: ${run.stderr}`).to.equal(1);
        expect(run.stderr, args.join(" ")).to.match(/^ftpstream: refusing to \w+( to)? ".*": it (climbs out with "\.\."|has a segment)/);
      }
      expect(server.sessions, "connections").to.deep.equal([]);
      expect(server.vfs.get("/b")?.toString()).to.equal("keep me");
      expect(server.vfs.get("/a/f.txt")?.toString()).to.equal("in a");
      expect(readdirSync(dir())).to.deep.equal(["up.txt"]);
    });
  }

  it("get takes the local name from the URL only when it is one segment; a URL with none is a usage error; nothing is written", async () => {
    // The URL parser would fold a %2E%2E segment itself: refused as written (spec cli/url-dot-segments).
    const paths = ["%2E%2E", "pub/%2e%2e", ".."];
    // All at once: each is refused before it connects or writes.
    const [refused, none, ...runs] = await Promise.all([
      runCli(["get", url(server, "pub/x%5Cy")], { cwd: dir() }),
      runCli(["get", url(server, "")], { cwd: dir() }),
      ...paths.map((path) => runCli(["get", url(server, path)], { cwd: dir() })),
    ]);
    expect(refused.code, refused.stderr).to.equal(1);
    expect(refused.stderr).to.include(`refusing to take the local file's name from "pub/x\\\\y"`);
    runs.forEach((run, i) => {
      expect(run.code, `${paths[i]}: ${run.stderr}`).to.equal(1);
      expect(run.stderr).to.include("its path has a segment");
    });
    expect(none.code, none.stderr).to.equal(2);
    expect(none.stderr).to.include("the URL must name a file");
    expect(server.sessions, "connections").to.deep.equal([]);
    expect(readdirSync(dir())).to.deep.equal([]);
    // Named by the caller, the same file is fetched.
    const named = await runCli(["get", url(server, "pub/x%5Cy"), "named"], { cwd: dir() });
    expect(named.code, named.stderr).to.equal(0);
    expect(readFileSync(join(dir(), "named"), "utf8")).to.equal("backslash");
  });

  it("rm of a plain path still deletes it", async () => {
    const run = await runCli(["rm", url(server, "b")], { cwd: dir() });
    expect(run.code, run.stderr).to.equal(0);
    expect(server.vfs.exists("/b")).to.equal(false);
  });
});

describe("ftpstream: ;type= typecodes", () => {
  const { dir, start, url, sent } = useCliFixture("ftpstream-cli-typecode-");
  let server: FixtureServer;
  const text = Buffer.concat([Buffer.from("one\ntwo\ncaf"), Buffer.from([0xe9]), Buffer.from("\nlast")]);
  beforeEach(async () => {
    server = await start({ files: { "/pub/t.txt": text, "/pub/u.txt": "u\n" } });
  });

  it("cat and get with ;type=a transfer in ASCII, each line with a LF, every byte as sent, the name without the typecode", async () => {
    const cat = await runCli(["cat", url(server, "pub/t.txt;type=a")], { cwd: dir() });
    expect(cat.code, cat.stderr).to.equal(0);
    expect(cat.stdout.equals(text), JSON.stringify(cat.stdout.toString("latin1"))).to.equal(true);
    const get = await runCli(["get", url(server, "pub/t.txt;type=A")], { cwd: dir() });
    expect(get.code, get.stderr).to.equal(0);
    expect(readdirSync(dir())).to.deep.equal(["t.txt"]);
    expect(readFileSync(join(dir(), "t.txt")).equals(text)).to.equal(true);
    expect(sent(server, "RETR")).to.deep.equal(["pub/t.txt", "pub/t.txt"]);
    expect(sent(server, "TYPE")).to.include("A");
    expect(sent(server, "TYPE")).to.not.include("I");
  });

  it("get with ;type=i transfers in binary, under the name without the typecode", async () => {
    const run = await runCli(["get", url(server, "pub/t.txt;type=i")], { cwd: dir() });
    expect(run.code, run.stderr).to.equal(0);
    expect(readdirSync(dir())).to.deep.equal(["t.txt"]);
    expect(sent(server, "RETR")).to.deep.equal(["pub/t.txt"]);
    expect(sent(server, "TYPE")).to.deep.equal(["I"]);
  });

  it("put with ;type=a sends the lines in ASCII (CRLF on the wire) to the name without the typecode", async () => {
    const run = await runCli(["put", "-", url(server, "pub/up.txt;type=a")], { cwd: dir(), input: "x\ny\n" });
    expect(run.code, run.stderr).to.equal(0);
    expect(sent(server, "STOR")).to.deep.equal(["pub/up.txt"]);
    expect(sent(server, "TYPE")).to.deep.equal(["A"]);
    expect(server.vfs.get("/pub/up.txt")?.toString()).to.equal("x\ny\n");
    expect(server.vfs.exists("/pub/up.txt;type=a")).to.equal(false);
  });

  it("ls and cat with ;type=d print the names NLST gives", async () => {
    for (const command of ["ls", "cat"]) {
      const run = await runCli([command, url(server, "pub;type=d")], { cwd: dir(), stdout: "text" });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.split("\n").sort()).to.deep.equal(["", "pub/t.txt", "pub/u.txt"]);
    }
    expect(sent(server, "NLST")).to.deep.equal(["pub", "pub"]);
  });

  it("a typecode a command does not take, or one that is none, is a usage error (exit 2) before connecting", async () => {
    const commands = [
      ["rm", url(server, "pub/u.txt;type=a")],
      ["mkdir", url(server, "pub/n;type=d")],
      ["mv", url(server, "pub/u.txt;type=i"), "v.txt"],
      ["mv", url(server, "pub/u.txt"), url(server, "pub/v.txt;type=i")],
      ["mirror", url(server, "pub;type=i"), "tree"],
      ["put", "-", url(server, "pub/n;type=d")],
      ["ls", url(server, "pub;type=a")],
      ["put", "--part-files", "-", url(server, "pub/n;type=a")],
      ["get", url(server, "pub/u.txt;type=x")],
      ["get", url(server, "pub/u.txt?x")],
    ];
    // All at once: none may connect or write, so none can disturb another.
    const runs = await Promise.all(commands.map((args) => runCli(args, { cwd: dir(), input: "" })));
    runs.forEach((run, i) => expect(run.code, `${commands[i].join(" ")}: ${run.stderr}`).to.equal(2));
    expect(server.sessions, "connections").to.deep.equal([]);
    expect(server.vfs.get("/pub/u.txt")?.toString()).to.equal("u\n");
    expect(readdirSync(dir())).to.deep.equal([]);
  });
});
