import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, FTP_TLS, parseFtpUrl } from "../../lib/index.js";
import { watchOverlap } from "../core/helpers.js";
import { CLI_PATH, runCli, useCliFixture } from "./run-cli.js";

describe("parseFtpUrl", () => {
  it("reads credentials, host, port and path, decoding them", () => {
    expect(parseFtpUrl("ftp://us%40er:p%3Ass@example.com:2121/dir/a%20b.txt")).to.deep.equal({
      security: "none",
      host: "example.com",
      port: 2121,
      user: "us@er",
      password: "p:ss",
      path: "dir/a b.txt",
    });
  });

  it("takes IPv6 hosts without brackets and the schemes' default ports", () => {
    expect(parseFtpUrl("ftp://[::1]/").host).to.equal("::1");
    expect(parseFtpUrl("ftp://h/").port).to.equal(21);
    expect(parseFtpUrl("ftpes://h/").port).to.equal(21);
    expect(parseFtpUrl("ftps://h/")).to.include({ port: 990, security: "implicit" });
  });

  it("refuses other schemes and paths that would inject a command", () => {
    expect(() => parseFtpUrl("http://h/")).to.throw(TypeError);
    expect(() => parseFtpUrl("ftp://h/a%0D%0ADELE%20x")).to.throw(TypeError, /CR, LF or NUL/);
  });
});

