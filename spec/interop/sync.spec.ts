/**
 * Issue 14: uploadDir and downloadDir against the real servers. A tree of
 * 500 small files in nested directories goes up and comes back byte for
 * byte; a second run of each transfers nothing (the times set after each
 * file tell it: MFMT on proftpd and pyftpdlib, the two-argument MDTM on
 * vsftpd, whichever pure-ftpd takes); one file changed on the server is
 * the one file fetched. Trees move over an FtpPool of 4 (uploads and
 * downloads) and over one FTP (the second runs).
 *
 * Issue 24: inetutils and netkit ftpd, Twisted and ftp-srv have no way to
 * set a file's time ("mtime kept" in LACKS): each uploaded file keeps the
 * time it was written, so on them ftpstream's upload sync cannot tell an
 * unchanged file, and a second upload transfers everything again (the first
 * setLastMod's ERR_FTP_UNSUPPORTED stops the asking). Downloads still sync:
 * each local copy gets the server's time (MDTM, as LIST gives only minutes),
 * so a second download transfers nothing.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, FtpPool } from "../../lib/index.js";
import { describeServers } from "./describe-server.js";
import { lacks, type RealServer, type ServerKind } from "./servers.js";

/**
 * Files in the tree. inetutils and netkit ftpd, Twisted and ftp-srv took
 * about 45 ms per data transfer here, vsftpd about 1 ms (measured on one
 * client: 45 ms per RETR or STOR, under 1 ms per MDTM; CPython's ftplib
 * waited the same 44 ms on them, so it was the server's: its 226 written
 * behind the unacknowledged 150 waited out the client's delayed ACK;
 * the harness now sets TCP_NODELAY on their control connections, see
 * servers.ts). The run on them makes 1500 transfers and some 100
 * listings with 500 files (the second upload sends all again), about 40 s
 * per server, so they get 40 files in the same 5 × 4 directories (two in
 * each): the same cases, about 4 s each, which keeps CI's whole run within
 * its 10 minutes.
 */
const FILES_FOR = (kind: ServerKind): number => (lacks(kind, "mtime kept") ? 40 : 500);

/** `files` (500) files of 0-2047 random bytes in 5 × 4 directories (25 in each); times on whole seconds, none on a whole minute. */
async function makeTree(root: string, files: number): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (let i = 0; i < files; i++) {
    const rel = `d${i % 5}/s${Math.floor(i / 5) % 4}/f${i}.bin`;
    const bytes = randomBytes(i % 2048);
    await fs.mkdir(path.join(root, path.dirname(rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), bytes);
    const time = new Date(Date.UTC(2024, 0, 2, 3, 4, 5) + i * 1000 * 61);
    await fs.utimes(path.join(root, rel), time, time);
    digests.set(rel, createHash("sha256").update(bytes).digest("hex"));
  }
  return digests;
}

/** sha256 of every file below `root`, by path relative to it. */
async function digestsOf(root: string, below = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await fs.readdir(path.join(root, below), { withFileTypes: true })) {
    const rel = below ? `${below}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [k, v] of await digestsOf(root, rel)) out.set(k, v);
    else
      out.set(
        rel,
        createHash("sha256")
          .update(await fs.readFile(path.join(root, rel)))
          .digest("hex"),
      );
  }
  return out;
}

describeServers(
  "interop tree transfers",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    const setsTimes = !lacks(kind, "mtime kept");
    const FILES = FILES_FOR(kind);
    let work: string;
    let pool: FtpPool;
    let ftp: FTP;

    const connect = async (s: RealServer): Promise<FTP> =>
      FTP.create({ host: s.host, port: s.port, user: s.user, password: s.password, timeout: 20_000 });

    before(async () => {
      work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-tree-"));
      pool = new FtpPool({ size: 4, connect: () => connect(server()) });
      ftp = await connect(server());
    });

    after(async () => {
      await pool?.close();
      ftp?.close();
      await fs.rm(work, { recursive: true, force: true });
    });

    const second = setsTimes
      ? "second runs transfer nothing"
      : "a second upload transfers everything again (no way to set times), a second download nothing";
    it(`round-trips ${FILES} files in nested directories byte for byte; ${second}; one changed file is the one fetched`, async () => {
      const source = path.join(work, "source");
      const copy = path.join(work, "copy");
      const digests = await makeTree(source, FILES);

      const up = await pool.uploadDir(source, "/tree/deep");
      expect(up).to.include({ transferred: FILES, skipped: 0 });
      // On the server's disk: the same bytes, and each file's time as sent (or, where none can be set, when it was written).
      const home = path.join(server().home, "tree/deep");
      expect(await digestsOf(home)).to.deep.equal(digests);
      const sample = "d3/s2/f13.bin";
      const remoteTime = (await fs.stat(path.join(home, sample))).mtime;
      const sourceTime = (await fs.stat(path.join(source, sample))).mtime;
      if (setsTimes) expect(remoteTime.toISOString()).to.equal(sourceTime.toISOString());
      else expect(remoteTime.getTime()).to.be.above(Date.now() - 10 * 60_000);

      if (setsTimes) expect(await ftp.uploadDir(source, "/tree/deep"), "a second upload").to.include({ transferred: 0, skipped: FILES });
      else expect(await ftp.uploadDir(source, "/tree/deep"), "a second upload").to.include({ transferred: FILES, skipped: 0 });

      const down = await pool.downloadDir("/tree/deep", copy);
      expect(down).to.include({ transferred: FILES, skipped: 0 });
      expect(await digestsOf(copy)).to.deep.equal(digests);

      expect(await ftp.downloadDir("/tree/deep", copy), "a second download").to.include({ transferred: 0, skipped: FILES });

      // The server's copy changes (same size, new bytes, a new time): exactly that file comes down.
      const changed = randomBytes(13);
      await ftp.storbinary("STOR /tree/deep/d3/s2/f13.bin", changed);
      if (!setsTimes) {
        // Its time is when the STOR wrote it, which can be the very second the first upload
        // wrote it in (MDTM has whole seconds): a minute later on disk, as a later change has.
        const later = new Date(remoteTime.getTime() + 60_000);
        await fs.utimes(path.join(home, sample), later, later);
      }
      const third = await ftp.downloadDir("/tree/deep", copy);
      expect(third).to.include({ transferred: 1, skipped: FILES - 1, bytes: 13 });
      expect(await fs.readFile(path.join(copy, sample))).to.deep.equal(changed);
    });
  },
);
