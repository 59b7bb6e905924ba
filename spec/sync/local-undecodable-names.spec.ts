/**
 * Local file names that no string names. On Linux a name is any bytes;
 * Node's fs reads a name that is not UTF-8 (the Latin-1 `caf\xe9.txt` of
 * an old tool or an unzip) with U+FFFD in place of the bad bytes, and
 * writes a string holding a lone surrogate (a remote byte that did not
 * decode, escaped) with U+FFFD too. Such a string reaches another file
 * (a real `a\uFFFD.txt`, bytes EF BF BD) or none, and two names read
 * alike. A tree transfer run with `delete` must take neither for the
 * other: each such name is a failure (FtpPathError, reason
 * "undecodable"), nothing in its directory is deleted on either side, and
 * nothing is sent or written under a name that is not its own. This
 * machine's /tmp is a Linux file system: the names are made with Buffer
 * paths.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { FixtureServer, lsLine } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPathError } from "../../lib/index.js";
import type { TreeEntry } from "../../lib/index.js";
import { isLocalName, localName, shownName } from "../../lib/local-names.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** The local path `dir/<prefix><bytes><suffix>` as bytes. */
function bytesPath(dir: string, prefix: string, bytes: number[], suffix: string): Buffer {
  return Buffer.concat([Buffer.from(`${dir}/${prefix}`), Buffer.from(bytes), Buffer.from(suffix)]);
}

/** The names in local `dir`, each as its bytes in hex. */
function namesIn(dir: string): string[] {
  return readdirSync(dir, { encoding: "buffer" })
    .map((name) => name.toString("hex"))
    .sort();
}

const hex = (name: string | Buffer): string => Buffer.from(name).toString("hex");

/** The failures of a rejected tree transfer, as path → reason (or code). */
function failuresOf(error: Error): Record<string, string> {
  expect(error).to.be.instanceOf(FtpDirTransferError);
  const out: Record<string, string> = {};
  for (const { path, error: cause } of (error as FtpDirTransferError).failures) {
    out[path] = cause instanceof FtpPathError ? cause.reason : ((cause as { code?: string }).code ?? cause.message);
  }
  return out;
}

/** A path holding a byte that is not UTF-8, escaped as U+DC80 + byte (what filter is shown). */
const UNDECODED = /[\udc80-\udcff]/;

/** The commands sent with verb `verb`. */
const sent = (srv: FixtureServer, verb: string): string[] => srv.commands.filter((line) => line.split(" ")[0] === verb);

