/**
 * A server-side link to a directory that the server lists as a directory
 * (pyftpdlib's MLSD gives a link `type=dir` and the `unique` fact of what
 * it points to; so does proftpd's with `ShowSymlinks off`). A link to an
 * ancestor was walked again and again until the depth bound, and one of
 * two directories listed with one `unique` value was walked as well as
 * the other: an upload with `delete` sent DELE for the files of the one
 * through the other's path, and removeDir deleted through it. A directory
 * whose `unique` fact is one the walk has entered already (the root's,
 * from its `type=cdir` line or else its MLST) is not entered: the tree
 * transfers take it for a link (reported in `links`, nothing written
 * through it, nothing deleted for it), and nothing is deleted in or below
 * the other when it is no ancestor (either may be the link); removeDir and
 * clearDir refuse with FtpPathError (`"link"`) before deleting anything;
 * walk() yields it without entering it.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError, FtpPathError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { type FakeDir, OUT_LIST, serveFakeTree } from "./fake-tree.js";

/**
 * /r holds keep.txt and sub/; sub/ holds `loop`, a link to /r listed as a
 * directory (unique R): every path below /r/sub/loop is /r again.
 */
const LOOP: Record<string, FakeDir> = {
  "/r": {
    unique: "R",
    entries: ["type=file;size=1;modify=20200101000000;unique=K; keep.txt", "type=dir;modify=20200101000000;unique=S; sub"],
  },
  "/r/sub": { unique: "S", entries: ["type=dir;modify=20200101000000;unique=R; loop"] },
};

/** /r holds a/ and b/, one directory under two names (one a link listed as a directory), x.txt in it. */
const ALIAS: Record<string, FakeDir> = {
  "/r": { unique: "R", entries: ["type=dir;modify=20200101000000;unique=A; a", "type=dir;modify=20200101000000;unique=A; b"] },
  "/r/a": { unique: "A", entries: ["type=file;size=1;modify=20200101000000;unique=X; x.txt"] },
  "/r/b": { unique: "A", entries: ["type=file;size=1;modify=20200101000000;unique=X; x.txt"] },
};

/**
 * /r holds `out`, a link to a directory outside /r that MLSD lists as a
 * directory with a value of its own (pyftpdlib), keep.txt in it; LIST
 * shows it as the link it is (`OUT_LIST`), or not at all.
 */
const OUTSIDE: Record<string, FakeDir> = {
  "/r": { unique: "R", entries: ["type=dir;modify=20200101000000;unique=O; out"] },
  "/r/out": { unique: "O", entries: ["type=file;size=1;modify=20200101000000;unique=K; keep.txt"] },
};
/** LOOP's LIST, each directory shown as one: proftpd's with `ShowSymlinks off` shows a link as what it points to. */
const LOOP_LIST_AS_DIRS = {
  "/r": ["-rw-r--r--   1 root     root            1 Jan 01  2020 keep.txt", "drwxr-xr-x   2 root     root         4096 Jan 01  2020 sub"],
  "/r/sub": ["drwxr-xr-x   3 root     root         4096 Jan 01  2020 loop"],
};

