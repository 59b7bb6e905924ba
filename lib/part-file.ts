/**
 * Part files: a download is written under a hidden name beside its target
 * and renamed over it only once complete, so a failed or killed transfer
 * never leaves something that looks like the whole file. The name is
 * predictable (a next run finds and replaces a stale one), so the file is
 * created exclusively: nothing already at that name, a link planted there
 * included, is ever opened or written through.
 */
import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { FileHandle, lstat, open, rename, rm, utimes } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { FtpError, FtpPathError } from "./errors.js";
import { assertNameFits, shownName } from "./local-names.js";
import { assertRealDirs } from "./path-safety.js";

/** The suffix of part files, local and remote: a tree transfer never takes one for a file of the tree. */
export const PART_SUFFIX = ".ftpstream-part";

/** Most bytes a file name may have: NAME_MAX on Linux (ext4, xfs, btrfs, tmpfs), APFS and most servers' disks; NTFS's 255 UTF-16 units are never more. */
const NAME_MAX = 255;
/** The hex digits of the hash a shortened part name carries (see partSegment): 128 bits, so that no two names can be made to share a part by a birthday search (64 bits would take some 2^32 tries). */
const HASH_DIGITS = 32;

/** A name ending as a shortened part name's owner does (`~` and HASH_DIGITS hex digits). */
const HASHED_END = new RegExp(`~[0-9a-f]{${HASH_DIGITS}}$`);

/**
 * The part name of the file name `name` (one segment): `.<name>.ftpstream-part`,
 * or where that would be longer than NAME_MAX bytes in UTF-8 (a name of
 * more than 239 bytes, which the disk holds), `.<prefix>~<hash>.ftpstream-part`:
 * as much of `name` as fits, cut between characters, and 32 hex digits of its
 * SHA-256, so two long names sharing a prefix get two part names. Otherwise
 * a file with such a name could never be written through its part file
 * (ENAMETOOLONG), run after run. Either form is a part name (partOwner).
 * A name that itself ends in `~` and 32 hex digits takes the second form
 * too: with the first, the name `<prefix>~<hash>` of a long name (239
 * bytes, which fits) had that long name's part, so the two files of a
 * tree were written through one part at once (an upload's STORs mixed in
 * it, the same size, renamed as either).
 */
function partSegment(name: string): string {
  const whole = `.${name}${PART_SUFFIX}`;
  if (Buffer.byteLength(whole) <= NAME_MAX && !HASHED_END.test(name)) return whole;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, HASH_DIGITS);
  let room = NAME_MAX - Buffer.byteLength(`.~${hash}${PART_SUFFIX}`);
  let prefix = "";
  for (const char of name) {
    room -= Buffer.byteLength(char);
    if (room < 0) break;
    prefix += char;
  }
  return `.${prefix}~${hash}${PART_SUFFIX}`;
}

/** The hidden name beside `file` that its download is written to: `.<name>.ftpstream-part` (shortened for a long name, see partSegment). */
export function partName(file: string): string {
  return join(dirname(file), partSegment(basename(file)));
}

/**
 * The name whose part file `name` (one path segment) is named as: `x` for
 * `.x.ftpstream-part` (for a long name's shortened part, its prefix and
 * hash); undefined when `name` is not a part name. A tree
 * transfer's source leaves such entries out (see DirTransferResult.parts).
 */
export function partOwner(name: string): string | undefined {
  if (!name.startsWith(".") || !name.endsWith(PART_SUFFIX)) return undefined;
  const owner = name.slice(1, name.length - PART_SUFFIX.length);
  // No file is named "", "." or "..": nothing has such a part.
  return owner === "" || owner === "." || owner === ".." ? undefined : owner;
}

/**
 * The hidden name beside the `/`-separated path `remotePath` (a remote
 * file, or a tree download's file below its root) that a transfer writes
 * to, then renames: `dir/.name.ftpstream-part` (shortened for a long name,
 * see partSegment).
 */
export function remotePartName(remotePath: string): string {
  const slash = remotePath.lastIndexOf("/");
  return `${remotePath.slice(0, slash + 1)}${partSegment(remotePath.slice(slash + 1))}`;
}

