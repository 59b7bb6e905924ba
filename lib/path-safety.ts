/**
 * The path checks that keep destructive and writing steps where they were
 * aimed: a remote path given to removeDir, clearDir or a tree transfer
 * must not climb (`..` in any spelling), a name from a listing must be one
 * segment on every platform, and a local write must not pass through a
 * link that is already in the target (node-tar's lesson from its path CVEs).
 */
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FtpPathError } from "./errors.js";

/**
 * Whether one segment means "the parent" to some server or file system:
 * `..`, and the spellings that come to it once trailing dots and spaces
 * are dropped (Windows does) or `%2e` is decoded (a URL, some servers):
 * `...`, `.. `, `%2e%2e`.
 */
export function isClimbingSegment(segment: string): boolean {
  const decoded = segment.replace(/%2e/gi, ".").trim();
  return decoded.length >= 2 && /^[. ]+$/.test(decoded) && decoded.includes("..");
}

/** The segments of a path, split at either separator (`\` is one on Windows and on some servers). */
function segmentsOf(path: string): string[] {
  return path.split(/[\\/]/);
}

/**
 * Throws FtpPathError (`reason: "climbs"`) when any segment of `path`
 * climbs, and (`"nul"`) when it holds a NUL: checked before anything is sent.
 */
export function assertNoClimb(path: string, what: string): void {
  if (path.includes("\0")) throw new FtpPathError(path, "nul", `refusing ${what} ${JSON.stringify(path)}: it holds a NUL`);
  if (segmentsOf(path).some(isClimbingSegment)) {
    throw new FtpPathError(
      path,
      "climbs",
      `refusing ${what} ${JSON.stringify(path)}: it climbs out with "..", which would reach outside it`,
    );
  }
}

/**
 * Why a name from a listing is not one path segment on every platform, or
 * undefined when it is: empty, `.`, `..` and its spellings, `/` or `\`
 * inside it, or a NUL would put what it names somewhere else once joined.
 */
export function unsafeNameReason(name: string): FtpPathError["reason"] | undefined {
  if (name.includes("\0")) return "nul";
  if (name.includes("/") || name.includes("\\")) return "separator";
  if (name === "" || name === "." || isClimbingSegment(name)) return "climbs";
  return undefined;
}

/** A name from a listing that stays inside its directory when joined to it, on every platform. */
export function isSafeName(name: string): boolean {
  return unsafeNameReason(name) === undefined;
}

/** The error for a listed name that is not one segment. */
export function unsafeNameError(dir: string, name: string, reason: FtpPathError["reason"]): FtpPathError {
  return new FtpPathError(
    dir === "" ? name : `${dir}/${name}`,
    reason,
    `refusing the listed name ${JSON.stringify(name)}: it is not one path segment (${reason}), so what it names is not known`,
  );
}

/**
 * Checks, with lstat, that every level of `relative` (a `/`-separated path
 * below `root`, the last segment excluded unless `includeLast`) is a real
 * directory: not a symbolic link (a write would land where the link
 * points) and not a file. The root itself is the caller's choice and may
 * be a link. A level that does not exist yet passes (it will be made).
 */
export async function assertRealDirs(root: string, relative: string, includeLast = false): Promise<void> {
  const parts = relative.split("/");
  const levels = includeLast ? parts.length : parts.length - 1;
  for (let i = 1; i <= levels; i++) {
    const path = parts.slice(0, i).join("/");
    let info;
    try {
      info = await lstat(join(root, path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    if (info.isSymbolicLink()) {
      throw new FtpPathError(path, "link", `refusing to write through ${JSON.stringify(path)}: it is a symbolic link in the target`);
    }
    if (!info.isDirectory()) {
      throw new FtpPathError(path, "not-a-directory", `refusing to write below ${JSON.stringify(path)}: it is not a directory`);
    }
  }
}

/**
 * Makes a missing local directory `dir` below `root`, its parents being
 * there: never through a link (each level above is checked with lstat
 * first), and an entry already at its place must be a real directory
 * (assertRealDirs's FtpPathError otherwise).
 */
export async function makeRealDir(root: string, dir: string): Promise<void> {
  await assertRealDirs(root, dir);
  try {
    await mkdir(join(root, dir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    await assertRealDirs(root, dir, true);
  }
}

/**
 * Makes the directories of `relative` (a `/`-separated path below `root`,
 * its last segment, the file, excluded) one level at a time (makeRealDir:
 * the levels above each checked with lstat before it is made), then
 * checks them all once more: a level that is a link or no directory stops
 * it (assertRealDirs's FtpPathError). A recursive mkdir went through a
 * directory swapped for a link between the check before it and its
 * mkdir, and made every level below it where the link led; now at most
 * the one level whose mkdir raced is, empty, and the swap is refused
 * before anything else is made or written. As a tree download makes its
 * directories (sync.ts).
 */
export async function makeRealDirs(root: string, relative: string): Promise<void> {
  const parts = relative.split("/");
  for (let i = 1; i < parts.length; i++) await makeRealDir(root, parts.slice(0, i).join("/"));
  if (parts.length > 1) await assertRealDirs(root, parts.slice(0, -1).join("/"), true);
}

/**
 * A name as a server or disk that folds letter case or Unicode form, or
 * trims names, opens it: Windows drops trailing dots and spaces, a server
 * trimming its argument the blanks at its ends, so `Keep.txt.` and
 * ` keep.txt ` open `keep.txt`. A name of only dots and blanks (`...`,
 * ` `, `. `) stays itself: no other name is another spelling of it.
 * Folded to "", it matched the directory it is in: a tree sync took the
 * remote entry `sub/ ` for the source's `sub` (never deleted, never
 * reported) and a link so named for a link at `sub` (every write into
 * `sub` refused). That such a server may open it as its directory is
 * opensAsItsDirectory's concern. Shared by tree sync's deletions and
 * removeDir's link check.
 */
export function foldedName(name: string): string {
  const normal = name.normalize("NFC");
  return opensAsItsDirectory(normal)
    ? normal
    : normal
        .toLowerCase()
        .replace(/^\s+/, "")
        .replace(/[\s.]+$/, "");
}

/**
 * Whether `name` (one segment, not "" nor `.` nor `..`) is only dots and
 * blanks (`...`, ` `, `. `): an ordinary name on POSIX, but one that a
 * server dropping each segment's trailing dots and spaces (Windows: IIS,
 * FileZilla Server), or trimming its argument, opens as the directory it
 * is in. A command through it (`DELE sub/ /x`) may reach `sub/x` there.
 */
export function opensAsItsDirectory(name: string): boolean {
  return /^[\s.]+$/.test(name);
}

/**
 * The name a server that trims its argument opens for `name`, the last
 * segment of an argument (with `first`, also its first): the blanks at its
 * end (and start) dropped, so `dir ` and `dir\t` open `dir`. Unlike
 * foldedName, letter case and trailing dots stay: a disk holding both
 * `dir` and `dir ` is no Windows disk, but its server may still trim.
 */
export function trimmedName(name: string, first = false): string {
  const end = name.replace(/\s+$/, "");
  return first ? end.replace(/^\s+/, "") : end;
}
