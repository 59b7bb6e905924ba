/**
 * What the local target holds at a remote file's name, or beside it, that
 * is no regular file: a directory (empty or not), a FIFO, a socket, a
 * part name taken by a FIFO or a directory, and a target root that is a
 * link. None of them may be written through, opened (a FIFO would hang
 * the download), or removed by `delete` for a transfer that cannot
 * happen; a file that cannot be put in place is refused before its RETR.
 * Before, a directory at a file's name was found only by the rename
 * after the whole transfer (EISDIR), the file fetched and thrown away on
 * every run.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpError, FtpPathError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** The commands sent with verb `verb`. */
const sent = (srv: FixtureServer, verb: string): string[] => srv.commands.filter((line) => line.split(" ")[0] === verb);

/** The failures of a rejected tree transfer, as path → FtpPathError reason, or error code. */
function failuresOf(error: unknown): Record<string, string> {
  expect(error).to.be.instanceOf(FtpDirTransferError);
  const out: Record<string, string> = {};
  for (const { path, error: cause } of (error as FtpDirTransferError).failures) {
    out[path] = cause instanceof FtpPathError ? cause.reason : ((cause as FtpError).code ?? cause.message);
  }
  return out;
}

/** Makes a Unix socket file at `path` that stays after its maker exits. */
function makeSocketFile(path: string): void {
  execFileSync("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]);
}

describe("sync: what the local target holds that is no regular file", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-local-types-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const pipelining of [true, false]) {
    it(`refuses a remote file whose local name is a directory before its RETR, and keeps the directory whole under delete (pipelining ${pipelining})`, async () => {
      const srv = await fx.server({ files: { "/r/full": "a file now", "/r/empty": "a file too", "/r/ok.txt": "ok" } });
      mkdirSync(join(dir, "full/sub"), { recursive: true });
      writeFileSync(join(dir, "full/keep.txt"), "below what is now a file");
      mkdirSync(join(dir, "empty"));
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", dir, { delete: true, pipelining }));
      expect(failuresOf(error)).to.deep.equal({ full: "directory", empty: "directory" });
      expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/ok.txt"]);
      expect(readdirSync(dir).sort()).to.deep.equal(["empty", "full", "ok.txt"]);
      expect(readdirSync(join(dir, "full")).sort()).to.deep.equal(["keep.txt", "sub"]);
      expect(readFileSync(join(dir, "full/keep.txt"), "utf8")).to.equal("below what is now a file");
    });
  }

  it("neither opens nor replaces a FIFO or a socket at a remote file's name, and delete keeps those the remote lacks", async () => {
    const srv = await fx.server({ files: { "/r/fifo": "f", "/r/sock": "s", "/r/ok.txt": "ok" } });
    execFileSync("mkfifo", [join(dir, "fifo"), join(dir, "lone-fifo")]);
    makeSocketFile(join(dir, "sock"));
    makeSocketFile(join(dir, "lone-sock"));
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.downloadDir("/r", dir, { delete: true }));
    expect(failuresOf(error)).to.deep.equal({ fifo: "special", sock: "special" });
    expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/ok.txt"]);
    expect(lstatSync(join(dir, "fifo")).isFIFO()).to.equal(true);
    expect(lstatSync(join(dir, "lone-fifo")).isFIFO()).to.equal(true);
    expect(lstatSync(join(dir, "sock")).isSocket()).to.equal(true);
    expect(lstatSync(join(dir, "lone-sock")).isSocket()).to.equal(true);
  });

  it("fails a file whose part name is a FIFO or a directory before its RETR, without opening the FIFO, and leaves both", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "a", "/r/b.txt": "b", "/r/ok.txt": "ok" } });
    execFileSync("mkfifo", [join(dir, ".a.txt.ftpstream-part")]);
    mkdirSync(join(dir, ".b.txt.ftpstream-part"));
    writeFileSync(join(dir, ".b.txt.ftpstream-part/inside"), "not ours");
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.downloadDir("/r", dir));
    expect(failuresOf(error)).to.deep.equal({ "a.txt": "ERR_FTP_PART_FILE", "b.txt": "ERR_FTP_PART_FILE" });
    expect(sent(srv, "RETR")).to.deep.equal(["RETR /r/ok.txt"]);
    expect(lstatSync(join(dir, ".a.txt.ftpstream-part")).isFIFO()).to.equal(true);
    expect(readFileSync(join(dir, ".b.txt.ftpstream-part/inside"), "utf8")).to.equal("not ours");
  });

  it("takes a target root that is a link to a directory as that directory (the caller's choice), writing and deleting there", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "a" } });
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real/extra.txt"), "the remote lacks it");
    symlinkSync("real", join(dir, "root"));
    const ftp = await fx.client(srv);
    expect(await ftp.downloadDir("/r", join(dir, "root"), { delete: true })).to.include({ transferred: 1, deleted: 1 });
    expect(lstatSync(join(dir, "root")).isSymbolicLink()).to.equal(true);
    expect(readdirSync(join(dir, "real"))).to.deep.equal(["a.txt"]);
  });
});