/**
 * The local files one tree download writes through part files, by inode.
 * On a disk that folds letter case or Unicode form (macOS and Windows by
 * default), two names of the source (`README` and `readme`) are one local
 * file: at once, the second download would take the first's part file
 * for a stale one and unlink it; one after the other, it would replace the
 * first's finished file; each would be reported done, one name holding the
 * other's bytes. Known by inode, this holds whatever the disk folds, with
 * no guess at its rules: such a second download fails (FtpPathError,
 * reason "same-file") and the first stands.
 *
 * Given the target as its walk found it (`target`), it also knows the
 * files this run did not write: on the run after, the first name is
 * unchanged and skipped, and the second one, which the walk never saw,
 * finds its file. Written over it, both were reported done (the second
 * skipped on the run after, the first written over it, for ever). A file
 * found at a name the walk did not see it under, but under another, is
 * refused the same way when that other name is a path of the source too
 * (`inSource`). When it is not, the local file is this name's under
 * another spelling (a file renamed `readme` to `README` on the server) and
 * is replaced, as before. Hard links the walk saw under both names (a
 * file linked twice in the target) are no such case: each name is
 * replaced.
 */
export class LocalWrites {
  /** Part files being written now. */
  private readonly parts = new Set<string>();
  /** Files this run put in place, with the path each was written as. */
  private readonly written = new Map<string, string>();
  /** The target's files as its walk found them, by walkedKey: the paths each was found at (until they are replaced). */
  private readonly walked = new Map<string, Set<string>>();
  /** The walkedKey of each path in `walked`. */
  private readonly walkedAt = new Map<string, string>();

  /**
   * `target`: the target tree's entries by path, as walked (a file's
   * `walked` being its lstat's device and inode); `inSource`: whether a
   * path is one of the source's, so far as known when a file is written
   * (a streamed download has listed that file's directory by then).
   */
  constructor(
    target?: ReadonlyMap<string, { type: string; walked?: { dev: number; ino: number } }>,
    private readonly inSource: (path: string) => boolean = () => true,
  ) {
    for (const [path, node] of target ?? []) {
      if (node.type !== "file" || !node.walked || node.walked.ino === 0) continue;
      const key = walkedKey(node.walked);
      const paths = this.walked.get(key) ?? new Set<string>();
      paths.add(path);
      this.walked.set(key, paths);
      this.walkedAt.set(path, key);
    }
  }

  /** Throws when the part file found at `part` (for `path`) is one this run is writing now. */
  assertNotWriting(found: BigIntStats, path: string): void {
    const key = inodeKey(found);
    if (key && this.parts.has(key)) throw sameFile(path, "its part file is the one another file of this run is being written to");
  }

  /** Throws when `target` (found there, for `path`) is a file this run wrote, or the walk found, under another name only. */
  assertNotWritten(found: BigIntStats | undefined, path: string): void {
    const key = found && inodeKey(found);
    if (!key) return;
    const other = this.written.get(key);
    if (other !== undefined && other !== path) throw sameFile(path, `it is the file this run wrote as ${JSON.stringify(other)}`);
    const paths = this.walked.get(walkedKey({ dev: Number(found.dev), ino: Number(found.ino) }));
    const holder = paths && !paths.has(path) ? [...paths].find(this.inSource) : undefined;
    if (holder !== undefined)
      throw sameFile(path, `it is the file the target holds as ${JSON.stringify(holder)}, a file of the source too`);
  }

  /** The part file `part` (its stats) is being written. */
  writing(part: BigIntStats): void {
    const key = inodeKey(part);
    if (key) this.parts.add(key);
  }

  /** The part file `part` (its stats) is no longer written: put in place as `path`, or (undefined) removed. */
  done(part: BigIntStats, path?: string): void {
    const key = inodeKey(part);
    if (!key) return;
    this.parts.delete(key);
    if (path === undefined) return;
    this.written.set(key, path);
    // The file the walk found at `path` is no longer there: its inode may be freed and given to another.
    const walked = this.walkedAt.get(path);
    if (walked === undefined) return;
    this.walkedAt.delete(path);
    const paths = this.walked.get(walked)!;
    paths.delete(path);
    if (paths.size === 0) this.walked.delete(walked);
  }
}

/**
 * The `inSource` of LocalWrites for a tree download that writes files
 * while the source is still being listed (`listed`: its paths so far;
 * every entry of a directory is added at once, as its listing is read):
 * whether `path` is, or may yet be, a path of the source. It is not when
 * a level of it is missing from a directory whose listing was read (one
 * holding a listed path). Below a directory not read yet, or read as
 * empty, it may still come: so counted, a name is refused rather than
 * written over a file the source may name yet (on a disk folding letter
 * case, `docs/x.txt` over `Docs/x.txt` while `Docs` is still unread).
 */