describe("FTP.connect(url)", () => {
  let server: FixtureServer;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/pub/a.txt": "A\n" } });
  });

  afterEach(async () => {
    await server.close();
  });

  it("connects, logs in with the URL's credentials and changes to its path", async () => {
    const ftp = await FTP.connect(`ftp://user:pass@127.0.0.1:${server.port}/pub`);
    try {
      expect(await ftp.pwd()).to.equal("/pub");
      expect(server.commands.slice(0, 2)).to.deep.equal(["USER user", "PASS pass"]);
    } finally {
      ftp.close();
    }
  });

  it("logs in anonymously without credentials", async () => {
    const ftp = await FTP.connect(`ftp://127.0.0.1:${server.port}`);
    ftp.close();
    expect(server.commands).to.include("USER anonymous");
    expect(server.commands).to.include("PASS anonymous@");
  });

  it("refuses secure schemes on the plain client", async () => {
    const error = await FTP.connect(`ftpes://127.0.0.1:${server.port}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(typeof FTP_TLS.connect).to.equal("function");
  });
});

describe("the ftpstream command", function () {
  const { dir, start } = useCliFixture("ftpstream-cli-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { "/pub/a.txt": "hello\n", "/pub/big.bin": patternFile(3_000_000) } });
  });

  const url = (path: string): string => `ftp://user:pass@127.0.0.1:${server.port}${path}`;

  it("cat writes the remote file to stdout", async () => {
    const run = await runCli(["cat", url("/pub/big.bin")]);
    expect(run.code).to.equal(0);
    expect(run.stdout.length).to.equal(3_000_000);
    expect(patternMismatch(run.stdout)).to.equal(-1);
  });

  it("get saves the file under its name, in passive and active mode", async () => {
    for (const extra of [[], ["--active"]]) {
      const run = await runCli(["get", ...extra, url("/pub/a.txt")], { cwd: dir() });
      expect(run.code).to.equal(0);
      expect(readFileSync(join(dir(), "a.txt"), "utf8")).to.equal("hello\n");
    }
    expect(server.commands.some((c) => c.startsWith("PORT"))).to.equal(true);
  });

  it("put uploads stdin and reports the server's reply", async () => {
    const run = await runCli(["put", "-", url("/pub/in.bin")], { input: Buffer.from("from stdin") });
    expect(run.code).to.equal(0);
    expect(server.vfs.get("/pub/in.bin")?.toString()).to.equal("from stdin");
    expect(run.stderr).to.match(/^226/m);
  });

  it("ls lists a directory", async () => {
    const run = await runCli(["ls", url("/pub")]);
    expect(run.code).to.equal(0);
    expect(run.stdout.toString()).to.match(/file\s+6 \d{14} a\.txt/);
    expect(run.stdout.toString()).to.match(/big\.bin/);
  });

  it("ls leaves out the listed directory and its parent whatever the case of their type fact (TYPE=CDIR, Type=pdir)", async () => {
    const srv = await FixtureServer.start({ files: { "/u/a.txt": "a" } });
    try {
      srv.handle("MLSD", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData(
          "TYPE=CDIR;Modify=20260101000000; .\r\nType=pdir;Modify=20260101000000; ..\r\nType=file;Size=1;Modify=20260101000000; a.txt\r\n",
        );
        s.reply(226, "Transfer complete.");
      });
      const run = await runCli(["ls", `ftp://user:pass@127.0.0.1:${srv.port}/u`]);
      expect(run.code).to.equal(0);
      expect(run.stdout.toString().trim().split("\n")).to.deep.equal(["file            1 20260101000000 a.txt"]);
    } finally {
      await srv.close();
    }
  });

  it("ls on a terminal shows a name's control characters escaped (as GNU ls does); into a pipe, the name as sent", async () => {
    const name = "x\x1b[2Jy.txt";
    const srv = await FixtureServer.start({ files: { [`/e/${name}`]: "e" } });
    try {
      const listed = `ftp://user:pass@127.0.0.1:${srv.port}/e`;
      const piped = await runCli(["ls", listed]);
      expect(piped.code).to.equal(0);
      expect(piped.stdout.toString()).to.include(name);
      // util-linux's script runs the command with a pseudo-terminal as its stdout and copies what it shows.
      const shown = await new Promise<string>((resolve, reject) => {
        const child = spawn("script", ["-qec", `'${process.execPath}' '${CLI_PATH}' ls '${listed}'`, "/dev/null"], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`script exited ${code}: ${out}`))));
      });
      expect(shown).to.include("x\\x1b[2Jy.txt");
      expect(shown).to.not.include("\x1b[2J");
    } finally {
      await srv.close();
    }
  });

  it("fails with the server's reply, exit status 1 and no file left behind", async () => {
    const run = await runCli(["get", url("/pub/missing.txt")], { cwd: dir() });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/550/);
    expect(existsSync(join(dir(), "missing.txt"))).to.equal(false);
    expect(readdirSync(dir()), "no part file either").to.deep.equal([]);
  });

  it("does not save a download the server failed after the data", async () => {
    server.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      // Part of the file: no more than SIZE gave, so it is the 451 that fails it.
      await s.sendData("A");
      s.reply(451, "Local error in processing.");
    });
    const run = await runCli(["get", url("/pub/a.txt")], { cwd: dir() });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/451/);
    expect(existsSync(join(dir(), "a.txt"))).to.equal(false);
  });

  it("prints usage on stderr with exit status 2 for a bad command line, and nothing on stdout", async () => {
    for (const args of [["fetch"], [], ["get"], ["get", "--bogus", url("/pub/a.txt")], ["get", "--timeout", "soon", url("/pub/a.txt")]]) {
      const run = await runCli(args);
      expect(run.code, args.join(" ")).to.equal(2);
      expect(run.stderr, args.join(" ")).to.match(/usage: ftpstream/);
      expect(run.stdout.length, args.join(" ")).to.equal(0);
    }
    expect(server.sessions.length, "no connection for a bad command line").to.equal(0);
  });

  it("--help and -h print usage on stdout with exit status 0, listing every command and option", async () => {
    for (const flag of ["--help", "-h"]) {
      const run = await runCli([flag]);
      expect(run.code, flag).to.equal(0);
      expect(run.stderr, flag).to.equal("");
      const text = run.stdout.toString();
      expect(text).to.match(/^usage: ftpstream/);
      for (const word of [
        "get <url>",
        "put <file|->",
        "ls <url>",
        "cat <url>",
        "--active",
        "--timeout <ms>",
        "--ca <file>",
        "--insecure",
        "--quiet",
        "--debug",
        "-h, --help",
      ]) {
        expect(text, flag).to.include(word);
      }
    }
  });

  it("says what a URL must look like when an argument is not one", async () => {
    for (const [args, bad] of [
      [["get", "notaurl"], "notaurl"],
      [["cat", "http://example.com/a"], "http://example.com/a"],
      [["put", "-", "ftp:// bad"], "ftp:// bad"],
    ] as const) {
      const run = await runCli([...args]);
      expect(run.code, bad).to.equal(2);
      expect(run.stderr, bad).to.include(`expected a URL such as ftp://[user[:password]@]host[:port]/path`);
      expect(run.stderr, bad).to.include(JSON.stringify(bad));
    }
  });

  it("shows a URL it cannot read without what stands before its '@', which may be a password", async () => {
    const run = await runCli(["ls", "ftp://bob:hunter2@/no-host"]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include("expected a URL such as").and.include('"ftp://***@/no-host"');
    expect(run.stderr).to.not.include("hunter2");
  });

  it("cat stops quietly when its reader goes away (| head -c 10): the session ends with QUIT, exit status 0, no message", async () => {
    const run = await runCli(["cat", url("/pub/big.bin")], { closeStdoutAfter: 10 });
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout.length, "far less than the file: the transfer stopped").to.be.below(3_000_000);
    expect(server.commands[server.commands.length - 1]).to.equal("QUIT");
  });

  it("ls stops quietly when its reader goes away (| head -3): the session ends with QUIT, exit status 0, no message", async () => {
    // A listing larger than a pipe's buffer (64 KiB), so the CLI is still writing when the reader leaves.
    for (let i = 0; i < 4000; i++) server.vfs.set(`/many/file-${String(i).padStart(5, "0")}.txt`, "x");
    const run = await runCli(["ls", url("/many")], { closeStdoutAfter: 3 * 60 });
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout.toString().split("\n")[0]).to.match(/^file\s+1 \d{14} file-\d{5}\.txt$/);
    expect(server.commands[server.commands.length - 1]).to.equal("QUIT");
  });
});

