/**
 * The LIST behind list(), walk() and downloadDir where there is no MLSD:
 * `LIST -a`, since vsftpd, proftpd and pure-ftpd leave names beginning
 * with "." out of a plain LIST. Each server here is the fixture with FEAT
 * lacking MLST and a LIST handler that behaves as one kind of server does
 * with "-a": takes it (and hides dot files without it, as vsftpd), refuses
 * it with 501, or reads it as a file name and lists nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { lsLine } from "../../fixtures/server.js";
import type { FixtureServer, Session } from "../../fixtures/server.js";
import { FtpTempError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

/** FEAT without MLST: list() reads LIST, as on vsftpd. */
const LIST_ONLY = ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

/** A tree with dot files at two levels, and an empty directory. */
const TREE = {
  "/site/index.html": "<html>",
  "/site/.htaccess": "Deny from all\n",
  "/site/sub/app.js": "js",
  "/site/sub/.env": "SECRET=1\n",
  "/site/empty/": "",
};

/**
 * What a server does with `LIST -a ...`: takes it (vsftpd, proftpd,
 * pure-ftpd), refuses it with 501, reads it as a name and lists nothing,
 * or takes a bare `LIST -a` but reads `LIST -a <path>` as the path
 * "-a <path>" and answers 550 (pyftpdlib).
 */
type AllFlag = "takes" | "refuses" | "reads as a name" | "takes it alone";

/** The `ls -l` lines of `path`, dot files left out unless `all` (vsftpd's plain LIST hides them). */
function lines(s: Session, path: string, all: boolean): string {
  return s.vfs
    .entries(path)
    .filter((entry) => all || !entry.name.startsWith("."))
    .map((entry) => `${lsLine(entry.name, entry, Date.now())}\r\n`)
    .join("");
}

/** Serves LIST as a server that `flag`s "-a"; a missing directory is answered 450, as vsftpd does. */
function serveList(srv: FixtureServer, flag: AllFlag): void {
  srv.handle("LIST", async (s, arg) => {
    const all = /^-a(?:\s|$)/.test(arg);
    const target = all ? arg.replace(/^-a\s*/, "") : arg;
    if (all && flag === "refuses") {
      await s.closeData();
      s.reply(501, "Invalid option -a.");
      return;
    }
    if (all && target && flag === "takes it alone") {
      await s.closeData();
      s.reply(550, "No such file or directory.");
      return;
    }
    const path = s.resolvePath(target);
    if (!s.vfs.isDir(path)) {
      await s.closeData();
      s.reply(450, `${target}: No such file or directory`);
      return;
    }
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(all && flag === "reads as a name" ? "" : lines(s, path, all));
    s.reply(226, "Directory send OK.");
  });
}

/** The LIST commands the server saw after the login. */
function listCommands(srv: FixtureServer): string[] {
  return commandsAfterLogin(srv).filter((line) => line.startsWith("LIST"));
}

