/**
 * `delete` below a directory whose listing nothing proves was a read of it.
 * A directory of mode 0111 (the user may enter it, not read it) is listed
 * as nothing with a 226 by proftpd and pure-ftpd (and by vsftpd one level
 * down), and CWD into it succeeds: an empty listing and a directory the
 * server enters prove nothing. Deleting below it acts only on evidence the
 * server gives: the listing showing ".", an MLST `perm` fact with `l`.
 * Where there is none and the local side has something to delete below
 * it, that directory is a failure (FtpListingError) and nothing below it
 * goes; words in the final reply that say the directory was not read
 * (vsftpd, pure-ftpd) fail the listing itself.
 */
import { expect } from "chai";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { FixtureServer, lsLine, mlsxLine } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";
import { uploadDirAsNobody } from "./as-nobody.js";

/** FEAT without MLST: list() reads LIST, as on vsftpd. */
const LIST_ONLY = ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

/** The remote tree of most cases: `locked` is the directory of mode 0111. */
const REMOTE = { "/r/a.txt": "a", "/r/locked/secret.txt": "s", "/r/sub/b.txt": "b" };

/**
 * LIST as servers that show no "." answer it (Twisted, ftp-srv, pyftpdlib's
 * LIST): the directories in `unread` are listed as nothing, with the final
 * reply given there (default vsftpd's usual words). A file is listed as
 * itself, by its name.
 */
function serveListWithoutDot(srv: FixtureServer, unread: Record<string, string | string[]> = {}): void {
  srv.handle("LIST", async (s, arg) => {
    const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
    const st = s.vfs.stat(path);
    if (!st) return s.reply(450, "No such file or directory.");
    const now = Date.now();
    const lines =
      path in unread
        ? []
        : st.type === "file"
          ? [lsLine(path.split("/").pop()!, st, now)]
          : s.vfs.entries(path).map((e) => lsLine(e.name, e, now));
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, unread[path] ?? "Directory send OK.");
  });
}

/**
 * MLSD as pyftpdlib answers it: no `cdir` entry; the directories in
 * `unread` listed as nothing. MLST gives each directory the `perm` fact
 * `perm(path)` says (none when undefined).
 */
function serveMlsdWithoutCdir(srv: FixtureServer, unread: string[], perm: (path: string) => string | undefined): void {
  srv.handle("MLSD", async (s, arg) => {
    const path = s.resolvePath(arg);
    const lines = unread.includes(path) ? [] : s.vfs.entries(path).map((e) => mlsxLine(e.name, e, ["type", "size", "modify"]));
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Transfer complete.");
  });
  srv.handle("MLST", (s, arg) => {
    const path = s.resolvePath(arg);
    const st = s.vfs.stat(path);
    if (!st) return s.reply(550, "No such file or directory.");
    const permission = st.type === "dir" ? perm(path) : "r";
    const facts = mlsxLine(path, st, ["type", "modify"]);
    s.send(`250-Listing "${path}":\r\n ${permission === undefined ? "" : `perm=${permission};`}${facts}\r\n250 End MLST.\r\n`);
  });
}

