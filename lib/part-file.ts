/**
 * Part files: a download is written under a hidden name beside its target
 * and renamed over it only once complete, so a failed or killed transfer
 * never leaves something that looks like the whole file. The name is
 * predictable (a next run finds and replaces a stale one), so the file is
 * created exclusively: nothing already at that name, a link planted there
 * included, is ever opened or written through.
 */
import { FileHandle, lstat, open, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FtpError } from "./errors.js";

/** The hidden name beside `file` that its download is written to: `.<name>.ftpstream-part`. */
export function partName(file: string): string {
  return join(dirname(file), `.${basename(file)}.ftpstream-part`);
}

/**
 * Creates the part file exclusively (O_EXCL). A stale one (a regular file
 * left by a run that was killed, or a link) is unlinked, which never
 * follows it, and the creation tried once more; anything else there (a
 * directory) is an FtpError (`ERR_FTP_PART_FILE`).
 */
export async function createPart(part: string): Promise<FileHandle> {
  try {
    return await open(part, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stale = await lstat(part);
  if (!stale.isFile() && !stale.isSymbolicLink()) {
    throw new FtpError(`cannot use ${JSON.stringify(part)} as a part file: something other than a file is there`, "ERR_FTP_PART_FILE");
  }
  await rm(part);
  return open(part, "wx");
}
