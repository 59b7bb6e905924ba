/**
 * `ftpstream mirror`, run as the real process the way cron runs it (nobody
 * reads its output, only its exit status counts), against servers whose
 * trees and replies are not what a mirror expects.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localTree, serveMlsd, VSFTPD_WELCOME } from "./mirror-hostile-helpers.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream mirror against hostile servers", function () {
  const { dir, start, url } = useCliFixture("ftpstream-mirror-hostile-");

  it("shows the server's names and replies on stderr with their control characters escaped: a name that moves the cursor cannot hide that files failed", async () => {
    // Up one line and erase it: on a terminal, "2 failed" would be gone, and the line written over it could say anything.
    const hide = "\x1b[1A\x1b[2Ktransferred 3 files";
    const srv = await start({ files: { "/t/a.txt": "alpha\n", [`/t/${hide}`]: "abc" } });
    serveMlsd(srv, "t", [
      "type=cdir;modify=20240101000000; .",
      "type=file;size=6;modify=20240101000000; a.txt",
      `type=file;size=3;modify=20240101000000; ${hide}`,
      `type=OS.unix=slink:/etc;modify=20240101000000; ${hide}-link`,
    ]);
    const controls = (text: string): string[] =>
      [...text].filter((ch) => ch !== "\t" && ch !== "\n" && (ch < " " || (ch >= "\x7f" && ch <= "\x9f")));
    srv.handle("RETR", (s, arg) => (arg.endsWith("a.txt") ? s.defaultHandler("RETR", arg) : s.reply(550, `No such file.${hide}`)));
    const failed = await runCli(["mirror", url(srv, "t"), dir()]);
    expect(failed.code, failed.stderr).to.equal(3);
    // No C0 control character but tabs and line breaks, no DEL, no C1 (0x9b is a CSI of its own on some terminals).
    expect(controls(failed.stderr)).to.deep.equal([]);
    expect(failed.stderr).to.include("\\x1b[1A\\x1b[2Ktransferred 3 files: 550 No such file.\\x1b[1A");
    // The links left out are named on a failed run too.
    expect(failed.stderr).to.include("not followed (symbolic link): \\x1b[1A\\x1b[2Ktransferred 3 files-link");
    srv.unhandle("RETR");
    const done = await runCli(["mirror", url(srv, "t"), dir()]);
    expect(done.code, done.stderr).to.equal(0);
    expect(controls(done.stderr)).to.deep.equal([]);
    expect(done.stderr).to.include("not followed (symbolic link): \\x1b[1A\\x1b[2Ktransferred 3 files-link");
  });

  it("exits once the tree is done though connections the pool opened meanwhile were never welcomed (--parallel 4, --timeout 0): they are closed, not waited for", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/b.txt": "beta\n" } });
    // The first connection is welcomed; the others are accepted and left silent (a server at its limit, a stalled accept).
    let connections = 0;
    srv.onConnect((s) => void (connections++ === 0 && s.sendWelcome()));
    const run = await runCli(["mirror", url(srv, "t"), dir(), "--parallel", "4", "--timeout", "0"]);
    expect(run.signal, "killed: the run never ended").to.equal(null);
    expect(run.code, run.stderr).to.equal(0);
    expect(connections).to.be.above(1);
    expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n", "b.txt": "beta\n" });
  });

  for (const flags of [[], ["--parallel", "4"], ["--no-pipelining"]]) {
    it(`writes and deletes nothing outside the target when, mid-run, a file and a directory of it are swapped for links out${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      const outside = mkdtempSync(join(tmpdir(), "ftpstream-mirror-outside-"));
      // Where the links are made and the real sub is moved to, beside the target (one file system: renames).
      const aside = mkdtempSync(join(tmpdir(), "ftpstream-mirror-aside-"));
      try {
        writeFileSync(join(outside, "a.txt"), "precious a");
        writeFileSync(join(outside, "old.txt"), "precious old");
        mkdirSync(join(dir(), "sub"));
        writeFileSync(join(dir(), "sub/old.txt"), "stale");
        writeFileSync(join(dir(), "a.txt"), "stale");
        const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/sub/b.txt": "beta\n" } });
        // Once both trees are walked (the first RETR), a.txt and sub become links to `outside`, as a local user could make them.
        // Each by renames: the CLI runs on meanwhile, and with pipelining or --parallel it makes sub's part file
        // (sub/.b.txt.ftpstream-part) while a.txt's RETR is served. Removed in place (rmSync recursive: its files,
        // then rmdir) sub could get that part file between the two; rmdir then failed (ENOTEMPTY), no link was
        // made, and b.txt was rightly downloaded into the real sub (1 run in 40 under load). Moved aside, sub
        // takes whatever the CLI makes in it along; while the name is free, a part file there fails (ENOENT).
        let swapped = false;
        srv.handle("RETR", async (s, arg) => {
          if (!swapped) {
            swapped = true;
            symlinkSync(join(outside, "a.txt"), join(aside, "a.txt"));
            symlinkSync(outside, join(aside, "sub-link"));
            renameSync(join(aside, "a.txt"), join(dir(), "a.txt"));
            renameSync(join(dir(), "sub"), join(aside, "sub"));
            renameSync(join(aside, "sub-link"), join(dir(), "sub"));
          }
          await s.defaultHandler("RETR", arg);
        });
        const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", ...flags]);
        expect(run.code, run.stderr).to.equal(3);
        expect(localTree(outside)).to.deep.equal({ "a.txt": "precious a", "old.txt": "precious old" });
        expect(localTree(dir())).to.deep.equal({ "a.txt": `-> ${join(outside, "a.txt")}`, sub: `-> ${outside}` });
      } finally {
        rmSync(outside, { recursive: true, force: true });
        rmSync(aside, { recursive: true, force: true });
      }
    });
  }

  for (const flags of [[], ["--parallel", "4"], ["--no-pipelining", "--parallel", "2"]]) {
    it(`takes a name listed twice in one directory for a listing not understood${flags.length ? ` (${flags.join(" ")})` : ""}: the first stands, the other fails, exit 3, nothing deleted there`, async () => {
      const srv = await start({ welcome: VSFTPD_WELCOME, files: { "/t/a.txt": "alpha\n", "/t/b.txt": "beta\n" } });
      serveMlsd(srv, "t", [
        "type=cdir;modify=20240101000000; .",
        "type=file;size=6;modify=20240101000000; a.txt",
        "type=file;size=5;modify=20240101000000; b.txt",
        "type=file;size=9;modify=20240102000000; a.txt",
      ]);
      // The first RETR of a.txt is slow: a second download of it, at once, went through the same part file.
      let retrs = 0;
      srv.handle("RETR", async (s, arg) => {
        if (arg.endsWith("a.txt") && retrs++ === 0) await s.sleep(200);
        await s.defaultHandler("RETR", arg);
      });
      writeFileSync(join(dir(), "extra.txt"), "mine\n");
      const run = await runCli(["mirror", url(srv, "t"), dir(), "--delete", ...flags]);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.include('a.txt: the listing of "t" names "a.txt" more than once');
      expect(srv.commands.filter((line) => line === "RETR t/a.txt")).to.have.length(1);
      expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n", "b.txt": "beta\n", "extra.txt": "mine\n" });
    });
  }

  for (const flags of [[], ["--no-pipelining"], ["--parallel", "3"]]) {
    it(`after a killed run, --delete exits 0 with the part file it left consumed by the file's download, not failed as an extra already gone${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/b.txt": "beta\n", "/t/c.txt": "gamma\n" } });
      // What a killed run (cron's timeout) leaves: a.txt's part file, cut; and c.txt's, c.txt itself being whole already.
      writeFileSync(join(dir(), ".a.txt.ftpstream-part"), "alp");
      writeFileSync(join(dir(), "c.txt"), "gamma\n");
      const { mtime } = srv.vfs.stat("/t/c.txt")!;
      utimesSync(join(dir(), "c.txt"), mtime, mtime);
      writeFileSync(join(dir(), ".c.txt.ftpstream-part"), "gam");
      const first = await runCli(["mirror", url(srv, "t"), dir(), "--delete", ...flags]);
      expect(first.code, first.stderr).to.equal(0);
      // c.txt unchanged: its stale part is an extra that --delete removes.
      expect(first.stderr).to.include("transferred 2 files (11 bytes), 1 unchanged, 1 deleted");
      expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n", "b.txt": "beta\n", "c.txt": "gamma\n" });
    });
  }

  for (const flags of [[], ["--no-pipelining"]]) {
    it(`leaves out a remote part file beside its file (a cut upload's): the file comes from its own bytes, exit 0, on every run${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      // A leftover of a cut upload through a part name (uploadDir's partFiles), beside the file it was for: once, a.txt failed on every run for it.
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/.a.txt.ftpstream-part": "alp" } });
      for (const run of [1, 2]) {
        const mirrored = await runCli(["mirror", url(srv, "t"), dir(), "--delete", "--parallel", "2", ...flags]);
        expect(mirrored.code, `run ${run}: ${mirrored.stderr}`).to.equal(0);
        expect(mirrored.stderr).to.include("ftpstream: left out (part file of an unfinished transfer): .a.txt.ftpstream-part\n");
        expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n" });
      }
      expect(srv.commands.filter((line) => /^RETR .*ftpstream-part$/.test(line))).to.deep.equal([]);
    });
  }
});
