/**
 * `ftpstream mirror` and `get` run by cron against a server that answers a
 * RETR with data that never ends: the real process, its exit status and
 * stderr, and what it leaves on the disk. With `--max-filesize` a file
 * that grows past it fails (exit 3 for mirror, the other files done), a
 * file listed larger is never fetched; without it, a file announced in its
 * 150 fails as soon as it passes that size.
 */
import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { serveEndless } from "../faults/endless-server.js";
import { localTree, VSFTPD_WELCOME } from "./mirror-hostile-helpers.js";
import { runCli, useCliFixture } from "./run-cli.js";

const MAX = 100_000;

describe("ftpstream mirror and get --max-filesize against a server sending without end", function () {
  const { dir, start, url, sent } = useCliFixture("ftpstream-max-filesize-");
  const retrs = (srv: FixtureServer, name: string): string[] => sent(srv, "RETR").filter((path) => path.endsWith(name));

  for (const flags of [[], ["--parallel", "4"], ["--no-pipelining"]]) {
    it(`fails the file that grows past it and the file listed larger, does the rest, exits 3 and leaves no part file${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      const srv = await start({
        welcome: VSFTPD_WELCOME,
        files: {
          "/t/a.txt": "alpha\n",
          "/t/exact.bin": "x".repeat(MAX),
          "/t/huge.bin": "x".repeat(MAX + 1),
          // Listed at 10 bytes; its RETR announces no size and never ends.
          "/t/endless.bin": "x".repeat(10),
        },
      });
      serveEndless(srv, null, (arg) => arg.endsWith("endless.bin"));
      writeFileSync(join(dir(), "endless.bin"), "the old copy");
      writeFileSync(join(dir(), "huge.bin"), "the old copy");
      const run = await runCli(["mirror", url(srv, "t"), dir(), "--max-filesize", String(MAX), "--delete", ...flags]);
      expect(run.signal, "killed: the run never ended").to.equal(null);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.match(/endless\.bin: "t\/endless\.bin" is larger than maxFileSize \(100000 bytes\)/);
      expect(run.stderr).to.include(`huge.bin: "huge.bin" is listed at ${MAX + 1} bytes, more than maxFileSize (${MAX})`);
      expect(retrs(srv, "huge.bin")).to.deep.equal([]);
      // Fetched once. Pipelined, its RETR may have been written behind endless.bin's (vsftpd's welcome: the server
      // holds it) and reached the server before that failing transfer closed the connection: dropped unanswered
      // (FtpAheadDroppedError), it goes again on the next connection. Seen once in CI under load.
      if (flags.includes("--no-pipelining")) expect(retrs(srv, "exact.bin")).to.have.length(1);
      else expect(retrs(srv, "exact.bin")).to.have.length.within(1, 2);
      // The failed files keep their old copies, even under --delete; no part file is left.
      expect(readdirSync(dir()).sort()).to.deep.equal(["a.txt", "endless.bin", "exact.bin", "huge.bin"]);
      const tree = localTree(dir());
      expect([tree["a.txt"], tree["endless.bin"], tree["huge.bin"]]).to.deep.equal(["alpha\n", "the old copy", "the old copy"]);
      expect(tree["exact.bin"]).to.have.length(MAX);
    });
  }

  it("without it, fails a file the moment it passes the size its 150 announced, exits 3 and leaves no part file", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/endless.bin": "x".repeat(MAX) } });
    serveEndless(srv, MAX, (arg) => arg.endsWith("endless.bin"));
    const run = await runCli(["mirror", url(srv, "t"), dir()]);
    expect(run.signal, "killed: the run never ended").to.equal(null);
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stderr).to.include(`endless.bin: "t/endless.bin": the server sent more than the ${MAX} bytes it announced`);
    expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n" });
  });

  it("get: fails (exit 1) once the file grows past it, leaving neither the file nor its part", async () => {
    const srv = await start({ files: { "/f.bin": "x" } });
    serveEndless(srv, null);
    // No size from SIZE either (get asks it first): only --max-filesize bounds the download.
    srv.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    const run = await runCli(["get", url(srv, "f.bin"), join(dir(), "f.bin"), "--max-filesize", String(MAX)]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.include(`"f.bin" is larger than maxFileSize (${MAX} bytes)`);
    expect(readdirSync(dir())).to.deep.equal([]);
  });

  it("refuses a bad --max-filesize, and one given to an upload (exit 2); --help names it", async () => {
    for (const args of [
      ["get", "ftp://127.0.0.1:1/f", "--max-filesize", "-1"],
      ["get", "ftp://127.0.0.1:1/f", "--max-filesize", "1.5"],
      ["get", "ftp://127.0.0.1:1/f", "--max-filesize", "10k"],
      ["mirror", dir(), "ftp://127.0.0.1:1/t", "--max-filesize", "10"],
    ]) {
      const run = await runCli(args);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.include("--max-filesize");
    }
    const help = await runCli(["--help"], { stdout: "text" });
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/--max-filesize <bytes> .*mirror \(download\)/);
  });
});
