/**
 * A server on Windows (IIS, FileZilla Server) opens a path with each
 * segment's trailing dots and spaces dropped, and a server that trims its
 * argument drops the blanks at its ends; neither shows it in its listing.
 * uploadDir with `delete` took a listed `keep.txt ` or `keep.txt.` beside
 * `keep.txt` for an extra the source lacks, and sent `DELE /r/keep.txt.`
 * after the upload: the server deleted the `keep.txt` just sent. A listed
 * directory `. ` or ` ` (the directory itself, there) had its `keep.txt`
 * deleted the same way. Such a name is now taken as the source's of that
 * spelling, as one differing in letter case already was: it stays.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

/** A path as Windows opens it: each segment without its trailing dots and spaces (`.` where none is left). */
function windowsPath(path: string): string {
  return path
    .split("/")
    .map((segment) => (/^\.{1,2}$/.test(segment) ? segment : segment.replace(/[. ]+$/, "") || (segment && ".")))
    .join("/");
}

describe("faults: names a server trims on DELE and RMD, not in its listing", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-trimmed-names-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The fixture server, `files` in it, opening DELE's and RMD's paths as Windows does unless `exact`. */
  async function server(files: Record<string, string>, exact = false): Promise<FixtureServer> {
    const srv = await fx.server({ files });
    if (exact) return srv;
    for (const verb of ["DELE", "RMD"]) srv.handle(verb, (s, arg) => s.defaultHandler(verb, windowsPath(arg)));
    return srv;
  }

  /** uploadDir of a local `keep.txt` to /r with delete; the DELE and RMD it sent. */
  async function upload(srv: FixtureServer): Promise<string[]> {
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "keep.txt"), "new!");
    const result = await ftp.uploadDir(dir, "/r", { delete: true });
    expect(result.transferred).to.equal(1);
    return srv.commands.filter((command) => /^(DELE|RMD) /.test(command));
  }

  for (const extra of ["keep.txt ", "keep.txt.", "keep.txt . ", "KEEP.txt. "]) {
    it(`uploadDir with delete keeps the file it sent beside a listed ${JSON.stringify(extra)}, and that one`, async () => {
      const srv = await server({ "/r/keep.txt": "old", [`/r/${extra}`]: "x" });
      expect(await upload(srv)).to.deep.equal([]);
      expect(srv.vfs.get("/r/keep.txt")?.toString()).to.equal("new!");
      expect(srv.vfs.exists(`/r/${extra}`)).to.equal(true);
    });
  }

  for (const extra of [". ", " ", " . "]) {
    it(`uploadDir with delete deletes nothing in a listed directory ${JSON.stringify(extra)} holding a file of the source's name, and reports that directory`, async () => {
      const srv = await server({ "/r/keep.txt": "old", [`/r/${extra}/keep.txt`]: "x" });
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "keep.txt"), "new!");
      const error = await ftp.uploadDir(dir, "/r", { delete: true }).then(
        () => expect.fail("uploadDir resolved"),
        (rejection: unknown) => rejection,
      );
      // Reported, not kept in silence (6e8d1a7): a Windows server opens `DELE /r/ /keep.txt` as /r/keep.txt.
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const { failures, result } = error as FtpDirTransferError;
      expect(failures.map(({ path }) => path)).to.deep.equal([extra]);
      expect(failures[0].error).to.include({ code: "ERR_FTP_BAD_PATH", reason: "ambiguous" });
      expect(result.transferred).to.equal(1);
      expect(srv.commands.filter((command) => /^(DELE|RMD) /.test(command))).to.deep.equal([]);
      expect(srv.vfs.get("/r/keep.txt")?.toString()).to.equal("new!");
      expect(srv.vfs.get(`/r/${extra}/keep.txt`)?.toString()).to.equal("x");
    });
  }

  it("still deletes what the source has in no spelling (a server that opens names as given): 'gone.txt ', a directory 'old. '", async () => {
    const srv = await server({ "/r/keep.txt": "old", "/r/gone.txt ": "x", "/r/old. /keep.txt": "x" }, true);
    expect(await upload(srv)).to.deep.equal(["DELE /r/old. /keep.txt", "DELE /r/gone.txt ", "RMD /r/old. "]);
    expect(srv.vfs.paths().filter((path) => path.startsWith("/r/"))).to.deep.equal(["/r/keep.txt"]);
  });
});
