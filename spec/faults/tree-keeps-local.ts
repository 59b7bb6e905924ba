/**
 * The check the hostile-tree specs share: a downloadDir with delete over a
 * listing it could not fully read fails naming the listing, and keeps
 * every local file (keep.txt, which the listing shows, and important.txt,
 * which a misread line may have hidden).
 */
import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FtpDirTransferError, FtpListingError, type FTP } from "../../lib/index.js";

/** Runs `downloadDir("/r", dir, { delete: true, pipelining })` over a listing it cannot fully read and checks nothing local was deleted. */
export async function expectDownloadKeepsLocal(ftp: FTP, dir: string, pipelining: boolean): Promise<void> {
  writeFileSync(join(dir, "keep.txt"), "k");
  writeFileSync(join(dir, "important.txt"), "local important");
  let error: unknown;
  await ftp.downloadDir("/r", dir, { delete: true, pipelining }).catch((e: unknown) => (error = e));
  expect(error).to.be.instanceOf(FtpDirTransferError);
  const failures = (error as FtpDirTransferError).failures;
  expect(failures.map((f) => f.error)).to.satisfy((errors: Error[]) => errors.some((e) => e instanceof FtpListingError));
  expect(readdirSync(dir).sort()).to.deep.equal(["important.txt", "keep.txt"]);
}