describe("LIST -a for structured listings", function () {
  const fixtures = useFixtures();
  let local: string | undefined;
  afterEach(() => {
    if (local) rmSync(local, { recursive: true, force: true });
    local = undefined;
  });

  it("lists dot files with LIST -a where the server takes it: list(), walk() and downloadDir see .htaccess and sub/.env", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes");
    const ftp = await fixtures.client(srv);
    const names: string[] = [];
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(names.sort()).to.deep.equal([".htaccess", "empty", "index.html", "sub"]);
    const paths: string[] = [];
    for await (const { path } of ftp.walk("/site")) paths.push(path);
    expect(paths.sort()).to.deep.equal([
      "/site/.htaccess",
      "/site/empty",
      "/site/index.html",
      "/site/sub",
      "/site/sub/.env",
      "/site/sub/app.js",
    ]);
    local = mkdtempSync(join(tmpdir(), "ftpstream-list-all-"));
    await ftp.downloadDir("/site", local);
    expect(readFileSync(join(local, ".htaccess"), "utf8")).to.equal("Deny from all\n");
    expect(readFileSync(join(local, "sub/.env"), "utf8")).to.equal("SECRET=1\n");
    // Every listing said -a; the empty directory, listed after -a had shown lines, is not asked twice.
    expect(listCommands(srv).every((line) => line.startsWith("LIST -a "))).to.equal(true);
    expect(listCommands(srv).filter((line) => line === "LIST -a /site/empty")).to.have.length(2);
  });

  it("falls back to plain LIST when the server refuses -a with 501, and sends -a no more on that connection", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "refuses");
    const ftp = await fixtures.client(srv);
    const names: string[] = [];
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(names.sort()).to.deep.equal(["empty", "index.html", "sub"]);
    for await (const entry of ftp.list("/site/sub")) names.push(entry.name);
    expect(listCommands(srv)).to.deep.equal(["LIST -a /site", "LIST /site", "LIST /site/sub"]);
  });

  it("falls back to plain LIST when the server answers LIST -a with an empty listing (it read -a as a name), and remembers", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "reads as a name");
    const ftp = await fixtures.client(srv);
    const names: string[] = [];
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(names.sort()).to.deep.equal(["empty", "index.html", "sub"]);
    for await (const entry of ftp.list("/site/sub")) names.push(entry.name);
    expect(names).to.include("app.js");
    expect(listCommands(srv)).to.deep.equal(["LIST -a /site", "LIST /site", "LIST /site/sub"]);
  });

  it("an empty directory listed first costs one plain LIST more and teaches nothing: -a is still sent after", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes");
    const ftp = await fixtures.client(srv);
    for await (const entry of ftp.list("/site/empty")) expect.fail(`unexpected entry ${entry.name}`);
    const names: string[] = [];
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(names).to.include(".htaccess");
    expect(listCommands(srv)).to.deep.equal(["LIST -a /site/empty", "LIST /site/empty", "LIST -a /site"]);
  });

  it("falls back to plain LIST on a 550 to LIST -a <path> even after a bare LIST -a had lines (pyftpdlib)", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes it alone");
    const ftp = await fixtures.client(srv);
    await ftp.cwd("/site");
    const names: string[] = [];
    for await (const entry of ftp.list("")) names.push(entry.name);
    expect(names).to.include(".htaccess");
    for await (const entry of ftp.list("/site/sub")) names.push(entry.name);
    expect(names).to.include("app.js");
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(listCommands(srv)).to.deep.equal(["LIST -a", "LIST -a /site/sub", "LIST /site/sub", "LIST /site"]);
  });

  it("a missing directory still rejects with the server's reply, and teaches nothing", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes");
    const ftp = await fixtures.client(srv);
    const error = await rejectionOf(ftp.list("/nowhere").next());
    expect(error).to.be.instanceOf(FtpTempError);
    expect(error).to.include({ replyCode: 450 });
    const names: string[] = [];
    for await (const entry of ftp.list("/site")) names.push(entry.name);
    expect(names).to.include(".htaccess");
    // A refusal is asked again without -a even once -a showed lines; it is still the path's.
    expect(await rejectionOf(ftp.list("/gone").next())).to.include({ replyCode: 450 });
    for await (const entry of ftp.list("/site/sub")) names.push(entry.name);
    expect(names).to.include(".env");
    expect(listCommands(srv)).to.deep.equal([
      "LIST -a /nowhere",
      "LIST /nowhere",
      "LIST -a /site",
      "LIST -a /gone",
      "LIST /gone",
      "LIST -a /site/sub",
    ]);
  });

  it("lists the working directory with LIST -a and no path", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes");
    const ftp = await fixtures.client(srv);
    await ftp.cwd("/site");
    const names: string[] = [];
    for await (const entry of ftp.list("")) names.push(entry.name);
    expect(names).to.include(".htaccess");
    expect(listCommands(srv)).to.deep.equal(["LIST -a"]);
  });

  it("tries -a again on a new connection (a reconnection under retry): what was learnt lasts one connection", async function () {
    // Server: refuses -a; the first PWD drops the connection, and the client reconnects.
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "refuses");
    srv.once("PWD", (s) => s.drop());
    const ftp = await fixtures.client(srv, { retry: { attempts: 1, minDelay: 1 } });
    for await (const entry of ftp.list("/site")) expect(entry.name).to.be.a("string");
    expect(await ftp.pwd()).to.equal("/");
    for await (const entry of ftp.list("/site")) expect(entry.name).to.be.a("string");
    expect(srv.commands.filter((line) => line.startsWith("LIST"))).to.deep.equal([
      "LIST -a /site",
      "LIST /site",
      "LIST -a /site",
      "LIST /site",
    ]);
  });

  it("leaves ftplib's own listings as they are: dir, nlst and retrlines send what they are given", async function () {
    const srv = await fixtures.server({ features: LIST_ONLY, files: TREE });
    serveList(srv, "takes");
    const ftp = await fixtures.client(srv);
    await ftp.dir("/site", () => undefined);
    await ftp.nlst("/site");
    for await (const line of ftp.retrlines("LIST /site")) expect(line).to.be.a("string");
    expect(commandsAfterLogin(srv).filter((line) => /^(?:LIST|NLST)/.test(line))).to.deep.equal(["LIST /site", "NLST /site", "LIST /site"]);
  });
});