export function mayBeListed(listed: ReadonlySet<string>): (path: string) => boolean {
  return (path) => {
    const levels = path.split("/");
    for (let i = 1; i <= levels.length; i++) {
      if (listed.has(levels.slice(0, i).join("/"))) continue;
      // Asked only when a file is found under another walked name: seldom, so nothing is kept between calls.
      const read = new Set([...listed].map((at) => at.slice(0, Math.max(0, at.lastIndexOf("/")))));
      return !read.has(levels.slice(0, i - 1).join("/"));
    }
    return true;
  };
}

/** A walked file's identity, from Number stats (a bigint lstat's is compared as Number, so as to round alike). */
function walkedKey(walked: { dev: number; ino: number }): string {
  return `${walked.dev}:${walked.ino}`;
}

/**
 * A file's identity on its disk; "" where the disk gives none (an inode
 * number of 0), which is then not tracked. From bigint stats: a 64-bit
 * file index (NTFS) loses its low bits as a Number, and two files could
 * look like one.
 */
function inodeKey(stats: BigIntStats): string {
  return stats.ino === 0n ? "" : `${stats.dev}:${stats.ino}`;
}

function sameFile(path: string, why: string): FtpPathError {
  return new FtpPathError(
    path,
    "same-file",
    `refusing to write ${JSON.stringify(path)}: ${why} (a disk that folds letter case or Unicode form holds one file for both names)`,
  );
}

/**
 * Creates the part file exclusively (O_EXCL). A stale one (a regular file
 * left by a run that was killed, or a link) is unlinked, which never
 * follows it, and the creation tried once more; anything else there (a
 * directory) is an FtpError (`ERR_FTP_PART_FILE`). With `writes`, a part
 * file found there that this run is writing now is not stale (see
 * LocalWrites): `path` fails instead. `replaced`: the lstat of the file
 * the part is to replace, whose permission bits it is created with (the
 * umask may take some away; keepModeOf gives them exactly), never more:
 * created with the umask's 0644 and narrowed after, a part replacing a
 * 0600 file could be opened by another user in between, and read once
 * the new content came. A FIFO, socket or device at `replaced` is refused
 * (assertReplaceable, naming `path`) before the part is made.
 */