describe("ftpstream mirror, rm, mkdir, mv", () => {
  const { dir, start } = useCliFixture("ftpstream-cli-tree-");
  let server: FixtureServer;
  beforeEach(async () => {
    server = await start({ files: { "/t/a.txt": "alpha\n", "/t/sub/b.txt": "beta\n", "/t/empty/": "" } });
  });
  const url = (path: string): string => `ftp://user:pass@${server.host}:${server.port}/${path}`;

  it("mirror <url> <dir> downloads the tree, and a second run transfers nothing", async () => {
    const first = await runCli(["mirror", url("t"), dir()]);
    expect(first.code, first.stderr).to.equal(0);
    expect(readFileSync(join(dir(), "sub/b.txt"), "utf8")).to.equal("beta\n");
    expect(existsSync(join(dir(), "empty"))).to.equal(true);
    expect(first.stderr).to.include("transferred 2 files (11 bytes), 0 unchanged, 0 deleted");
    const second = await runCli(["mirror", url("t"), dir(), "--parallel", "2"]);
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stderr).to.include("transferred 0 files (0 bytes), 2 unchanged");
  });

  it("mirror writes each RETR with its EPSV; --no-pipelining waits for each reply, as before", async () => {
    for (const [flags, early] of [
      [[], true],
      [["--no-pipelining"], false],
    ] as const) {
      rmSync(dir(), { recursive: true, force: true });
      const epsv = watchOverlap(server, "EPSV");
      const run = await runCli(["mirror", url("t"), dir(), ...flags]);
      expect(run.code, run.stderr).to.equal(0);
      expect(readFileSync(join(dir(), "sub/b.txt"), "utf8")).to.equal("beta\n");
      // The first EPSV finds out that the port is reachable; the walk's listings and both RETRs follow.
      expect(epsv.slice(1), flags.join(" ")).to.deep.equal(epsv.slice(1).map(() => early));
      expect(epsv.length).to.be.at.least(4);
    }
  });

  it("mirror on one connection writes each file's EPSV and RETR behind the one in front on a server whose welcome names vsftpd", async () => {
    const vsftpd = await FixtureServer.start({
      welcome: "220 (vsFTPd 3.0.3)",
      files: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`/w/f${i}.txt`, `file ${i}\n`])),
    });
    // Each RETR is answered once the next one has come (or after 500 ms): what
    // is written ahead shows however fast the client's local steps are.
    vsftpd.handle("RETR", async (s, arg) => {
      await vsftpd.waitForCommand("RETR", { from: vsftpd.commands.lastIndexOf(`RETR ${arg}`) + 1, timeoutMs: 500 }).catch(() => undefined);
      await s.defaultHandler("RETR", arg);
    });
    try {
      const run = await runCli(["mirror", `ftp://user:pass@${vsftpd.host}:${vsftpd.port}/w`, dir(), "--debug"]);
      expect(run.code, run.stderr).to.equal(0);
      for (let i = 0; i < 6; i++) expect(readFileSync(join(dir(), `f${i}.txt`), "utf8")).to.equal(`file ${i}\n`);
      // Transfer commands written while another still waits for its 226.
      let waiting = 0;
      let ahead = 0;
      for (const line of run.stderr.split("\n")) {
        if (/\*cmd\* '(RETR|LIST|MLSD|NLST) /.test(line) && waiting++ > 0) ahead++;
        else if (/\*resp\* '226/.test(line)) waiting--;
      }
      expect(vsftpd.commands.filter((line) => line.startsWith("RETR "))).to.have.length(6);
      expect(ahead, run.stderr).to.equal(5);
    } finally {
      await vsftpd.close();
    }
  });

  it("mirror <dir> <url> uploads over --parallel connections, --delete removing what the local tree lacks", async () => {
    writeFileSync(join(dir(), "new.txt"), "new\n");
    const run = await runCli(["mirror", dir(), url("t"), "--parallel", "3", "--delete"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(server.vfs.get("/t/new.txt")?.toString()).to.equal("new\n");
    expect(server.vfs.exists("/t/a.txt")).to.equal(false);
    expect(server.vfs.exists("/t/sub")).to.equal(false);
    expect(server.commands.filter((line) => line.startsWith("USER"))).to.have.length.above(1);
  });

  it("mirror --dry-run changes nothing and says what it would do", async () => {
    const run = await runCli(["mirror", url("t"), dir(), "--dry-run"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include("would transfer 2 files");
    expect(readdirSync(dir())).to.deep.equal([]);
  });

  it("mirror exits 3 naming each file that failed when the others were done", async () => {
    server.handle("RETR", (s, arg) => (arg.endsWith("b.txt") ? s.reply(550, "Permission denied.") : s.defaultHandler("RETR", arg)));
    const run = await runCli(["mirror", url("t"), dir()]);
    expect(run.code).to.equal(3);
    expect(run.stderr).to.include("sub/b.txt: 550 Permission denied.");
    expect(readFileSync(join(dir(), "a.txt"), "utf8")).to.equal("alpha\n");
  });

  it("mirror with two URLs or two directories is a usage error (status 2)", async () => {
    expect((await runCli(["mirror", url("t"), url("u")])).code).to.equal(2);
    expect((await runCli(["mirror", dir(), dir()])).code).to.equal(2);
  });

  it("rm deletes a file, rm -r a tree; rm of a directory without -r fails (status 1)", async () => {
    expect((await runCli(["rm", url("t/a.txt")])).code).to.equal(0);
    expect(server.vfs.exists("/t/a.txt")).to.equal(false);
    expect((await runCli(["rm", url("t/sub")])).code).to.equal(1);
    expect((await runCli(["rm", "-r", url("t/sub")])).code).to.equal(0);
    expect(server.vfs.exists("/t/sub")).to.equal(false);
  });

  it("mkdir -p makes every missing level and accepts one that exists; mkdir alone fails on an existing one", async () => {
    expect((await runCli(["mkdir", "-p", url("x/y/z")])).code).to.equal(0);
    expect(server.vfs.isDir("/x/y/z")).to.equal(true);
    expect((await runCli(["mkdir", "-p", url("x/y/z")])).code).to.equal(0);
    expect((await runCli(["mkdir", url("x/y/z")])).code).to.equal(1);
  });

  it("mv renames on the server, to a path or to a URL of the same server", async () => {
    expect((await runCli(["mv", url("t/a.txt"), "t/c.txt"])).code).to.equal(0);
    expect(server.vfs.get("/t/c.txt")?.toString()).to.equal("alpha\n");
    expect((await runCli(["mv", url("t/c.txt"), url("t/d.txt")])).code).to.equal(0);
    expect(server.vfs.exists("/t/d.txt")).to.equal(true);
    expect((await runCli(["mv", url("t/d.txt"), "ftp://other.example/t/e.txt"])).code).to.equal(2);
  });
});