describe("downloadDir with delete below a directory the user may enter but not read (mode 0111)", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-unproven-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A local tree: path → content, a key ending in "/" a directory. */
  const plant = (files: Record<string, string>): string => {
    const root = join(dir, "out");
    mkdirSync(root, { recursive: true });
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith("/")) mkdirSync(join(root, path), { recursive: true });
      else {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), content);
      }
    }
    return root;
  };
  const failuresOf = (error: Error): ReadonlyArray<{ path: string; error: unknown }> => {
    expect(error).to.be.instanceOf(FtpDirTransferError);
    return (error as FtpDirTransferError).failures;
  };

  for (const pipelining of [true, false]) {
    it(`keeps every local file below a directory listed as an empty 226 that the server enters, and names it (no "." in listings; pipelining: ${pipelining})`, async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
      serveListWithoutDot(srv, { "/r/locked": "Directory send OK." });
      const local = plant({ "locked/mine.txt": "only here", "locked/deeper/more.txt": "mine too", "stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true, pipelining }));
      const failures = failuresOf(error);
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect(failures[0].error).to.be.instanceOf(FtpListingError);
      expect((failures[0].error as Error).message).to.match(/"\/r\/locked" may not be a read of the directory: it was listed as empty/);
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
      expect(readFileSync(join(local, "locked/deeper/more.txt"), "utf8")).to.equal("mine too");
      // The rest was read: mirrored, its extra deleted.
      expect(readFileSync(join(local, "a.txt"), "utf8")).to.equal("a");
      expect(readFileSync(join(local, "sub/b.txt"), "utf8")).to.equal("b");
      expect(existsSync(join(local, "stale.txt"))).to.equal(false);
      expect((error as FtpDirTransferError).result.deleted).to.equal(1);
    });
  }

  it("keeps the local tree when the root itself is that directory, and names the root", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(srv, { "/r/locked": "Directory send OK." });
    const local = plant({ "mine.txt": "only here", "deeper/more.txt": "mine too" });
    const ftp = await fx.client(srv);
    const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r/locked", local, { delete: true })));
    expect(failures.map((f) => f.path)).to.deep.equal(["."]);
    expect(failures[0].error).to.be.instanceOf(FtpListingError);
    expect(readFileSync(join(local, "mine.txt"), "utf8")).to.equal("only here");
    expect(readFileSync(join(local, "deeper/more.txt"), "utf8")).to.equal("mine too");
  });

  it("mirrors such a directory as empty, with no failure, when nothing local lies below it", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(srv, { "/r/locked": "Directory send OK." });
    const local = plant({ "stale.txt": "stale" });
    const ftp = await fx.client(srv);
    const result = await ftp.downloadDir("/r", local, { delete: true });
    expect(result).to.include({ transferred: 2, deleted: 1 });
    expect(readdirSync(join(local, "locked"))).to.deep.equal([]);
  });

  it("fails a listing whose final reply is vsftpd's '226 Transfer done (but failed to open directory).', asking nothing more", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(srv, { "/r/locked": "Transfer done (but failed to open directory)." });
    const local = plant({ "locked/mine.txt": "only here" });
    const ftp = await fx.client(srv);
    const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r", local, { delete: true })));
    expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
    expect((failures[0].error as Error).message).to.contain('the server said "226 Transfer done (but failed to open directory)."');
    expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
    expect(srv.commands.filter((c) => /^(CWD|PWD|MLST)/.test(c))).to.deep.equal([]);
    // list() itself says so, whoever calls it, delete or not.
    const listed = await rejectionOf(ftp.list("/r/locked").next());
    expect(listed).to.be.instanceOf(FtpListingError);
  });

  it("fails a listing whose final reply is pure-ftpd's '226-Sorry, we were unable to read [...]'", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(srv, { "/r/locked": ["Sorry, we were unable to read [/r/locked]", "Options: -a -l ", "0 matches total"] });
    const local = plant({ "locked/mine.txt": "only here" });
    const ftp = await fx.client(srv);
    const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r", local, { delete: true })));
    expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
    expect((failures[0].error as Error).message).to.contain("unable to read [/r/locked]");
    expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
  });

  it("refuses a root that is a file listed as itself (LIST of a file), deleting nothing", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(srv);
    const local = plant({ "mine.txt": "only here" });
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.downloadDir("/r/a.txt", local, { delete: true }));
    expect(error).to.be.instanceOf(FtpListingError);
    expect(readdirSync(local)).to.deep.equal(["mine.txt"]);
  });

  describe("on a server whose MLSD shows no cdir (pyftpdlib)", () => {
    /** `locked` listed as nothing, its MLST perm fact `perm` (none when undefined); every other directory's "elr". */
    const serve = (srv: FixtureServer, perm: string | undefined): void =>
      serveMlsdWithoutCdir(srv, ["/r/locked"], (path) => (path === "/r/locked" ? perm : "elr"));

    it("deletes below an empty directory whose MLST perm fact has 'l': the server says it may be listed", async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "a", "/r/locked/": "", "/r/sub/b.txt": "b" } });
      serve(srv, "elr");
      const local = plant({ "locked/stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result).to.include({ transferred: 2, deleted: 1 });
      expect(readdirSync(join(local, "locked"))).to.deep.equal([]);
      expect(srv.commands.filter((c) => c.startsWith("MLST"))).to.deep.equal(["MLST /r/locked"]);
    });

    it("takes MLST's type=cdir (proftpd's for the working directory) as a directory: deletes below the empty one whose perm has 'l'", async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "a", "/r/locked/": "", "/r/sub/b.txt": "b" } });
      serve(srv, "elr");
      const own = (s: Parameters<Parameters<FixtureServer["handle"]>[1]>[0], path: string): void =>
        s.send(`250-Listing "${path}":\r\n perm=elr;type=cdir;modify=20260101000000; ${path}\r\n250 End MLST.\r\n`);
      srv.handle("MLST", (s, arg) => own(s, s.resolvePath(arg)));
      const local = plant({ "locked/stale.txt": "stale" });
      const ftp = await fx.client(srv);
      await ftp.cwd("/r/locked");
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result).to.include({ transferred: 2, deleted: 1 });
      expect(readdirSync(join(local, "locked"))).to.deep.equal([]);
    });

    it("refuses below one whose MLST perm fact lacks 'l' (proftpd's perm=e for mode 0111), naming it", async () => {
      const srv = await fx.server({ files: REMOTE });
      serve(srv, "e");
      const local = plant({ "locked/mine.txt": "only here" });
      const ftp = await fx.client(srv);
      const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r", local, { delete: true })));
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect((failures[0].error as Error).message).to.contain("may not be listed (perm=e)");
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
    });

    it("refuses below one whose MLST gives no perm fact (pure-ftpd): nothing proves the read", async () => {
      const srv = await fx.server({ files: REMOTE });
      serve(srv, undefined);
      const local = plant({ "locked/mine.txt": "only here" });
      const ftp = await fx.client(srv);
      const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r", local, { delete: true })));
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect((failures[0].error as Error).message).to.contain("may not be a read");
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
    });

    it("refuses a root whose MLST is refused (550); where MLST is not implemented (502), isDirectory decides and nothing proves the read", async () => {
      const srv = await fx.server({ files: REMOTE });
      serve(srv, undefined);
      srv.once("MLST", (s) => s.reply(550, "No such file or directory."));
      const local = plant({ "locked/mine.txt": "only here" });
      const ftp = await fx.client(srv);
      const refused = await rejectionOf(ftp.downloadDir("/r/locked", local, { delete: true }));
      expect(refused).to.be.instanceOf(FtpListingError);
      expect(refused.message).to.contain("its MLST was refused: 550 No such file or directory.");
      srv.once("MLST", (s) => s.reply(502, "Command not implemented."));
      const failures = failuresOf(await rejectionOf(ftp.downloadDir("/r", local, { delete: true })));
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect((failures[0].error as Error).message).to.contain("may not be a read");
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
    });

    it("refuses a root that MLST calls a file", async () => {
      const srv = await fx.server({ files: REMOTE });
      serve(srv, "elr");
      srv.handle("MLSD", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("");
        s.reply(226, "Transfer complete.");
      });
      const local = plant({ "mine.txt": "only here" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r/a.txt", local, { delete: true }));
      expect(error).to.be.instanceOf(FtpListingError);
      expect(error.message).to.contain("not a directory (type=file)");
      expect(readdirSync(local)).to.deep.equal(["mine.txt"]);
    });
  });

  it("asks nothing more of a directory whose listing has entries, with MLSD or LIST", async () => {
    const mlsd = await fx.server({ files: REMOTE });
    serveMlsdWithoutCdir(mlsd, [], () => "elr");
    const list = await fx.server({ features: LIST_ONLY, files: REMOTE });
    serveListWithoutDot(list);
    for (const srv of [mlsd, list]) {
      const local = plant({ "stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result).to.include({ transferred: 3, deleted: 1 });
      expect(commandsAfterLogin(srv).filter((c) => /^(CWD|PWD|MLST)/.test(c))).to.deep.equal([]);
      rmSync(local, { recursive: true });
    }
  });
});

