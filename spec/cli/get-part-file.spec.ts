/**
 * `ftpstream get URL file` writes through a part file as a tree download
 * does (lib/part-file.ts): created exclusively, never written through a
 * link planted at the part name or at the target, and on a failure only
 * the part file it made is removed, never a user's file of a similar name.
 */
import { expect } from "chai";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream get: the part file", () => {
  const { dir, start } = useCliFixture("ftpstream-cli-part-");
  let server: FixtureServer;
  let victim: string;
  beforeEach(async () => {
    server = await start({ files: { "/pub/a.txt": "downloaded\n" } });
    // A file outside the download's directory that a planted link points at.
    victim = join(mkdtempSync(join(tmpdir(), "ftpstream-cli-victim-")), "victim.txt");
    writeFileSync(victim, "precious\n");
  });
  afterEach(() => {
    rmSync(join(victim, ".."), { recursive: true, force: true });
  });

  const url = (path: string): string => `ftp://user:pass@127.0.0.1:${server.port}${path}`;

  for (const planted of [".a.txt.ftpstream-part", "a.txt.part"]) {
    it(`does not write through a link planted at ${planted}: the download lands in a.txt, the link's target is untouched`, async () => {
      symlinkSync(victim, join(dir(), planted));
      const run = await runCli(["get", url("/pub/a.txt")], { cwd: dir(), stdout: "ignore" });
      expect(run.code, run.stderr).to.equal(0);
      expect(readFileSync(victim, "utf8")).to.equal("precious\n");
      expect(readFileSync(join(dir(), "a.txt"), "utf8")).to.equal("downloaded\n");
      expect(lstatSync(join(dir(), "a.txt")).isFile()).to.equal(true);
    });
  }

  it("refuses a target that is a link, before the RETR: the link and its target stay as they were", async () => {
    symlinkSync(victim, join(dir(), "out.txt"));
    const run = await runCli(["get", url("/pub/a.txt"), "out.txt"], { cwd: dir(), stdout: "ignore" });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/refusing to replace "out\.txt": it is a link/);
    expect(readFileSync(victim, "utf8")).to.equal("precious\n");
    expect(readlinkSync(join(dir(), "out.txt"))).to.equal(victim);
    expect(server.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
    expect(readdirSync(dir())).to.deep.equal(["out.txt"]);
  });

  it("leaves a user's own a.txt.part alone when the download fails, and no part file of its own", async () => {
    writeFileSync(join(dir(), "a.txt.part"), "mine\n");
    server.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData("partial");
      s.reply(451, "Local error in processing.");
    });
    const run = await runCli(["get", url("/pub/a.txt")], { cwd: dir(), stdout: "ignore" });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/451/);
    expect(readFileSync(join(dir(), "a.txt.part"), "utf8")).to.equal("mine\n");
    expect(readdirSync(dir())).to.deep.equal(["a.txt.part"]);
  });

  it("writes to a named target in another directory through a part file beside it", async () => {
    const run = await runCli(["get", url("/pub/a.txt"), join(dir(), "copy.txt")], { cwd: tmpdir(), stdout: "ignore" });
    expect(run.code, run.stderr).to.equal(0);
    expect(readFileSync(join(dir(), "copy.txt"), "utf8")).to.equal("downloaded\n");
    expect(readdirSync(dir())).to.deep.equal(["copy.txt"]);
  });
});
