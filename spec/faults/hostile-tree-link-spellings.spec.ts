/**
 * uploadDir writes nothing through a link in the target (refuseLinked):
 * a STOR or MKD below it would land where it points. It looked the link
 * up by the path as the source spells it only. A server that folds
 * letter case (IIS, FileZilla Server) or trims a segment's trailing dots
 * and spaces (Windows) opens `data/a.txt` through a link listed as
 * `Data` or `data.`: the file went through the link, outside the target.
 * A link in any spelling such a server takes for the path now refuses the
 * write (FtpPathError, reason "link") as one of the same spelling did.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPathError } from "../../lib/index.js";
import { commandsAfterLogin, useFixtures } from "../core/helpers.js";

describe("faults: a link in the upload target, spelled otherwise than the source's directory", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-link-spellings-"));
    mkdirSync(join(dir, "data", "deep"), { recursive: true });
    writeFileSync(join(dir, "data", "a.txt"), "a");
    writeFileSync(join(dir, "data", "deep", "b.txt"), "b");
    writeFileSync(join(dir, "top.txt"), "t");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose MLSD of /r shows `link` as a link to a directory (MLSD type=OS.unix=symlink), and top.txt. */
  async function server(link: string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/r/top.txt": "old" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg !== "/r") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(
        [
          "type=cdir;modify=20240115123456; /r",
          `type=OS.unix=symlink;modify=20240115123456; ${link}`,
          "type=file;size=3;modify=20240115123456; top.txt",
        ]
          .map((line) => `${line}\r\n`)
          .join(""),
      );
      s.reply(226, "Directory send OK.");
    });
    return srv;
  }

  for (const link of ["data", "Data", "DATA", "data.", "data ", "Data. "]) {
    it(`uploadDir writes and makes nothing below a link listed as ${JSON.stringify(link)}, and names it`, async () => {
      const srv = await server(link);
      const ftp = await fx.client(srv);
      let error: unknown;
      await ftp.uploadDir(dir, "/r").catch((e: unknown) => (error = e));
      const below = commandsAfterLogin(srv).filter((command) => /^(STOR|MKD|APPE|RNTO|DELE|RMD) \/r\/data[^/]*\//i.test(command));
      expect(below).to.deep.equal([]);
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.length).to.be.above(0);
      for (const failure of failures) expect(failure.error).to.be.instanceOf(FtpPathError).and.include({ reason: "link" });
      expect(srv.vfs.get("/r/top.txt")?.toString()).to.equal("t");
    });
  }

  it("still writes below a directory listed in another spelling (the server's own name for it)", async () => {
    const srv = await fx.server({ files: { "/r/top.txt": "old", "/r/data/keep.txt": "k" } });
    const ftp = await fx.client(srv);
    const result = await ftp.uploadDir(dir, "/r");
    expect(result.transferred).to.equal(3);
    expect(srv.vfs.get("/r/data/deep/b.txt")?.toString()).to.equal("b");
  });
});