describe("sync: local names that no string names (bytes that are not UTF-8)", () => {
  const fx = useFixtures();
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ftpstream-undecodable-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe("uploadDir", () => {
    /** top.txt, d/ok.txt and d/a\xff.txt (Latin-1 bytes, not UTF-8) below `local`. */
    function plantLatin1(local: string): void {
      mkdirSync(join(local, "d"), { recursive: true });
      writeFileSync(join(local, "top.txt"), "top");
      writeFileSync(join(local, "d/ok.txt"), "ok");
      writeFileSync(bytesPath(local, "d/a", [0xff], ".txt"), "latin-1 name");
    }

    const REMOTE_EXTRAS = { "/r/d/extra.txt": "in d", "/r/other/extra2.txt": "in other", "/r/top2.txt": "at the root" };

    it("fails the name (FtpPathError 'undecodable', its byte shown as \\xff) and uploads the rest", async () => {
      const local = join(root, "up");
      plantLatin1(local);
      const srv = await fx.server({ files: REMOTE_EXTRAS });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.uploadDir(local, "/r"));
      expect(failuresOf(error)).to.deep.equal({ "d/a\udcff.txt": "undecodable" });
      const cause = (error as FtpDirTransferError).failures[0].error as FtpPathError;
      expect(cause.code).to.equal("ERR_FTP_BAD_PATH");
      expect(cause.path).to.equal("d/a\udcff.txt");
      expect(cause.message).to.include('"d/a\\xff.txt"');
      expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 0 });
      expect(srv.vfs.get("/r/top.txt")?.toString()).to.equal("top");
      expect(srv.vfs.get("/r/d/ok.txt")?.toString()).to.equal("ok");
      // Nothing went under the string Node read for it, nor under any other name.
      expect(sent(srv, "STOR").sort()).to.deep.equal(["STOR /r/d/ok.txt", "STOR /r/top.txt"]);
    });

    it("with delete, keeps the remote extras of that directory and deletes those of the others", async () => {
      const local = join(root, "up");
      plantLatin1(local);
      const srv = await fx.server({ files: REMOTE_EXTRAS });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.uploadDir(local, "/r", { delete: true }));
      expect(failuresOf(error)).to.deep.equal({ "d/a\udcff.txt": "undecodable" });
      expect(srv.vfs.get("/r/d/extra.txt")?.toString(), "the extra beside the refused name").to.equal("in d");
      expect(srv.vfs.exists("/r/other/extra2.txt")).to.equal(false);
      expect(srv.vfs.exists("/r/other")).to.equal(false);
      expect(srv.vfs.exists("/r/top2.txt")).to.equal(false);
      expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 3 });
      expect(sent(srv, "DELE")).to.not.include("DELE /r/d/extra.txt");
    });

    it("takes no name for another that reads alike: a real U+FFFD name is sent as itself, the Latin-1 one fails, nothing beside them is deleted", async () => {
      const local = join(root, "up");
      mkdirSync(join(local, "e"), { recursive: true });
      // a\xff.txt reads as "a\uFFFD.txt", which is the name of the other file (bytes EF BF BD).
      writeFileSync(bytesPath(local, "e/a", [0xff], ".txt"), "latin-1 name");
      writeFileSync(join(local, "e/a\ufffd.txt"), "real U+FFFD");
      // Two Latin-1 names that read alike, with no file of the string they read as.
      writeFileSync(bytesPath(local, "e/b", [0xfe], ".txt"), "b fe");
      writeFileSync(bytesPath(local, "e/b", [0xfd], ".txt"), "b fd");
      const srv = await fx.server({ files: { "/r/e/extra.txt": "in e" } });
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.uploadDir(local, "/r", { delete: true }));
      expect(failuresOf(error)).to.deep.equal({
        "e/a\udcff.txt": "undecodable",
        "e/b\udcfe.txt": "undecodable",
        "e/b\udcfd.txt": "undecodable",
      });
      expect(sent(srv, "STOR")).to.deep.equal(["STOR /r/e/a\ufffd.txt"]);
      expect(srv.vfs.get("/r/e/a\ufffd.txt")?.toString()).to.equal("real U+FFFD");
      expect(srv.vfs.get("/r/e/extra.txt")?.toString()).to.equal("in e");
      expect(sent(srv, "DELE")).to.deep.equal([]);
    });

    it("shows filter the name with its bytes escaped (U+DC80 + byte), a file or a directory: left out, it is no failure and nothing is sent for it", async () => {
      const local = join(root, "up");
      plantLatin1(local);
      mkdirSync(bytesPath(local, "x", [0xfe], ""));
      writeFileSync(Buffer.concat([bytesPath(local, "x", [0xfe], ""), Buffer.from("/in.txt")]), "below it");
      const srv = await fx.server();
      const ftp = await fx.client(srv);
      const seen: TreeEntry[] = [];
      const filter = (entry: TreeEntry): boolean => (seen.push(entry), !UNDECODED.test(entry.path));
      expect(await ftp.uploadDir(local, "/r", { filter })).to.include({ transferred: 2, deleted: 0 });
      expect(seen.filter((entry) => UNDECODED.test(entry.path)).map(({ path, type, size }) => ({ path, type, size }))).to.have.deep.members(
        [
          { path: "d/a\udcff.txt", type: "file", size: 12 },
          { path: "x\udcfe", type: "dir", size: null },
        ],
      );
      expect(sent(srv, "STOR").sort()).to.deep.equal(["STOR /r/d/ok.txt", "STOR /r/top.txt"]);
    });

    it("with delete and the name left out by filter, still deletes nothing in its directory, and fails it only where that spared something", async () => {
      const local = join(root, "up");
      plantLatin1(local);
      const filter = (entry: TreeEntry): boolean => !UNDECODED.test(entry.path);
      // Nothing to delete in d: nothing is spared, no failure.
      const quiet = await fx.server({ files: { "/r/top2.txt": "at the root" } });
      expect(await (await fx.client(quiet)).uploadDir(local, "/r", { delete: true, filter })).to.include({ transferred: 2, deleted: 1 });
      // An extra in d: kept, and the run says why.
      const srv = await fx.server({ files: REMOTE_EXTRAS });
      const error = await rejectionOf((await fx.client(srv)).uploadDir(local, "/r", { delete: true, filter }));
      expect(failuresOf(error)).to.deep.equal({ "d/a\udcff.txt": "undecodable" });
      expect((error as FtpDirTransferError).failures[0].error.message).to.include(
        'left out by filter, but nothing in "d" is deleted for it',
      );
      expect(srv.vfs.get("/r/d/extra.txt")?.toString(), "the extra beside the left-out name").to.equal("in d");
      expect(srv.vfs.exists("/r/other")).to.equal(false);
      expect(srv.vfs.exists("/r/top2.txt")).to.equal(false);
      expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 3 });
    });
  });

  describe("a local directory listing a name twice", () => {
    // Not possible through Linux's own file systems once names are bytes,
    // but network ones have (NFS, SMB, a directory changing under the
    // read): readdir is played by a stub that lists one name twice.
    const fsp = createRequire(import.meta.url)("node:fs/promises") as typeof import("node:fs/promises");
    const readdirOf = fsp.readdir;
    afterEach(() => {
      fsp.readdir = readdirOf;
      syncBuiltinESMExports();
    });

    /** Makes readdir list the first name of local `dir` twice. */
    function listFirstTwice(dir: string): void {
      const stub = async (path: unknown, options?: unknown): Promise<unknown> => {
        const names = (await (readdirOf as (path: unknown, options?: unknown) => Promise<unknown[]>)(path, options)).sort();
        return path === dir ? [names[0], ...names] : names;
      };
      fsp.readdir = stub as typeof fsp.readdir;
      syncBuiltinESMExports();
    }

    it("takes the first, fails the second (FtpPathError 'undecodable'), and with delete removes nothing in that directory", async () => {
      const local = join(root, "up");
      mkdirSync(join(local, "e"), { recursive: true });
      writeFileSync(join(local, "e/a.txt"), "a");
      writeFileSync(join(local, "e/b.txt"), "b");
      writeFileSync(join(local, "top.txt"), "top");
      const srv = await fx.server({ files: { "/r/e/extra.txt": "in e", "/r/top2.txt": "at the root" } });
      const ftp = await fx.client(srv);
      listFirstTwice(join(local, "e"));
      const error = await rejectionOf(ftp.uploadDir(local, "/r", { delete: true }));
      expect(failuresOf(error)).to.deep.equal({ "e/a.txt": "undecodable" });
      expect(sent(srv, "STOR").sort()).to.deep.equal(["STOR /r/e/a.txt", "STOR /r/e/b.txt", "STOR /r/top.txt"]);
      expect(srv.vfs.get("/r/e/extra.txt")?.toString()).to.equal("in e");
      expect(srv.vfs.exists("/r/top2.txt")).to.equal(false);
      expect((error as FtpDirTransferError).result).to.include({ transferred: 3, deleted: 1 });
    });
  });

  describe("downloadDir with delete", () => {
    /** d/a\xff.txt (Latin-1) and d/extra.txt, both extras, and f/extra-f.txt, an extra elsewhere, below `local`. */
    function plantExtras(local: string): void {
      mkdirSync(join(local, "d"), { recursive: true });
      mkdirSync(join(local, "f"), { recursive: true });
      writeFileSync(bytesPath(local, "d/a", [0xff], ".txt"), "latin-1 name");
      writeFileSync(join(local, "d/extra.txt"), "extra in d");
      writeFileSync(join(local, "f/extra-f.txt"), "extra in f");
    }

    for (const pipelining of [true, false]) {
      it(`deletes nothing in a local directory holding a name that is not UTF-8, and the extras elsewhere (pipelining: ${pipelining})`, async () => {
        const local = join(root, "down");
        plantExtras(local);
        const srv = await fx.server({ files: { "/r/d/ok.txt": "ok", "/r/f/keep.txt": "keep" } });
        const ftp = await fx.client(srv);
        const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true, pipelining }));
        expect(failuresOf(error)).to.deep.equal({ "d/a\udcff.txt": "undecodable" });
        expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 1 });
        expect(namesIn(join(local, "d"))).to.deep.equal(
          [hex(Buffer.from([0x61, 0xff, 0x2e, 0x74, 0x78, 0x74])), hex("extra.txt"), hex("ok.txt")].sort(),
        );
        expect(readFileSync(bytesPath(local, "d/a", [0xff], ".txt"), "utf8")).to.equal("latin-1 name");
        expect(readFileSync(join(local, "d/extra.txt"), "utf8")).to.equal("extra in d");
        expect(existsSync(join(local, "f/extra-f.txt")), "an extra of a directory fully read").to.equal(false);
        expect(readFileSync(join(local, "f/keep.txt"), "utf8")).to.equal("keep");
      });

      it(`with the local name left out by filter, keeps it and the extras beside it, failing it only where that spared something (pipelining: ${pipelining})`, async () => {
        const local = join(root, "down");
        plantExtras(local);
        const filter = (entry: TreeEntry): boolean => !UNDECODED.test(entry.path);
        const srv = await fx.server({ files: { "/r/d/ok.txt": "ok", "/r/f/keep.txt": "keep" } });
        const ftp = await fx.client(srv);
        const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true, pipelining, filter }));
        expect(failuresOf(error)).to.deep.equal({ "d/a\udcff.txt": "undecodable" });
        expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 1 });
        expect(readFileSync(join(local, "d/extra.txt"), "utf8")).to.equal("extra in d");
        expect(readFileSync(bytesPath(local, "d/a", [0xff], ".txt"), "utf8")).to.equal("latin-1 name");
        // d's extra gone some other way: the next run deletes nothing there, and fails nothing.
        rmSync(join(local, "d/extra.txt"));
        writeFileSync(join(local, "f/extra-f.txt"), "extra in f");
        expect(await ftp.downloadDir("/r", local, { delete: true, pipelining, filter })).to.include({ transferred: 0, deleted: 1 });
        expect(readFileSync(bytesPath(local, "d/a", [0xff], ".txt"), "utf8")).to.equal("latin-1 name");
      });
    }

    it("deletes a local name holding a real U+FFFD (bytes EF BF BD) the source lacks, as any other extra", async () => {
      const local = join(root, "down");
      mkdirSync(local);
      writeFileSync(join(local, "q\ufffd.txt"), "real U+FFFD");
      const srv = await fx.server({ files: { "/r/ok.txt": "ok" } });
      const ftp = await fx.client(srv);
      expect(await ftp.downloadDir("/r", local, { delete: true })).to.include({ transferred: 1, deleted: 1 });
      expect(namesIn(local)).to.deep.equal([hex("ok.txt")]);
    });

    it("writes no remote name holding a byte that did not decode: it would land on the local file of its U+FFFD form", async () => {
      // The server's name is y\xe9.txt (Latin-1), listed to a UTF-8 client as "y\udce9.txt".
      const srv = await fx.server({
        commandEncoding: "latin1",
        features: ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"],
        files: { "/r/y\u00e9.txt": "remote bytes", "/r/z.txt": "zz" },
      });
      srv.handle("LIST", async (s, arg) => {
        const path = s.resolvePath(arg.replace(/^(-\S+\s*)+/, ""));
        const lines = s.vfs.entries(path).map((entry) => `${lsLine(entry.name, entry, Date.now())}\r\n`);
        s.reply(150, "Here comes the directory listing.");
        // The fixture's names are the bytes read as Latin-1: sent back as those bytes.
        await s.sendData(Buffer.from(lines.join(""), "latin1"));
        s.reply(226, "Directory send OK.");
      });
      const local = join(root, "down");
      mkdirSync(local);
      writeFileSync(join(local, "y\ufffd.txt"), "local U+FFFD file");
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { delete: true }));
      expect(failuresOf(error)).to.deep.equal({ "y\udce9.txt": "undecodable" });
      expect((error as FtpDirTransferError).failures[0].error.message).to.include('"y\\xe9.txt"');
      expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/z.txt"]);
      expect(readFileSync(join(local, "y\ufffd.txt"), "utf8"), "neither overwritten nor deleted").to.equal("local U+FFFD file");
      expect((error as FtpDirTransferError).result).to.include({ transferred: 1, deleted: 0 });

      // Left out by filter (shown as "y\udce9.txt"): no failure without delete; with it, the U+FFFD file is still spared, and said so.
      const filter = (entry: TreeEntry): boolean => entry.path !== "y\udce9.txt";
      expect(await ftp.downloadDir("/r", local, { filter })).to.include({ transferred: 0, skipped: 1 });
      const again = await rejectionOf(ftp.downloadDir("/r", local, { delete: true, filter }));
      expect(failuresOf(again)).to.deep.equal({ "y\udce9.txt": "undecodable" });
      expect((again as FtpDirTransferError).failures[0].error.message).to.include(
        "left out by filter, but nothing in the root is deleted for it",
      );
      expect(readFileSync(join(local, "y\ufffd.txt"), "utf8")).to.equal("local U+FFFD file");
      expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/z.txt"]);
    });
  });

  describe("local-names", () => {
    it("names only bytes that round-trip through UTF-8", () => {
      expect(localName(Buffer.from("café.txt"))).to.equal("café.txt");
      expect(localName(Buffer.from("a\ufffd.txt"))).to.equal("a\ufffd.txt");
      expect(localName(Buffer.from([0x61, 0xff]))).to.equal(undefined);
      // A surrogate written as UTF-8 (CESU), an overlong "/": not UTF-8.
      expect(localName(Buffer.from([0xed, 0xa0, 0x80]))).to.equal(undefined);
      expect(localName(Buffer.from([0xc0, 0xaf]))).to.equal(undefined);
    });

    it("takes a remote name with a lone surrogate for no local name, and shows escaped bytes as \\xNN", () => {
      expect(isLocalName("caf\udce9.txt")).to.equal(false);
      expect(isLocalName("\ud83d.txt")).to.equal(false);
      expect(isLocalName("\ud83d\ude00.txt")).to.equal(true);
      expect(shownName("caf\udce9.txt")).to.equal('"caf\\xe9.txt"');
      // A backslash before it is the name's own, not an escape.
      expect(shownName("a\\\udce9")).to.equal('"a\\\\\\xe9"');
    });
  });
});
