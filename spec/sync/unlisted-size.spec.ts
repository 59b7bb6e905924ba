/**
 * A tree download of files whose listing gives no size (MLSD without the
 * `size` fact here; LIST formats without one, NLST) from a server whose
 * 150 announces none (pure-ftpd, pyftpdlib): a transfer cut short that
 * the server still ends with 226 is told from a whole file by SIZE, asked
 * with the RETR, and fails that file (FtpSizeMismatchError) as any other
 * size mismatch does: no local file is put in place, a good local copy
 * stays as it was. A server without SIZE still downloads: its 226 is all
 * there is.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpPool, FtpSizeMismatchError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

const WHOLE = "0123456789abcdef";
const FILES = { "/r/cut.bin": WHOLE, "/r/fine.bin": "fine\n" };
/** The fixture's FEAT, MLST's `size` fact left out as a server may. */
const WITH_SIZE = ["EPSV", "MDTM", "MLST type*;modify*;", "PASV", "REST STREAM", "SIZE", "UTF8"];
const WITHOUT_SIZE = WITH_SIZE.filter((feature) => feature !== "SIZE");

/**
 * MLSD without the size fact, and a RETR whose 150 gives no size and
 * which sends `cut.bin` short (its first half) and still ends with 226.
 */
function serveWithoutSizes(srv: FixtureServer, { cut }: { cut: boolean }): void {
  srv.handle("MLSD", (s, arg) => {
    s.state.mlstFacts = ["type", "modify"];
    return s.defaultHandler("MLSD", arg);
  });
  srv.handle("RETR", async (s, arg) => {
    const content = s.vfs.get(s.resolvePath(arg));
    if (!content) return s.defaultHandler("RETR", arg);
    s.reply(150, "Opening BINARY mode data connection.");
    await s.sendData(cut && arg.endsWith("cut.bin") ? content.subarray(0, 8) : content);
    s.reply(226, "Transfer complete.");
  });
}

describe("tree download of files listed without a size", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-unlisted-size-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const pipelining of [true, false]) {
    const how = pipelining ? "SIZE written with the RETR" : "SIZE asked after the transfer (pipelining: false)";
    it(`fails a file the server cuts short and ends with 226, when SIZE says more (${how}), and keeps the local copy`, async () => {
      const srv = await fx.server({ files: FILES, features: WITH_SIZE });
      serveWithoutSizes(srv, { cut: true });
      const local = join(dir, "out");
      const ftp = await fx.client(srv);
      // A good local copy of another size, whose time must not change either.
      await ftp.downloadDir("/r", local, { pipelining }).catch(() => undefined);
      writeFileSync(join(local, "cut.bin"), "good local copy");
      const old = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
      utimesSync(join(local, "cut.bin"), old, old);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { pipelining }));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["cut.bin"]);
      expect(failures[0].error).to.be.instanceOf(FtpSizeMismatchError);
      expect(failures[0].error).to.include({ expected: WHOLE.length, received: 8 });
      // fine.bin, unchanged since the first run: its SIZE and time agree with the local copy's.
      expect((error as FtpDirTransferError).result).to.include({ transferred: 0, skipped: 1 });
      expect(readFileSync(join(local, "cut.bin"), "utf8")).to.equal("good local copy");
      expect(statSync(join(local, "cut.bin")).mtime.getTime()).to.equal(old.getTime());
      expect(readFileSync(join(local, "fine.bin"), "utf8")).to.equal("fine\n");
      expect(readdirSync(local).filter((name) => name.includes("ftpstream-part"))).to.deep.equal([]);
      expect(srv.commands.filter((c) => c.startsWith("SIZE"))).to.include("SIZE /r/cut.bin");
    });

    it(`leaves no local file at all for such a file on a first run (${how})`, async () => {
      const srv = await fx.server({ files: FILES, features: WITH_SIZE });
      serveWithoutSizes(srv, { cut: true });
      const local = join(dir, "out");
      const ftp = await fx.client(srv);
      const error = await rejectionOf(ftp.downloadDir("/r", local, { pipelining }));
      expect((error as FtpDirTransferError).failures.map((f) => f.path)).to.deep.equal(["cut.bin"]);
      expect((error as FtpDirTransferError).result.transferred).to.equal(1);
      expect(readdirSync(local).sort()).to.deep.equal(["fine.bin"]);
    });

    it(`downloads whole files from a server without SIZE: its 226 is all there is (${how})`, async () => {
      const srv = await fx.server({ files: FILES, features: WITHOUT_SIZE });
      serveWithoutSizes(srv, { cut: false });
      srv.handle("SIZE", (s) => s.reply(502, "Command not implemented."));
      const local = join(dir, "out");
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { pipelining });
      expect(result).to.include({ transferred: 2 });
      expect(readFileSync(join(local, "cut.bin"), "utf8")).to.equal(WHOLE);
      // FEAT lists features, SIZE not among them: not asked.
      expect(srv.commands.filter((c) => c.startsWith("SIZE"))).to.deep.equal([]);
    });

    it(`downloads whole files when SIZE, listed in FEAT, is answered 502 (${how})`, async () => {
      const srv = await fx.server({ files: FILES, features: WITH_SIZE });
      serveWithoutSizes(srv, { cut: false });
      srv.handle("SIZE", (s) => s.reply(502, "Command not implemented."));
      const local = join(dir, "out");
      const ftp = await fx.client(srv);
      const result = await ftp.downloadDir("/r", local, { pipelining });
      expect(result).to.include({ transferred: 2 });
      expect(readFileSync(join(local, "cut.bin"), "utf8")).to.equal(WHOLE);
      expect(readFileSync(join(local, "fine.bin"), "utf8")).to.equal("fine\n");
    });
  }

  it("fails such a file on a pool's clients too, their downloads written ahead (a vsftpd welcome)", async () => {
    const more = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`/r/more${i}.bin`, `more ${i}\n`]));
    const srv = await fx.server({ welcome: "220 (vsFTPd 3.0.3)", files: { ...FILES, ...more }, features: WITH_SIZE });
    serveWithoutSizes(srv, { cut: true });
    const pool = new FtpPool({ size: 2, connect: () => fx.client(srv) });
    try {
      const local = join(dir, "out");
      const error = await rejectionOf(pool.downloadDir("/r", local));
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["cut.bin"]);
      expect(failures[0].error).to.be.instanceOf(FtpSizeMismatchError);
      expect(readdirSync(local).sort()).to.deep.equal(["fine.bin", ...Object.keys(more).map((path) => path.slice(3))].sort());
      for (const [path, content] of Object.entries(more)) expect(readFileSync(join(local, path.slice(3)), "utf8")).to.equal(content);
    } finally {
      await pool.close();
    }
  });

  it("asks no SIZE when the listing gave sizes", async () => {
    const srv = await fx.server({ files: FILES });
    const local = join(dir, "out");
    const ftp = await fx.client(srv);
    expect(await ftp.downloadDir("/r", local)).to.include({ transferred: 2 });
    expect(srv.commands.filter((c) => c.startsWith("SIZE"))).to.deep.equal([]);
  });
});
