/**
 * Names of only dots and blanks (`...`, a lone space) in tree transfers.
 * Only `.` and `..` are special in a path: ` ` is an ordinary name, and
 * `...` one that the walks refuse as a spelling of `..` (Windows drops
 * trailing dots), reported as a failure. Folded to nothing, as the
 * same-file checks did, `sub/ ` was taken for `sub`: a remote link named
 * so refused every write into `sub`, and a remote or local extra so named
 * was never deleted under `delete`, nor reported. Now a file so named is
 * deleted, and a remote directory so named, which a Windows server opens
 * as the directory it is in, is reported and nothing through it deleted.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ftpTime, type FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/**
 * MLSD from the fixture's tree, and in `/r/sub` also a link named
 * `linkName` (pointing out of the tree), as a server whose MLSD shows
 * links lists it.
 */
function serveLinkIn(srv: FixtureServer, linkName: string): void {
  srv.handle("MLSD", async (s, arg) => {
    const path = s.resolvePath(arg);
    if (path !== "/r/sub") return s.defaultHandler("MLSD", arg);
    const time = ftpTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    const lines = [
      `type=cdir;modify=${time}; .`,
      ...s.vfs
        .entries(path)
        .map((e) => `type=${e.type};${e.type === "file" ? `size=${e.size};` : ""}modify=${ftpTime(e.mtime)}; ${e.name}`),
      `type=OS.unix=slink:/etc;modify=${time}; ${linkName}`,
    ];
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
}

describe("names of only dots and blanks in tree transfers", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-dot-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A local source: `sub/a.txt`, and beside it whatever `more` plants. */
  const source = (more: (sub: string) => void = () => undefined): string => {
    const local = join(dir, "in");
    mkdirSync(join(local, "sub"), { recursive: true });
    writeFileSync(join(local, "sub/a.txt"), "alpha");
    more(join(local, "sub"));
    return local;
  };

  it("uploadDir writes into sub/ beside a remote link named ' ' there (it is no link at sub)", async () => {
    const srv = await fx.server({ files: { "/r/sub/old.txt": "old", "/etc/passwd": "root" } });
    serveLinkIn(srv, " ");
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(source(), "/r");
    expect(result).to.include({ transferred: 1 });
    expect(srv.vfs.get("/r/sub/a.txt")!.toString()).to.equal("alpha");
    expect(srv.vfs.get("/etc/passwd")!.toString()).to.equal("root");
  });

  it("uploadDir keeps, and names in kept, a remote link named ' ' the source lacks, under delete", async () => {
    const srv = await fx.server({ files: { "/r/sub/old.txt": "old" } });
    serveLinkIn(srv, " ");
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(source(), "/r", { delete: true });
    expect(result).to.include({ transferred: 1, deleted: 1 });
    expect(result.kept).to.deep.equal(["sub/ "]);
    expect(srv.vfs.exists("/r/sub/old.txt")).to.equal(false);
  });

  it("uploadDir writes into sub/ beside local links named '...' and ' ' there, reporting the '...' it cannot send", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    const ftp = await fx.client(srv);
    const local = source((sub) => {
      symlinkSync("/etc", join(sub, "..."));
      symlinkSync("/etc", join(sub, " "));
    });
    const error = await rejectionOf(ftp.uploadDir(local, "/r"));
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["sub/..."]);
    expect((error as FtpDirTransferError).result).to.include({ transferred: 1 });
    expect((error as FtpDirTransferError).result.links).to.deep.equal(["sub/ "]);
    expect(srv.vfs.get("/r/sub/a.txt")!.toString()).to.equal("alpha");
  });

  it("uploadDir deletes a remote file named ' ' the source lacks, under delete, and says so", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "alpha", "/r/sub/ ": "blank" } });
    const ftp = await fx.client(srv);
    const deleted: string[] = [];
    const result = await ftp.uploadDir(source(), "/r", { delete: true, onDelete: (path) => deleted.push(path) });
    expect(result).to.include({ deleted: 1 });
    expect(deleted).to.deep.equal(["sub/ "]);
    expect(srv.vfs.exists("/r/sub/ ")).to.equal(false);
    expect(srv.vfs.get("/r/sub/a.txt")!.toString()).to.equal("alpha");
  });

  it("uploadDir reports, and deletes nothing in, a remote directory 'sub/ ' the source lacks (a Windows server opens 'sub/ /a.txt' as 'sub/a.txt')", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "old", "/r/sub/ /a.txt": "x", "/r/sub/ /b.txt": "y" } });
    // As Windows opens a path: each segment without its trailing dots and spaces.
    const windowsPath = (path: string): string =>
      path
        .split("/")
        .map((segment) => segment.replace(/[. ]+$/, "") || (segment && "."))
        .join("/");
    for (const verb of ["DELE", "RMD"]) srv.handle(verb, (s, arg) => s.defaultHandler(verb, windowsPath(arg)));
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.uploadDir(source(), "/r", { delete: true }));
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["sub/ "]);
    expect(failures[0].error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "ambiguous" });
    expect(srv.commands.filter((c) => /^(DELE|RMD) /.test(c))).to.deep.equal([]);
    expect(srv.vfs.get("/r/sub/a.txt")!.toString()).to.equal("alpha");
    expect(srv.vfs.get("/r/sub/ /b.txt")!.toString()).to.equal("y");
  });

  it("uploadDir reports a remote 'sub/...' the source lacks under delete, and deletes nothing beside it", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "alpha", "/r/sub/...": "dots", "/r/sub/stale.txt": "stale" } });
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.uploadDir(source(), "/r", { delete: true }));
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["sub/..."]);
    expect(failures[0].error).to.include({ code: "ERR_FTP_BAD_PATH" });
    expect(srv.vfs.exists("/r/sub/...")).to.equal(true);
    expect(srv.vfs.exists("/r/sub/stale.txt")).to.equal(true);
  });

  it("downloadDir deletes a local file named ' ' the source lacks, under delete, and says so", async () => {
    const srv = await fx.server({ files: { "/r/sub/a.txt": "alpha" } });
    const ftp = await fx.client(srv);
    const local = join(dir, "out");
    mkdirSync(join(local, "sub"), { recursive: true });
    writeFileSync(join(local, "sub/ "), "blank");
    const deleted: string[] = [];
    const result = await ftp.downloadDir("/r", local, { delete: true, onDelete: (path) => deleted.push(path) });
    expect(result).to.include({ transferred: 1, deleted: 1 });
    expect(deleted).to.deep.equal(["sub/ "]);
    expect(existsSync(join(local, "sub/ "))).to.equal(false);
    expect(readFileSync(join(local, "sub/a.txt"), "utf8")).to.equal("alpha");
  });
});
