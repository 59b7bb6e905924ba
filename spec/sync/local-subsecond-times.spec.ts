/**
 * Local times in the last half millisecond of a second (x.9995 s and
 * later): Node's `Stats.mtime` rounds them up to x+1 s, while uploadDir
 * stamps the remote copy with `mtimeMs` cut to the second, x. Compared
 * through `Stats.mtime`, an unchanged file was a second off its stamp and
 * sent again on every run (and downloadDir fetched again what it had
 * uploaded, or kept a copy a second older than the server's). A file
 * written at such a time is a matter of luck (the kernel's clock tick),
 * which made sync/source-part-files fail now and then; here the time is set.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useFixtures } from "../core/helpers.js";

/** A second, as FTP gives times, and a local time in its last half millisecond. */
const SECOND_MS = Date.UTC(2023, 10, 14, 22, 13, 20);
const LATE_IN_SECOND = (SECOND_MS + 999.7) / 1000;

/** Writes `content` at `path` with the time LATE_IN_SECOND, and checks the disk kept it below the millisecond. */
function writeLate(path: string, content: string): void {
  writeFileSync(path, content);
  utimesSync(path, LATE_IN_SECOND, LATE_IN_SECOND);
  // Else this spec would test nothing: a disk with coarser times cannot hold such a time.
  expect(statSync(path).mtimeMs - SECOND_MS, `${path}'s time below the second`).to.be.above(999.5);
}

describe("sync: local times in a second's last half millisecond", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-subsecond-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const partFiles of [false, true]) {
    for (const pipelining of [true, false]) {
      it(`uploadDir stamps the second the file was written in and sends nothing on the next run (partFiles ${partFiles}, pipelining ${pipelining})`, async () => {
        mkdirSync(join(dir, "sub"));
        writeLate(join(dir, "a.txt"), "alpha\n");
        writeLate(join(dir, "sub/b.txt"), "beta\n");
        const srv = await fx.server({ files: { "/up/": "" } });
        const ftp = await fx.client(srv);
        expect(await ftp.uploadDir(dir, "/up", { partFiles, pipelining })).to.include({ transferred: 2, skipped: 0 });
        expect(srv.vfs.stat("/up/a.txt")?.mtime.getTime()).to.equal(SECOND_MS);
        expect(srv.vfs.stat("/up/sub/b.txt")?.mtime.getTime()).to.equal(SECOND_MS);
        const sent = srv.commands.length;

        expect(await ftp.uploadDir(dir, "/up", { partFiles, pipelining })).to.include({ transferred: 0, skipped: 2 });
        expect(srv.commands.slice(sent).filter((line) => line.startsWith("STOR "))).to.deep.equal([]);
      });
    }
  }

  for (const pipelining of [true, false]) {
    it(`downloadDir keeps a local copy written in the second the server gives (pipelining ${pipelining})`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "alpha\n" } });
      srv.vfs.setMtime("/r/a.txt", new Date(SECOND_MS));
      writeLate(join(dir, "a.txt"), "alpha\n");
      const ftp = await fx.client(srv);
      expect(await ftp.downloadDir("/r", dir, { pipelining })).to.include({ transferred: 0, skipped: 1 });
      expect(srv.commands.filter((line) => line.startsWith("RETR "))).to.deep.equal([]);
    });

    it(`downloadDir fetches a file the server gives the next second, the local copy's time read as a second earlier (pipelining ${pipelining})`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "ALPHA\n" } });
      srv.vfs.setMtime("/r/a.txt", new Date(SECOND_MS + 1000));
      writeLate(join(dir, "a.txt"), "alpha\n");
      const ftp = await fx.client(srv);
      expect(await ftp.downloadDir("/r", dir, { pipelining })).to.include({ transferred: 1, skipped: 0 });
      expect(statSync(join(dir, "a.txt")).mtimeMs).to.equal(SECOND_MS + 1000);
    });
  }
});
