/**
 * The edges of the tree transfers, where a mirror run unattended with
 * `delete` could destroy data or write outside its target: deleting only
 * on complete knowledge (a listing line that could not be read, a listing
 * that failed, an entry of unknown type, letter case), paths that climb,
 * names with either separator, links already in a local or remote target,
 * part files, and the bound on a tree's size.
 */
import { expect } from "chai";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, lsLine } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpLimitError, FtpListingError, FtpPathError, FtpPool } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** FEAT without MLST: list() reads LIST, as on vsftpd. */
const LIST_ONLY = ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

/**
 * Serves LIST from the fixture's tree, each line as `ls -l` prints it,
 * except the names in `rewrite`, whose line is passed through it (a German
 * month, a device file, ...), and the directories in `refuse`, answered 550.
 */
function serveList(srv: FixtureServer, rewrite: Record<string, (line: string) => string> = {}, refuse: string[] = []): void {
  srv.handle("LIST", async (s, arg) => {
    const target = arg.replace(/^(-\S+\s*)+/, "");
    const path = s.resolvePath(target);
    if (refuse.includes(path)) {
      s.reply(550, "Permission denied.");
      return;
    }
    const lines = s.vfs.entries(path).map((entry) => {
      const line = lsLine(entry.name, entry, Date.now());
      const change = rewrite[`${path}/${entry.name}`];
      return change ? change(line) : line;
    });
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
}

/** A line's month as no `ls` prints it (a month of the French Republican calendar): the built-in parser reads no such month. */
const unknownMonth = (line: string): string => line.replace(/ [A-Z][a-z]{2} ( ?\d{1,2} )/, " Brumaire $1");

describe("tree transfers at the edges", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-edges-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A local tree: path → content, a key ending in "/" a directory. */
  const plant = (root: string, files: Record<string, string>): void => {
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith("/")) mkdirSync(join(root, path), { recursive: true });
      else {
        mkdirSync(join(root, path, ".."), { recursive: true });
        writeFileSync(join(root, path), content);
      }
    }
  };

  describe("delete acts only on complete knowledge", () => {
    it("downloadDir keeps every local file of a directory whose listing held a line it could not read, and says so", async () => {
      const srv = await fx.server({
        features: LIST_ONLY,
        files: { "/r/ok.txt": "ok", "/r/maerz.txt": "remote", "/r/other/x.txt": "x" },
      });
      serveList(srv, { "/r/maerz.txt": unknownMonth });
      const local = join(dir, "out");
      plant(local, { "maerz.txt": "local copy", "gone.txt": "only here", "other/stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["."]);
      expect(failures[0].error).to.be.instanceOf(FtpListingError);
      expect((failures[0].error as FtpListingError).lines[0]).to.contain("maerz.txt");
      // The directory that was read in full is mirrored, its extra deleted...
      expect(existsSync(join(local, "other/stale.txt"))).to.equal(false);
      expect(readFileSync(join(local, "ok.txt"), "utf8")).to.equal("ok");
      // ...the one that was not keeps everything.
      expect(readFileSync(join(local, "maerz.txt"), "utf8")).to.equal("local copy");
      expect(readFileSync(join(local, "gone.txt"), "utf8")).to.equal("only here");
      expect((error as FtpDirTransferError).result.deleted).to.equal(1);
    });

    it("reads the German month of the issue's listing, so maerz.txt is mirrored, not deleted", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/ok.txt": "ok", "/r/maerz.txt": "remote" } });
      serveList(srv, { "/r/maerz.txt": (line) => line.replace(/ [A-Z][a-z]{2} ( ?\d{1,2} )/, " M\u00e4r $1") });
      const local = join(dir, "out");
      plant(local, { "maerz.txt": "local copy" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result).to.include({ transferred: 2, deleted: 0 });
      expect(readFileSync(join(local, "maerz.txt"), "utf8")).to.equal("remote");
    });

    it("downloadDir deletes nothing below a remote directory that could not be listed", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/locked/secret.txt": "s" } });
      serveList(srv, {}, ["/r/locked"]);
      const local = join(dir, "out");
      plant(local, { "locked/secret.txt": "mine", "locked/deeper/more.txt": "mine too" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect(readFileSync(join(local, "locked/secret.txt"), "utf8")).to.equal("mine");
      expect(readFileSync(join(local, "locked/deeper/more.txt"), "utf8")).to.equal("mine too");
    });

    it("downloadDir deletes nothing below a directory whose listing does not show itself when the root's does (vsftpd's answer for a directory it may not read)", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/locked/secret.txt": "s" } });
      srv.handle("LIST", async (s, arg) => {
        const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
        const now = Date.now();
        const self = (name: string): string => lsLine(name, s.vfs.stat(path)!, now);
        // vsftpd: an unreadable directory is listed as its parent filtered by its name.
        const lines =
          path === "/r/locked"
            ? [self("locked").replace(/^drwxr-xr-x/, "d---------")]
            : [self("."), self(".."), ...s.vfs.entries(path).map((entry) => lsLine(entry.name, entry, now))];
        s.reply(150, "Here comes the directory listing.");
        await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
        s.reply(226, "Directory send OK.");
      });
      const local = join(dir, "out");
      plant(local, { "locked/mine.txt": "only here", "stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect(failures[0].error).to.be.instanceOf(FtpListingError);
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
      expect(existsSync(join(local, "locked/locked")), "not descended into").to.equal(false);
      expect(existsSync(join(local, "stale.txt"))).to.equal(false);
    });

    it("names a directory once when its listing is only ls's complaint (inetutils and netkit ftpd: 'locked: Permission denied' on the data connection)", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/locked/secret.txt": "s" } });
      srv.handle("LIST", async (s, arg) => {
        const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
        const now = Date.now();
        // ls -lgA runs with its stderr on the data connection.
        const lines =
          path === "/r/locked"
            ? ["locked: Permission denied"]
            : [lsLine(".", s.vfs.stat(path)!, now), ...s.vfs.entries(path).map((entry) => lsLine(entry.name, entry, now))];
        s.reply(150, "Opening ASCII mode data connection for '/bin/ls'.");
        await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
        s.reply(226, "Transfer complete.");
      });
      const local = join(dir, "out");
      plant(local, { "locked/mine.txt": "only here" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["locked"]);
      expect((failures[0].error as FtpListingError).lines).to.deep.equal(["locked: Permission denied"]);
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
    });

    it("downloadDir with delete refuses a root whose listing is empty when the server will not enter it (a missing path's empty 226)", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a" } });
      srv.handle("LIST", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("");
        s.reply(226, "0 matches total");
      });
      const local = join(dir, "out");
      plant(local, { "mine.txt": "mine" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/typo", local, { delete: true }));
      expect(error).to.be.instanceOf(FtpListingError);
      expect(readFileSync(join(local, "mine.txt"), "utf8")).to.equal("mine");
      expect(srv.commands).to.include("CWD /typo");
      // An empty directory that is there, listed as nothing with nothing to
      // prove the read (no ".", no MLST), may be one the user may enter but
      // not read (mode 0111): its local file stays, and the failure says why.
      srv.vfs.mkdir("/empty");
      const unproven = await rejectionOf(ftp.downloadDir("/empty", local, { delete: true }));
      expect((unproven as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["."]);
      expect(readFileSync(join(local, "mine.txt"), "utf8")).to.equal("mine");
      expect(await ftp.pwd()).to.equal("/");
    });

    it("downloadDir with delete checks an empty subdirectory of a server that shows no '.': one it will not enter, or enters with nothing to prove the read, keeps its local files", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/locked/secret.txt": "s", "/r/empty/": "" } });
      // No "." in any listing, and an empty 226 for the directory it may not read.
      srv.handle("LIST", async (s, arg) => {
        const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
        const lines = path === "/r/locked" ? [] : s.vfs.entries(path).map((entry) => lsLine(entry.name, entry, Date.now()));
        s.reply(150, "Here comes the directory listing.");
        await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
        s.reply(226, "Directory send OK.");
      });
      srv.handle("CWD", (s, arg) => {
        if (s.resolvePath(arg) === "/r/locked") s.reply(550, "Failed to change directory.");
        else if (s.vfs.isDir(s.resolvePath(arg))) {
          s.state.cwd = s.resolvePath(arg);
          s.reply(250, "Directory successfully changed.");
        } else s.reply(550, "Failed to change directory.");
      });
      const local = join(dir, "out");
      plant(local, { "locked/mine.txt": "only here", "empty/stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["locked", "empty"]);
      expect(readFileSync(join(local, "locked/mine.txt"), "utf8")).to.equal("only here");
      // The empty directory the server enters may still be one it may not
      // read (mode 0111): nothing proves the read, so its extra stays.
      expect(readFileSync(join(local, "empty/stale.txt"), "utf8")).to.equal("stale");
    });

    it("downloadDir keeps a local file that the remote has as an entry of unknown type (a device)", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/dev0": "" } });
      serveList(srv, { "/r/dev0": (line) => `c${line.slice(1)}` });
      const local = join(dir, "out");
      plant(local, { dev0: "a local file of that name" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result.deleted).to.equal(0);
      expect(readFileSync(join(local, "dev0"), "utf8")).to.equal("a local file of that name");
    });

    it("keeps a target file whose name differs from a source file's only in letter case (one file on a case-insensitive disk)", async () => {
      const srv = await fx.server({ files: { "/r/README.md": "remote" } });
      const local = join(dir, "out");
      plant(local, { "readme.md": "local" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { delete: true });
      expect(result.deleted).to.equal(0);
      expect(existsSync(join(local, "readme.md"))).to.equal(true);
    });

    it("keeps what the target holds in a directory the source has as a file, and fails that file: nothing is destroyed for a transfer that cannot happen", async () => {
      const srv = await fx.server({ files: { "/r/x": "now a file" } });
      const local = join(dir, "out");
      plant(local, { "x/keep.txt": "below what is now a file", "x/sub/deep.txt": "deeper", "extra.txt": "the remote lacks it" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["x"]);
      expect(readFileSync(join(local, "x/keep.txt"), "utf8")).to.equal("below what is now a file");
      expect(readFileSync(join(local, "x/sub/deep.txt"), "utf8")).to.equal("deeper");
      expect(existsSync(join(local, "extra.txt")), "a plain extra still goes").to.equal(false);
    });

    it("uploadDir keeps what the remote holds in a directory the local tree has as a file", async () => {
      const srv = await fx.server({ files: { "/r/x/keep.txt": "remote", "/r/x/sub/deep.txt": "deeper" } });
      const local = join(dir, "in");
      plant(local, { x: "now a file" });
      const ftp = await fx.client(srv);
      await rejectionOf(ftp.uploadDir(local, "/r", { delete: true }));
      expect(srv.vfs.exists("/r/x/keep.txt")).to.equal(true);
      expect(srv.vfs.exists("/r/x/sub/deep.txt")).to.equal(true);
    });

    it("keeps a target entry whose source entry the filter left out, though the filter takes the target's (it goes by size)", async () => {
      const srv = await fx.server({ files: { "/r/big.bin": "x".repeat(100), "/r/small.txt": "s" } });
      const local = join(dir, "out");
      plant(local, { "big.bin": "short" });
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, {
        delete: true,
        filter: (entry) => entry.type === "dir" || (entry.size ?? 0) < 50,
      });
      expect(result.deleted).to.equal(0);
      expect(readFileSync(join(local, "big.bin"), "utf8")).to.equal("short");
      expect(readFileSync(join(local, "small.txt"), "utf8")).to.equal("s");
    });

    it("uploadDir deletes no remote file in a local directory holding a name it refused", async () => {
      const srv = await fx.server({ files: { "/r/d/keep.txt": "remote only", "/r/extra.txt": "gone" } });
      const local = join(dir, "in");
      plant(local, { "d/a.txt": "a", "d/back\\slash.txt": "b" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.uploadDir(local, "/r", { delete: true }));
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["d/back\\slash.txt"]);
      expect(failures[0].error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "separator" });
      expect(srv.vfs.exists("/r/d/keep.txt")).to.equal(true);
      expect(srv.vfs.exists("/r/d/a.txt")).to.equal(true);
      expect(srv.vfs.exists("/r/extra.txt")).to.equal(false);
    });
  });

  describe("paths and names that climb", () => {
    for (const remote of ["/r/..", "..", "/r/../r", "r\\..\\..", "/r/.. "]) {
      it(`refuses the remote path ${JSON.stringify(remote)} in downloadDir and uploadDir before anything is sent`, async () => {
        const srv = await fx.server({ files: { "/r/a.txt": "a" } });
        const ftp = await fx.client(srv);
        const before = srv.commands.length;
        for (const call of [
          () => ftp.downloadDir(remote, join(dir, "out"), { delete: true }),
          () => ftp.uploadDir(dir, remote, { delete: true }),
        ]) {
          const error = await rejectionOf(call());
          expect(error).to.be.instanceOf(FtpPathError);
          expect(error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "climbs" });
        }
        expect(srv.commands.slice(before)).to.deep.equal([]);
      });
    }

    it("refuses remote names with a backslash or a climbing spelling, writes nothing for them, and deletes nothing beside them", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "a", "/r/placeholder1": "x", "/r/placeholder2": "y" } });
      serveList(srv, {
        "/r/placeholder1": (line) => line.replace(/placeholder1$/, "..\\..\\evil.txt"),
        "/r/placeholder2": (line) => line.replace(/placeholder2$/, "..."),
      });
      const local = join(dir, "out");
      plant(local, { "mine.txt": "keep" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => (f.error as FtpPathError).reason).sort()).to.deep.equal(["climbs", "separator"]);
      expect(existsSync(join(dir, "evil.txt"))).to.equal(false);
      expect(readFileSync(join(local, "mine.txt"), "utf8")).to.equal("keep");
      expect(readFileSync(join(local, "a.txt"), "utf8")).to.equal("a");
    });
  });

  describe("writes stay inside the local target", () => {
    it("does not write through a directory link in the target, and reports it", async () => {
      const srv = await fx.server({ files: { "/r/sub/evil.txt": "evil", "/r/ok.txt": "ok" } });
      const elsewhere = join(dir, "elsewhere");
      mkdirSync(elsewhere);
      const local = join(dir, "out");
      mkdirSync(local);
      symlinkSync(elsewhere, join(local, "sub"));
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local));
      const failures = (error as FtpDirTransferError).failures;
      // The directory is refused, and the file below it.
      expect(failures.map((f) => f.path)).to.have.members(["sub", "sub/evil.txt"]);
      for (const failure of failures) expect(failure.error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "link" });
      expect(existsSync(join(elsewhere, "evil.txt"))).to.equal(false);
      expect(lstatSync(join(local, "sub")).isSymbolicLink()).to.equal(true);
      expect(readFileSync(join(local, "ok.txt"), "utf8")).to.equal("ok");
    });

    it("does not replace a file link in the target, nor write where it points", async () => {
      const srv = await fx.server({ files: { "/r/x.txt": "new" } });
      const victim = join(dir, "victim.txt");
      writeFileSync(victim, "precious");
      const local = join(dir, "out");
      mkdirSync(local);
      symlinkSync(victim, join(local, "x.txt"));
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local));
      expect((error as FtpDirTransferError).failures[0].error).to.include({ reason: "link" });
      expect(readFileSync(victim, "utf8")).to.equal("precious");
      expect(readlinkSync(join(local, "x.txt"))).to.equal(victim);
    });

    it("never writes through a link planted at a part file's name: the part file is created exclusively", async () => {
      const srv = await fx.server({ files: { "/r/x.txt": "new content" } });
      const victim = join(dir, "victim.txt");
      writeFileSync(victim, "precious");
      const local = join(dir, "out");
      mkdirSync(local);
      symlinkSync(victim, join(local, ".x.txt.ftpstream-part"));
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local);
      expect(result.transferred).to.equal(1);
      expect(readFileSync(victim, "utf8")).to.equal("precious");
      expect(readFileSync(join(local, "x.txt"), "utf8")).to.equal("new content");
      expect(lstatSync(join(local, "x.txt")).isSymbolicLink()).to.equal(false);
      expect(existsSync(join(local, ".x.txt.ftpstream-part"))).to.equal(false);
    });

    it("does not make a missing directory through a link above it", async () => {
      const srv = await fx.server({ files: { "/r/sub/new/deep.txt": "d" } });
      const elsewhere = join(dir, "elsewhere");
      mkdirSync(elsewhere);
      const local = join(dir, "out");
      mkdirSync(local);
      symlinkSync(elsewhere, join(local, "sub"));
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local));
      expect((error as FtpDirTransferError).failures.every((f) => (f.error as FtpPathError).reason === "link")).to.equal(true);
      expect(existsSync(join(elsewhere, "new"))).to.equal(false);
    });

    it("uploadDir does not write through a link in the remote target", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/sub": "placeholder", "/etc/passwd": "root" } });
      serveList(srv, { "/r/sub": (line) => `l${line.slice(1)} -> /etc` });
      const local = join(dir, "in");
      plant(local, { "sub/passwd": "owned" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.uploadDir(local, "/r"));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.include("sub/passwd");
      expect(srv.commands.some((c) => c.startsWith("STOR"))).to.equal(false);
      expect(srv.vfs.get("/etc/passwd")!.toString()).to.equal("root");
    });
  });

  describe("a server that fails halfway", () => {
    it("downloadDir leaves the old local file as it was, no part file, and deletes nothing because of the failed file", async () => {
      const srv = await fx.server({ files: { "/r/big.bin": Buffer.alloc(10_000, 2), "/r/ok.txt": "ok" } });
      // Half the file, then a 451: the transfer failed after bytes were written.
      srv.handle("RETR", async (s, arg) => {
        if (!arg.endsWith("big.bin")) return s.defaultHandler("RETR", arg);
        s.reply(150, "Opening BINARY mode data connection for big.bin (10000 bytes).");
        await s.sendData(Buffer.alloc(5_000, 2));
        s.reply(451, "Local error in processing.");
      });
      const local = join(dir, "out");
      plant(local, { "big.bin": "old", "stale.txt": "stale" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["big.bin"]);
      expect(readFileSync(join(local, "big.bin"), "utf8")).to.equal("old");
      expect(existsSync(join(local, ".big.bin.ftpstream-part"))).to.equal(false);
      expect(readFileSync(join(local, "ok.txt"), "utf8")).to.equal("ok");
      // The source listed big.bin in full: only the real extra goes.
      expect(existsSync(join(local, "stale.txt"))).to.equal(false);
      expect((error as FtpDirTransferError).result).to.include({ transferred: 1, deleted: 1 });
    });
  });

  describe("bounded", () => {
    it("rejects with FtpLimitError before changing anything when a tree holds more than maxEntries", async () => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 30; i++) files[`/r/f${i}.txt`] = "x";
      const srv = await fx.server({ files });
      const local = join(dir, "out");
      plant(local, { "keep.txt": "k" });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true, maxEntries: 10 }));
      expect(error).to.be.instanceOf(FtpLimitError);
      expect(error).to.include({ limit: "treeEntries", max: 10 });
      expect(srv.commands.some((c) => c.startsWith("RETR"))).to.equal(false);
      expect(existsSync(join(local, "keep.txt"))).to.equal(true);
    });

    it("an FtpPool's downloadDir keeps the same guarantees (unreadable line: nothing deleted there)", async () => {
      const srv = await fx.server({ features: LIST_ONLY, files: { "/r/ok.txt": "ok", "/r/maerz.txt": "remote" } });
      serveList(srv, { "/r/maerz.txt": unknownMonth });
      const local = join(dir, "out");
      plant(local, { "maerz.txt": "local copy" });
      const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
      try {
        const error = await rejectionOf(pool.downloadDir("/r", local, { delete: true }));
        expect((error as FtpDirTransferError).failures[0].error).to.be.instanceOf(FtpListingError);
        expect(readFileSync(join(local, "maerz.txt"), "utf8")).to.equal("local copy");
      } finally {
        await pool.close();
      }
    });
  });
});
