/**
 * Remote times a tree download cannot have: a server whose listing gives
 * no time to the second (LIST, no MLSD) and whose MDTM, for a file, is
 * refused (vsftpd's `550 Could not get file modification time.`) or is
 * not a time (`213 yesterday`, a month 13). Such a file's time is not
 * known: it is transferred and keeps its own time (and is fetched again
 * next run), as on a server without MDTM. With `pipelining: false` the
 * MDTM asked after the RETR failed the file instead, its whole download
 * thrown away, run after run; and a local copy of the same size was never
 * compared, the file failing on every run in both modes. Times the local
 * disk can hold, before 1970 too, are given to the file and tell the
 * next run; a disk that will not set a time (utimes failing) leaves the
 * file its own, which was failed and thrown away too.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { useFixtures } from "../core/helpers.js";

/** FEAT without MLST: list() reads LIST (times to the minute at best), as on vsftpd. */
const LIST_ONLY = ["EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

/** MDTM answers that give no time for the file. */
const NO_TIME: Array<[number, string]> = [
  [550, "Could not get file modification time."],
  [213, "yesterday"],
  [213, "20241399000000"],
];

describe("sync: remote times a download cannot have", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-local-times-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const [code, text] of NO_TIME) {
    for (const pipelining of [true, false]) {
      it(`MDTM answered "${code} ${text}": a new file is fetched and kept with its own time (pipelining ${pipelining})`, async () => {
        const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "remote a" } });
        srv.handle("MDTM", (s) => s.reply(code, text));
        const ftp = await fx.client(srv);
        const before = Date.now();
        const result = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
        expect(result).to.include({ transferred: 1, deleted: 0 });
        expect(readdirSync(dir)).to.deep.equal(["a.txt"]);
        expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("remote a");
        expect(statSync(join(dir, "a.txt")).mtimeMs).to.be.at.least(before - 1000);
      });

      it(`MDTM answered "${code} ${text}": a local copy of the same size is fetched again, not failed (pipelining ${pipelining})`, async () => {
        const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "remote a" } });
        srv.handle("MDTM", (s) => s.reply(code, text));
        const ftp = await fx.client(srv);
        writeFileSync(join(dir, "a.txt"), "local a!");
        const result = await ftp.downloadDir("/r", dir, { delete: true, pipelining });
        expect(result).to.include({ transferred: 1, skipped: 0 });
        expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("remote a");
      });
    }
  }

  it('uploadDir: MDTM answered "550": a remote copy of the same size is sent again, not failed', async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "remote a" } });
    srv.handle("MDTM", (s) => s.reply(550, "Could not get file modification time."));
    const ftp = await fx.client(srv);
    writeFileSync(join(dir, "a.txt"), "local a!");
    expect(await ftp.uploadDir(dir, "/r")).to.include({ transferred: 1, skipped: 0 });
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("local a!");
  });

  it("a connection lost at the MDTM after a RETR still fails the file (only an answer without a time is taken as none)", async () => {
    const srv = await fx.server({ features: LIST_ONLY, files: { "/r/a.txt": "remote a" } });
    srv.handle("MDTM", (s) => s.drop());
    const ftp = await fx.client(srv);
    const error = await ftp.downloadDir("/r", dir, { pipelining: false }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  describe("a local disk that will not set times (EPERM from utimes, as on an SMB or FUSE mount)", () => {
    const fsp = createRequire(import.meta.url)("node:fs/promises") as typeof import("node:fs/promises");
    const utimesOf = fsp.utimes;
    beforeEach(() => {
      fsp.utimes = () => Promise.reject(Object.assign(new Error("EPERM: operation not permitted, utime"), { code: "EPERM" }));
      syncBuiltinESMExports();
    });
    afterEach(() => {
      fsp.utimes = utimesOf;
      syncBuiltinESMExports();
    });

    for (const pipelining of [true, false]) {
      it(`puts each file in place with its own time, no failure, as a server that sets no times has it (pipelining ${pipelining})`, async () => {
        const srv = await fx.server({ files: { "/r/a.txt": "remote a", "/r/d/b.txt": "remote b" } });
        const ftp = await fx.client(srv);
        writeFileSync(join(dir, "a.txt"), "old");
        expect(await ftp.downloadDir("/r", dir, { delete: true, pipelining })).to.include({ transferred: 2, deleted: 0 });
        expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("remote a");
        expect(readFileSync(join(dir, "d/b.txt"), "utf8")).to.equal("remote b");
        expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "d"]);
      });
    }
  });

  for (const [what, time] of [
    ["1970-01-01T00:00:00Z", new Date(Date.UTC(1970, 0, 1))],
    ["1960-06-30T12:00:00Z", new Date(Date.UTC(1960, 5, 30, 12))],
  ] as const) {
    it(`gives a file the remote time ${what} and skips it on the next run`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "remote a" } });
      srv.vfs.setMtime("/r/a.txt", time);
      const ftp = await fx.client(srv);
      // A local copy of the same size and another time: the remote time decides.
      writeFileSync(join(dir, "a.txt"), "local a!");
      utimesSync(join(dir, "a.txt"), new Date(), new Date());
      expect(await ftp.downloadDir("/r", dir)).to.include({ transferred: 1 });
      expect(statSync(join(dir, "a.txt")).mtime.toISOString()).to.equal(time.toISOString());
      expect(await ftp.downloadDir("/r", dir)).to.include({ transferred: 0, skipped: 1 });
    });
  }
});
