/**
 * What a download does when utimes fails on its finished part file. Only
 * the errors that say the disk will not set this file's times (EPERM,
 * EACCES, ENOTSUP, ...: an SMB or FUSE mount) leave the file in place
 * with its own time, as a server without times has it; any other (EIO: the
 * disk failing; ENOENT: the part gone from under the run) fails the file,
 * its part removed and the old copy kept. All were taken as the first
 * kind, and a file on a failing disk was reported whole.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { FtpDirTransferError } from "../../lib/errors.js";
import { useFixtures } from "../core/helpers.js";

describe("sync: a download whose utimes fails", () => {
  const fx = useFixtures();
  const fsp = createRequire(import.meta.url)("node:fs/promises") as typeof import("node:fs/promises");
  const utimesOf = fsp.utimes;
  let dir: string;
  /** Makes every utimes fail with `code`. */
  const refuseTimes = (code: string): void => {
    fsp.utimes = () => Promise.reject(Object.assign(new Error(`${code}: utimes refused (stub)`), { code }));
    syncBuiltinESMExports();
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-times-refused-"));
  });
  afterEach(() => {
    fsp.utimes = utimesOf;
    syncBuiltinESMExports();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const code of ["EACCES", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EINVAL"]) {
    it(`${code} (the disk will not set this time): the file is put in place with its own time`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "remote a" } });
      const ftp = await fx.client(srv);
      writeFileSync(join(dir, "a.txt"), "old");
      refuseTimes(code);
      expect(await ftp.downloadDir("/r", dir)).to.include({ transferred: 1 });
      expect(readdirSync(dir)).to.deep.equal(["a.txt"]);
      expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("remote a");
    });
  }

  for (const code of ["EIO", "ENOENT", "ESTALE"]) {
    for (const pipelining of [true, false]) {
      it(`${code}: the file fails, its part is removed and the old copy kept (pipelining ${pipelining})`, async () => {
        const srv = await fx.server({ files: { "/r/a.txt": "remote a", "/r/b.txt": "remote b" } });
        const ftp = await fx.client(srv);
        writeFileSync(join(dir, "a.txt"), "old");
        refuseTimes(code);
        const error = await ftp.downloadDir("/r", dir, { pipelining }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(FtpDirTransferError);
        const failures = (error as FtpDirTransferError).failures;
        expect(failures.map((f) => [f.path, (f.error as NodeJS.ErrnoException).code]).sort()).to.deep.equal([
          ["a.txt", code],
          ["b.txt", code],
        ]);
        expect(readdirSync(dir)).to.deep.equal(["a.txt"]);
        expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("old");
      });
    }
  }
});