describe("faults: a link to a directory listed as a directory (MLSD unique facts)", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tree-links-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A server whose MLSD lists `tree` (a path below /r/sub/loop as the path
   * without its /sub/loop levels), with a `type=cdir` line carrying the
   * directory's unique value (`cdir`), or without one as pyftpdlib's
   * (then MLST of a directory gives its value).
   */
  async function server(tree: Record<string, FakeDir>, cdir = true, list: Record<string, string[]> = {}): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/keep.txt": "k", "/r/a/x.txt": "x", "/r/b/x.txt": "x", "/r/out/keep.txt": "k" } });
    serveFakeTree(srv, tree, { cdir, list, resolve: (path) => path.replace(/(?:\/sub\/loop)+(?=\/|$)/g, "") });
    return srv;
  }

  const loopListings = (srv: FixtureServer): string[] => srv.commands.filter((command) => /^MLSD \/r\/sub\/loop/.test(command));
  const deletions = (srv: FixtureServer): string[] => srv.commands.filter((command) => /^(DELE|RMD) /.test(command));

  for (const cdir of [true, false]) {
    const how = cdir ? "its type=cdir line" : "MLST (no type=cdir line, as pyftpdlib)";
    for (const pipelining of [true, false]) {
      it(`downloadDir does not enter a link to an ancestor told by ${how}, and reports it (pipelining: ${pipelining})`, async () => {
        // Without type=cdir, the LIST of a directory holding directories is asked too (a real server's shows them).
        const srv = await server(LOOP, cdir, LOOP_LIST_AS_DIRS);
        const ftp = await fx.client(srv);
        const result = await ftp.downloadDir("/r", dir, { pipelining });
        expect(result.links).to.deep.equal(["sub/loop"]);
        expect(loopListings(srv)).to.deep.equal([]);
        expect(readdirSync(dir).sort()).to.deep.equal(["keep.txt", "sub"]);
        expect(readdirSync(join(dir, "sub"))).to.deep.equal([]);
      });
    }

    it(`uploadDir with delete deletes nothing through a link to an ancestor told by ${how}`, async () => {
      const srv = await server(LOOP, cdir);
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "k");
      mkdirSync(join(dir, "sub"));
      const result = await ftp.uploadDir(dir, "/r", { delete: true });
      expect(result.deleted).to.equal(0);
      expect(loopListings(srv)).to.deep.equal([]);
      expect(deletions(srv)).to.deep.equal([]);
    });

    it(`removeDir refuses a tree holding a link to an ancestor told by ${how} that LIST shows as a directory too, deleting nothing`, async () => {
      const srv = await server(LOOP, cdir, LOOP_LIST_AS_DIRS);
      const ftp = await fx.client(srv);
      const error = await ftp.removeDir("/r").then(
        () => expect.fail("removeDir should refuse"),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(FtpPathError);
      expect(error).to.include({ reason: "link", path: "/r/sub/loop" });
      expect(loopListings(srv)).to.deep.equal([]);
      expect(deletions(srv)).to.deep.equal([]);
    });
  }

  it("removeDir deletes a link to an ancestor that LIST shows as a link as the link itself (pyftpdlib)", async () => {
    const srv = await server(LOOP, false, {
      ...LOOP_LIST_AS_DIRS,
      "/r/sub": ["lrwxrwxrwx   1 root     root            2 Dec 07 08:10 loop -> .."],
    });
    for (const verb of ["DELE", "RMD"]) srv.handle(verb, (s) => s.reply(250, `${verb} command successful.`));
    const ftp = await fx.client(srv);
    await ftp.removeDir("/r");
    expect(deletions(srv)).to.deep.equal(["DELE /r/sub/loop", "RMD /r/sub", "DELE /r/keep.txt", "RMD /r"]);
    expect(loopListings(srv)).to.deep.equal([]);
  });

  it("walk() yields a link to an ancestor listed as a directory without entering it", async () => {
    const srv = await server(LOOP);
    const ftp = await fx.client(srv);
    const paths: string[] = [];
    for await (const { path } of ftp.walk("/r")) paths.push(path);
    expect(paths).to.deep.equal(["/r/keep.txt", "/r/sub", "/r/sub/loop"]);
    expect(loopListings(srv)).to.deep.equal([]);
  });

  it("uploadDir with delete deletes nothing in either of two directories listed with one unique value, and names the one it spares", async () => {
    const srv = await server(ALIAS);
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "b", "x.txt"), "x");
    const error = await ftp.uploadDir(dir, "/r", { delete: true }).then(
      () => expect.fail("uploadDir should name the directory it spared"),
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = new Map((error as FtpDirTransferError).failures.map((f) => [f.path, f.error]));
    expect(failures.get("a")).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
    expect(deletions(srv)).to.deep.equal([]);
    // b is taken for the link: nothing is written through it either (its MKD fails, as for any link in the way).
    expect(failures.get("b/x.txt")).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
    expect(srv.commands.filter((command) => command.startsWith("STOR "))).to.deep.equal([]);
  });

  it("downloadDir fetches one of two directories listed with one unique value and reports the other as a link", async () => {
    const srv = await server(ALIAS);
    const ftp = await fx.client(srv);
    const result = await ftp.downloadDir("/r", dir);
    expect(result.links).to.deep.equal(["b"]);
    expect(existsSync(join(dir, "a", "x.txt"))).to.equal(true);
    expect(existsSync(join(dir, "b"))).to.equal(false);
  });

  it("removeDir and clearDir refuse a tree holding two directories listed with one unique value, deleting nothing", async () => {
    const srv = await server(ALIAS);
    const ftp = await fx.client(srv);
    for (const remove of [() => ftp.removeDir("/r"), () => ftp.clearDir("/r")]) {
      const error = await remove().then(
        () => expect.fail("the removal should refuse"),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(FtpPathError);
      expect(error).to.include({ reason: "link", path: "/r/b" });
    }
    expect(deletions(srv)).to.deep.equal([]);
  });

  it("uploadDir with delete deletes nothing through a directory of MLSD's that LIST shows as a link (pyftpdlib): it is kept and named in kept, as a link MLSD shows", async () => {
    const srv = await server(OUTSIDE, false, { "/r": [OUT_LIST] });
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/r", { delete: true });
    expect(result).to.include({ deleted: 0 });
    expect(result.kept).to.deep.equal(["out"]);
    expect(deletions(srv)).to.deep.equal([]);
  });

  it("uploadDir with delete deletes nothing through a directory of MLSD's that LIST does not show", async () => {
    const srv = await server(OUTSIDE, false, { "/r": [] });
    const ftp = await fx.client(srv);
    const error = await ftp.uploadDir(dir, "/r", { delete: true }).then(
      () => expect.fail("uploadDir should name the directory it spared"),
      (caught: unknown) => caught,
    );
    expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["out"]);
    expect(deletions(srv)).to.deep.equal([]);
  });

  it("removeDir deletes a directory of MLSD's that LIST shows as a link as the link itself, nothing through it", async () => {
    const srv = await server(OUTSIDE, false, { "/r": [OUT_LIST] });
    for (const verb of ["DELE", "RMD"]) srv.handle(verb, (s) => s.reply(250, `${verb} command successful.`));
    const ftp = await fx.client(srv);
    await ftp.removeDir("/r");
    // Walked first (bounded, nothing deleted meanwhile), then checked: nothing listed through the link is deleted.
    expect(deletions(srv)).to.deep.equal(["DELE /r/out", "RMD /r"]);
  });

  it("removeDir refuses, deleting nothing, where LIST does not show a directory of MLSD's", async () => {
    const srv = await server(OUTSIDE, false, { "/r": [] });
    const ftp = await fx.client(srv);
    const error = await ftp.removeDir("/r").then(
      () => expect.fail("removeDir should refuse"),
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(FtpListingError);
    expect(deletions(srv)).to.deep.equal([]);
  });

  it("uploadDir writes nothing and makes nothing through a directory of MLSD's that LIST shows as a link (pyftpdlib), and names each", async () => {
    const srv = await server(OUTSIDE, false, { "/r": [OUT_LIST] });
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "out", "new"), { recursive: true });
    writeFileSync(join(dir, "out", "keep.txt"), "changed");
    const error = await ftp.uploadDir(dir, "/r").then(
      () => expect.fail("uploadDir should name what it did not write"),
      (caught: unknown) => caught,
    );
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path).sort()).to.deep.equal(["out/keep.txt", "out/new"]);
    for (const { error: failure } of failures) expect(failure).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
    expect(srv.commands.filter((command) => /^(STOR|MKD|APPE) \/r\//.test(command))).to.deep.equal([]);
  });

  it("uploadDir makes no directory through a link that LIST shows as one (no MLSD), and names it", async () => {
    const srv = await server({}, false, { "/r": [OUT_LIST] });
    srv.handle("MLSD", (s) => s.reply(500, "Unknown command."));
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "out", "new"), { recursive: true });
    const error = await ftp.uploadDir(dir, "/r").then(
      () => expect.fail("uploadDir should name what it did not make"),
      (caught: unknown) => caught,
    );
    const failures = new Map((error as FtpDirTransferError).failures.map((f) => [f.path, f.error]));
    expect(failures.get("out/new")).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
    expect(srv.commands.filter((command) => command.startsWith("MKD /r/out/"))).to.deep.equal([]);
  });

  it("uploadDir takes the directories of an MLSD that shows type=cdir at its word: no LIST, below a path LIST would read as a pattern too", async () => {
    const srv = await fx.server({ files: { "/r/data[1]/sub/old.txt": "o" } });
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "data[1]", "sub"), { recursive: true });
    writeFileSync(join(dir, "data[1]", "sub", "old.txt"), "o");
    writeFileSync(join(dir, "data[1]", "sub", "new.txt"), "n");
    const result = await ftp.uploadDir(dir, "/r", { delete: true });
    expect(result).to.include({ transferred: 2, deleted: 0 });
    expect(srv.vfs.exists("/r/data[1]/sub/new.txt")).to.equal(true);
    expect(srv.commands.filter((command) => command.startsWith("LIST"))).to.deep.equal([]);
  });
});