export async function createPart(part: string, writes?: LocalWrites, path = part, replaced?: Replaced): Promise<FileHandle> {
  // Before the part is made: a target name the disk cannot hold failed only at the rename, the whole file fetched.
  assertNameFits(path);
  assertReplaceable(replaced, path);
  const mode = keptMode(replaced) ?? 0o666;
  try {
    return await open(part, "wx", mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENAMETOOLONG") throw partTooLong(part, path);
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stale = await lstat(part, { bigint: true });
  if (!stale.isFile() && !stale.isSymbolicLink()) {
    throw new FtpError(`cannot use ${JSON.stringify(part)} as a part file: something other than a file is there`, "ERR_FTP_PART_FILE");
  }
  writes?.assertNotWriting(stale, path);
  await rm(part);
  return open(part, "wx", mode);
}

/**
 * The failure of a download to `path` whose part file `part` the disk
 * refused as too long (ENAMETOOLONG), the target's own levels fitting
 * NAME_MAX (assertNameFits): a disk whose names are shorter (eCryptfs
 * takes 143 bytes), or a whole path past PATH_MAX.
 */
function partTooLong(part: string, path: string): FtpPathError {
  return new FtpPathError(
    path,
    "name-too-long",
    `refusing to write ${shownName(path)}: the disk refused its part file ${shownName(basename(part))} ` +
      `(${Buffer.byteLength(basename(part))} bytes) as too long, its name or the whole path (ENAMETOOLONG)`,
  );
}

/** What keepModeOf reads of the file a part replaces (an lstat's, either kind). */
interface ModeSource {
  isFile(): boolean;
  mode: number | bigint;
}

/** What createPart reads of the file a part replaces (an lstat's, either kind). */
interface Replaced extends ModeSource {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}

/**
 * Throws FtpPathError (`reason: "special"`) when `found` (an lstat of what
 * a download's part is to be renamed over, shown as `path`) is a FIFO, a
 * socket or a device: the rename would replace it by a regular file (a
 * device node under /dev, for a process run as root), which no one asks
 * of a download. Refused before the part is made, so nothing is fetched.
 * Nothing there, a file, a link and a directory are the callers' to judge
 * (a link is not replaced by a tree download, a directory cannot be).
 * The CLI's get, the tree transfers' plan and the queue worker refused
 * such nodes before, each on its own, but not downloadSegmented, nor a
 * node made at a tree download's target after its walk.
 */
export function assertReplaceable(found: Replaced | undefined, path: string): void {
  if (!found || found.isFile() || found.isDirectory() || found.isSymbolicLink()) return;
  const what = found.isFIFO() ? "a FIFO" : found.isSocket() ? "a socket" : "a device or other special file";
  throw new FtpPathError(
    path,
    "special",
    `refusing to replace ${JSON.stringify(path)}: it is ${what}, which a download would replace by a regular file`,
  );
}

/**
 * Gives a part file (`handle`) the permission bits (0777) of the file it is
 * to replace (`replaced`, its lstat; nothing is done for none, or for what
 * is no regular file), before its first byte: an updated file keeps its
 * mode, as rsync keeps one's. Otherwise it took the part file's, the
 * umask's: a file the user made private (0600) came back 0644 after an
 * update, its new content readable by every local user. Set-id and sticky
 * bits are not carried to new content.
 */
export async function keepModeOf(handle: FileHandle, replaced: ModeSource | undefined): Promise<void> {
  const mode = keptMode(replaced);
  if (mode !== undefined) await handle.chmod(mode);
}

/** The permission bits (0777) a part replacing `replaced` takes: undefined for none, or for what is no regular file. */
function keptMode(replaced: ModeSource | undefined): number | undefined {
  return replaced?.isFile() ? Number(replaced.mode) & 0o777 : undefined;
}

/**
 * Writes the file `path` below the local directory `root` through its part
 * file: `fetch` fills the part file's stream and resolves to the bytes and
 * the time to give the file (null, or a time the disk will not set: leave
 * its own); the part is then
 * renamed over the target, with the permission bits (0777) of the file it
 * replaces. Every level below `root` is checked with lstat
 * before and again after the transfer (a link could have been put there
 * meanwhile), and a target that is a link is not replaced. With `writes`
 * (a tree download's), neither the part nor the target may be a file the
 * run is writing or wrote under another name (see LocalWrites). With
 * `ownName` (a queue worker's, which sees one file at a time), a file
 * found at the target before the transfer and again before the rename is
 * given to it, to refuse (see assertOwnSpelling). A name longer than
 * NAME_MAX fails (`"name-too-long"`) before anything. On any
 * failure the part file is removed: nothing is left that looks complete.
 * `fetch` is also given `discard`, which does that removal at once: a
 * fetch that fails inside a step others wait on (a pooled client's turn)
 * calls it before letting go, so the next file does not start while this
 * one's blocks are still held (ENOSPC on a nearly full disk).
 */
export async function writeThroughPart(
  root: string,
  path: string,
  fetch: (sink: Writable, discard: () => Promise<void>) => Promise<{ bytes: number; modified: Date | null }>,
  writes?: LocalWrites,
  ownName?: (found: BigIntStats) => Promise<void>,
): Promise<number> {
  // A name no disk holds fails here, typed, not with the ENAMETOOLONG of the first lstat below.
  assertNameFits(path);
  await assertRealDirs(root, path);
  const target = join(root, path);
  // Refused before anything is fetched as well as after: checked only at the end, a link would cost a whole transfer.
  const there = await assertNotLink(target, path);
  // Nor can the rename put a file in a directory's place (EISDIR): a whole transfer thrown away, run after run.
  if (there?.isDirectory()) {
    throw new FtpPathError(path, "directory", `refusing to replace ${JSON.stringify(path)}: it is a directory in the target`);
  }
  if (there) await ownName?.(there);
  writes?.assertNotWritten(there, path);
  const part = partName(target);
  const handle = await createPart(part, writes, path, there);
  const sink = handle.createWriteStream();
  let stats: BigIntStats | undefined;
  let discarded: Promise<void> | undefined;
  // Closed before it is removed: an unlinked part's blocks are freed only
  // once its descriptor is. Another process's part file (see
  // assertStillPart) is its own to remove.
  const discard = (): Promise<void> =>
    (discarded ??= closed(sink).then(async () => {
      if (!stats || (await isPartOf(part, stats))) await rm(part, { force: true });
    }));
  try {
    stats = await handle.stat({ bigint: true });
    writes?.writing(stats);
    // Again, now the part exists: a directory above swapped for a link since the check above had the
    // part made through it (Node has no openat), outside the target; refused before a byte is fetched
    // into it, the empty part then removed (discard), instead of a whole transfer written there.
    await assertRealDirs(root, path);
    await keepModeOf(handle, there);
    const { bytes, modified } = await fetch(sink, discard);
    await assertStillPart(part, stats, path);
    // A time the disk will not take (EPERM on an SMB or FUSE mount) costs the
    // next run this file again, as on a server without times; the file is
    // whole, and was thrown away, run after run. Any other failure (EIO, the
    // part gone: ENOENT) fails the file: it is not known to be whole.
    if (modified) await utimes(part, modified, modified).catch(timesNotSettable);
    await assertRealDirs(root, path);
    const now = await assertNotLink(target, path);
    // A FIFO or socket made at the target during the transfer (a tree's walk saw none there) is not replaced either.
    assertReplaceable(now, path);
    writes?.assertNotWritten(now, path);
    if (now) await ownName?.(now);
    await rename(part, target);
    writes?.done(stats, path);
    return bytes;
  } catch (error) {
    if (stats) writes?.done(stats);
    // Removed before this settles: on a full disk the next file would fail with ENOSPC for the space this one still held.
    await discard();
    throw error;
  }
}

/**
 * The errors of utimes that say the disk will not set this file's times,
 * the file being fine: not allowed (EPERM, EACCES: an SMB or FUSE mount, a
 * file another user owns), not done by the file system (ENOTSUP,
 * EOPNOTSUPP, ENOSYS), read-only (EROFS), or a time outside what it holds
 * (EINVAL, EOVERFLOW: before 1970 or past 2038 on some). Only these leave
 * the file its own time.
 */
const TIMES_NOT_SETTABLE = new Set(["EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EROFS", "EINVAL", "EOVERFLOW"]);

/** Swallows `error` when it is one of TIMES_NOT_SETTABLE; rethrows any other (EIO, ENOENT), which fails the file. */
function timesNotSettable(error: unknown): void {
  if (!TIMES_NOT_SETTABLE.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
}

/** Destroys `sink` (a part file's stream) and resolves once its descriptor is closed. */
function closed(sink: Writable): Promise<void> {
  if (sink.closed) return Promise.resolve();
  return new Promise((resolve) => {
    sink.once("close", () => resolve());
    sink.destroy();
  });
}

/**
 * Throws FtpError (`ERR_FTP_PART_FILE`) unless the file at `part` is still
 * the one this download wrote (`written`, its stats when created). A second
 * run writing the same tree at the same time (cron starting the next run
 * before the last one ended) takes a part file for a stale one, unlinks it
 * and writes its own there: renamed into place, that one would be reported
 * as this download, whole, while the other run is still writing it. The
 * rename follows at once, so what remains between the two is a window of
 * one system call, not of a transfer.
 */
async function assertStillPart(part: string, written: BigIntStats, path: string): Promise<void> {
  if (await isPartOf(part, written)) return;
  throw new FtpError(
    `${JSON.stringify(path)}: its part file ${JSON.stringify(part)} was replaced while it was written (another run writing the same file?): not put in place`,
    "ERR_FTP_PART_FILE",
  );
}

/** Whether the file at `part` is the one `written` describes (false if something else or nothing is there). */
async function isPartOf(part: string, written: BigIntStats): Promise<boolean> {
  const now = await lstat(part, { bigint: true }).catch(() => undefined);
  return now !== undefined && now.dev === written.dev && now.ino === written.ino;
}

/**
 * Throws FtpPathError (`reason: "link"`) when `target` (shown as `path`) is
 * a symbolic link: it is not replaced. Returns what is there (undefined:
 * nothing). A name the disk cannot hold (ENAMETOOLONG) rejects with
 * FtpPathError (`"name-too-long"`), before anything is fetched for it.
 */
export async function assertNotLink(target: string, path: string): Promise<BigIntStats | undefined> {
  const existing = await lstat(target, { bigint: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // Each level fits NAME_MAX (assertNameFits): a disk of shorter names, or a path past PATH_MAX.
    if ((error as NodeJS.ErrnoException).code === "ENAMETOOLONG") {
      throw new FtpPathError(path, "name-too-long", `refusing to write ${shownName(path)}: the disk refused it as too long (ENAMETOOLONG)`);
    }
    throw error;
  });
  if (existing?.isSymbolicLink()) {
    throw new FtpPathError(path, "link", `refusing to replace ${JSON.stringify(path)}: it is a link in the target`);
  }
  return existing;
}
