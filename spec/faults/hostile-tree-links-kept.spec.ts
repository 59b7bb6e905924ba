/**
 * A link (or special file) in the target that the source lacks, under a
 * tree transfer with `delete`: it is left where it is, never deleted (a
 * server may list a link as what it points to, or its DELE follow it), and
 * so are the directories holding one; but the result said nothing of it,
 * and a user took the target for a mirror of the source. Such entries are
 * now named in `DirTransferResult.kept`, on both sides: remote links under
 * uploadDir, local links and FIFOs under downloadDir. Without `delete`,
 * where every extra stays, `kept` is empty.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { useFixtures } from "../core/helpers.js";

/** MLSD of the remote tree: a.txt, old.txt (an extra), lnk (a link), old/ (an extra directory) holding x.txt and dlnk (a link). */
const MLSD: Record<string, string[]> = {
  "/r": [
    "type=cdir;perm=el;unique=R; .",
    "type=file;size=1;modify=20200101000000; a.txt",
    "type=file;size=1;modify=20200101000000; old.txt",
    "type=OS.unix=slink:/etc;modify=20200101000000; lnk",
    "type=dir;modify=20200101000000;unique=D; old",
  ],
  "/r/old": [
    "type=cdir;perm=el;unique=D; .",
    "type=file;size=1;modify=20200101000000; x.txt",
    "type=OS.unix=slink:/etc;modify=20200101000000; dlnk",
  ],
};

describe("faults: links in the target that the source lacks, under delete", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tree-links-kept-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function server(): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/a.txt": "a", "/r/old.txt": "o", "/r/old/x.txt": "x" } });
    srv.handle("MLSD", async (s, arg) => {
      const lines = MLSD[arg];
      if (!lines) return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  const deletions = (srv: FixtureServer): string[] => srv.commands.filter((command) => /^(DELE|RMD) /.test(command)).sort();

  it("uploadDir with delete names the remote links it kept, and deletes the rest of the extras", async () => {
    const srv = await server();
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "a.txt"), "a");
    const result = await ftp.uploadDir(dir, "/r", { delete: true });
    expect(result.kept).to.deep.equal(["lnk", "old/dlnk"]);
    expect(result).to.include({ deleted: 2 });
    expect(deletions(srv)).to.deep.equal(["DELE /r/old.txt", "DELE /r/old/x.txt"]);
  });

  it("uploadDir with delete and dryRun names them too, and without delete names none", async () => {
    const srv = await server();
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "a.txt"), "a");
    const dry = await ftp.uploadDir(dir, "/r", { delete: true, dryRun: true });
    expect(dry.kept).to.deep.equal(["lnk", "old/dlnk"]);
    expect(dry).to.include({ deleted: 2 });
    const plain = await ftp.uploadDir(dir, "/r");
    expect(plain.kept).to.deep.equal([]);
    expect(deletions(srv)).to.deep.equal([]);
  });

  it("uploadDir with delete does not name a link the source has too", async () => {
    const srv = await server();
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "a.txt"), "a");
    symlinkSync("/etc", join(dir, "lnk"));
    const result = await ftp.uploadDir(dir, "/r", { delete: true });
    expect(result.kept).to.deep.equal(["old/dlnk"]);
    expect(result.links).to.deep.equal(["lnk"]);
  });

  for (const pipelining of [true, false]) {
    it(`downloadDir with delete names the local link and FIFO it kept (pipelining: ${pipelining})`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "a" } });
      const ftp = await fx.client(srv);
      const local = join(dir, "local");
      mkdirSync(join(local, "gone"), { recursive: true });
      writeFileSync(join(local, "gone", "x.txt"), "x");
      symlinkSync("/etc", join(local, "lnk"));
      execFileSync("mkfifo", [join(local, "gone", "fifo")]);
      const result = await ftp.downloadDir("/r", local, { delete: true, pipelining });
      expect(result.kept).to.deep.equal(["gone/fifo", "lnk"]);
      expect(result).to.include({ deleted: 1, transferred: 1 });
      expect(lstatSync(join(local, "lnk")).isSymbolicLink()).to.equal(true);
      expect(lstatSync(join(local, "gone", "fifo")).isFIFO()).to.equal(true);
    });
  }
});