describe("uploadDir with delete and a local directory it may not read", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-unreadable-local-"));
  });
  afterEach(() => {
    for (const sub of ["in/xonly", "in/nolookup"]) if (existsSync(join(dir, sub))) chmodSync(join(dir, sub), 0o755);
    rmSync(dir, { recursive: true, force: true });
  });

  it("deletes no remote file below a local directory whose read fails (EACCES), nor below one whose entries cannot be looked up", async () => {
    const srv = await fx.server({
      files: { "/up/xonly/remote.txt": "r", "/up/nolookup/remote.txt": "r", "/up/ok/remote.txt": "r", "/up/extra.txt": "e" },
    });
    const local = join(dir, "in");
    for (const sub of ["xonly", "nolookup", "ok"]) mkdirSync(join(local, sub), { recursive: true });
    for (const file of ["xonly/a.txt", "nolookup/b.txt", "ok/c.txt"]) writeFileSync(join(local, file), file);
    if (process.getuid?.() === 0) {
      for (const path of [
        dir,
        local,
        ...["xonly", "nolookup", "ok", "xonly/a.txt", "nolookup/b.txt", "ok/c.txt"].map((p) => join(local, p)),
      ]) {
        chownSync(path, 65534, 65534);
      }
    }
    chmodSync(join(local, "xonly"), 0o111);
    chmodSync(join(local, "nolookup"), 0o444);
    const failures = await uploadDirAsNobody(srv.port, local, { delete: true });
    expect(failures.sort()).to.deep.equal(["nolookup/b.txt EACCES", "xonly EACCES"]);
    expect(srv.vfs.get("/up/xonly/remote.txt")?.toString()).to.equal("r");
    expect(srv.vfs.get("/up/nolookup/remote.txt")?.toString()).to.equal("r");
    // What was read in full is mirrored: its extras go.
    expect(srv.vfs.get("/up/ok/remote.txt")).to.equal(undefined);
    expect(srv.vfs.get("/up/extra.txt")).to.equal(undefined);
    expect(srv.vfs.get("/up/ok/c.txt")?.toString()).to.equal("ok/c.txt");
  });
});
