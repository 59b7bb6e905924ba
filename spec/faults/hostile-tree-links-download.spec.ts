/**
 * downloadDir and a link to a directory outside the tree that the
 * server's MLSD lists as a directory with a `unique` value of its own,
 * as pyftpdlib's does (no `type=cdir` line, no link shown as one): the
 * download entered it and fetched what it points to, a tree of any size
 * outside the one asked for, and with `delete` mirrored that into the
 * local target. Where MLSD cannot tell (as uploadDir's and removeDir's
 * deletions already do), the LIST of a directory holding directories is
 * asked before any of them is entered: one it shows as a link is
 * reported in `links` and neither entered nor fetched (lftp's mirror
 * follows no remote link unless told to, `--dereference`); one it does
 * not show as a directory is not entered either, and named as a failure
 * (`FtpListingError`). An MLSD that shows `type=cdir` costs no LIST.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpListingError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { type FakeDir, OUT_LIST, serveFakeTree } from "./fake-tree.js";

/** MLSD lines by directory: /r holds a.txt, sub/ (a real directory) and out, a link to a directory outside /r. */
const MLSD: Record<string, FakeDir> = {
  "/r": {
    unique: "R",
    entries: [
      "type=file;size=1;modify=20200101000000;unique=A; a.txt",
      "type=dir;modify=20200101000000;unique=S; sub",
      "type=dir;modify=20200101000000;unique=O; out",
    ],
  },
  "/r/sub": { unique: "S", entries: ["type=file;size=1;modify=20200101000000;unique=B; b.txt"] },
  "/r/out": { unique: "O", entries: ["type=file;size=1;modify=20200101000000;unique=K; keep.txt"] },
};

const SUB_LINE = "drwxr-xr-x   2 root     root         4096 Jan 01  2020 sub";
const A_LINE = "-rw-r--r--   1 root     root            1 Jan 01  2020 a.txt";

describe("faults: downloadDir and a link to a directory that MLSD lists as a directory (pyftpdlib)", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tree-links-download-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server listing MLSD above (with a `type=cdir` line or not) and the LIST of /r as `listOfRoot`. */
  async function server(cdir: boolean, listOfRoot: string[]): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/a.txt": "a", "/r/sub/b.txt": "b", "/r/out/keep.txt": "k" } });
    serveFakeTree(srv, MLSD, { cdir, list: { "/r": listOfRoot } });
    return srv;
  }

  const outside = (srv: FixtureServer): string[] =>
    srv.commands.filter((command) => /^(MLSD|LIST|RETR|MDTM|SIZE).* \/r\/out/.test(command));
  const lists = (srv: FixtureServer): string[] => srv.commands.filter((command) => command.startsWith("LIST"));

  for (const pipelining of [true, false]) {
    it(`does not enter a directory of MLSD's that LIST shows as a link, and reports it (pipelining: ${pipelining})`, async () => {
      const srv = await server(false, [A_LINE, SUB_LINE, OUT_LIST]);
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", dir, { pipelining });
      expect(result.links).to.deep.equal(["out"]);
      expect(result).to.include({ transferred: 2 });
      expect(outside(srv)).to.deep.equal([]);
      expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "sub"]);
      expect(readFileSync(join(dir, "sub", "b.txt"), "utf8")).to.equal("b");
      // One LIST: of /r, the only directory holding directories.
      expect(lists(srv)).to.have.lengthOf(1);
    });
  }

  it("with delete keeps the local copy of what such a link held, and plans nothing through it (dryRun)", async () => {
    const srv = await server(false, [A_LINE, SUB_LINE, OUT_LIST]);
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "old.txt"), "o");
    const planned: string[] = [];
    const dry = await ftp.downloadDir("/r", dir, {
      delete: true,
      dryRun: true,
      onPlan: (plans) => planned.push(...plans.map((p) => p.path)),
    });
    expect(dry).to.include({ deleted: 0 });
    expect(dry.links).to.deep.equal(["out"]);
    expect(planned.sort()).to.deep.equal(["a.txt", "sub/b.txt"]);
    const result = await ftp.downloadDir("/r", dir, { delete: true });
    expect(result).to.include({ deleted: 0, transferred: 2 });
    expect(result.links).to.deep.equal(["out"]);
    expect(readdirSync(join(dir, "out"))).to.deep.equal(["old.txt"]);
    expect(outside(srv)).to.deep.equal([]);
  });

  it("does not enter a directory of MLSD's that LIST does not show, and names it, deleting nothing below it", async () => {
    const srv = await server(false, [A_LINE, SUB_LINE]);
    const ftp = await fx.client(srv);
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "old.txt"), "o");
    const error = await ftp.downloadDir("/r", dir, { delete: true }).then(
      () => expect.fail("downloadDir should name the directory it did not enter"),
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["out"]);
    expect(failures[0].error).to.be.instanceOf(FtpListingError);
    expect((error as FtpDirTransferError).result).to.include({ transferred: 2, deleted: 0 });
    expect(readdirSync(join(dir, "out"))).to.deep.equal(["old.txt"]);
    expect(outside(srv)).to.deep.equal([]);
  });

  it("asks no LIST where MLSD shows the directory itself (type=cdir: its MLSD is taken at its word)", async () => {
    const srv = await server(true, [A_LINE, SUB_LINE, OUT_LIST]);
    const ftp = await fx.client(srv);
    const result = await ftp.downloadDir("/r", dir);
    expect(result.links).to.deep.equal([]);
    expect(lists(srv)).to.deep.equal([]);
    expect(existsSync(join(dir, "out", "keep.txt"))).to.equal(true);
  });
});
