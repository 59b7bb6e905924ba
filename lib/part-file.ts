/**
 * Part files: a download is written under a hidden name beside its target
 * and renamed over it only once complete, so a failed or killed transfer
 * never leaves something that looks like the whole file. The name is
 * predictable (a next run finds and replaces a stale one), so the file is
 * created exclusively: nothing already at that name, a link planted there
 * included, is ever opened or written through.
 */
import { FileHandle, lstat, open, rename, rm, utimes } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { FtpError, FtpPathError } from "./errors.js";
import { assertRealDirs } from "./path-safety.js";

/** The suffix of part files, local and remote: a tree transfer never takes one for a file of the tree. */
export const PART_SUFFIX = ".ftpstream-part";

/** The hidden name beside `file` that its download is written to: `.<name>.ftpstream-part`. */
export function partName(file: string): string {
  return join(dirname(file), `.${basename(file)}${PART_SUFFIX}`);
}

/** The hidden name beside the remote file `remotePath` that a tree upload STORs to, then renames: `dir/.name.ftpstream-part`. */
export function remotePartName(remotePath: string): string {
  const slash = remotePath.lastIndexOf("/");
  return `${remotePath.slice(0, slash + 1)}.${remotePath.slice(slash + 1)}${PART_SUFFIX}`;
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

/**
 * Writes the file `path` below the local directory `root` through its part
 * file: `fetch` fills the part file's stream and resolves to the bytes and
 * the time to give the file (null: leave its own); the part is then
 * renamed over the target. Every level below `root` is checked with lstat
 * before and again after the transfer (a link could have been put there
 * meanwhile), and a target that is a link is not replaced. On any failure
 * the part file is removed: nothing is left that looks complete.
 */
export async function writeThroughPart(
  root: string,
  path: string,
  fetch: (sink: Writable) => Promise<{ bytes: number; modified: Date | null }>,
): Promise<number> {
  await assertRealDirs(root, path);
  const target = join(root, path);
  // Refused before anything is fetched as well as after: checked only at the end, a link would cost a whole transfer.
  await assertNotLink(target, path);
  const part = partName(target);
  const sink = (await createPart(part)).createWriteStream();
  try {
    const { bytes, modified } = await fetch(sink);
    if (modified) await utimes(part, modified, modified);
    await assertRealDirs(root, path);
    await assertNotLink(target, path);
    await rename(part, target);
    return bytes;
  } catch (error) {
    sink.destroy();
    await rm(part, { force: true });
    throw error;
  }
}

/** Throws FtpPathError (`reason: "link"`) when `target` (shown as `path`) is a symbolic link: it is not replaced. */
async function assertNotLink(target: string, path: string): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    throw new FtpPathError(path, "link", `refusing to replace ${JSON.stringify(path)}: it is a link in the target`);
  }
}
