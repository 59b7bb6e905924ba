/**
 * Local file names that a string names exactly. On Linux a file name is
 * any bytes, but Node's fs takes and gives names as strings, through
 * UTF-8 both ways: a name whose bytes are not UTF-8 (Latin-1 `caf\xe9.txt`
 * from an old tool or an unzip) is read with U+FFFD in place of the bad
 * bytes, and a string holding a lone surrogate (the project's escape of a
 * remote byte that did not decode, see text-codec.ts) is written with
 * U+FFFD in its place. Either way the string reaches another file (a real
 * `caf\uFFFD.txt`) or none, and two names can come out as one. A tree
 * transfer deletes and overwrites by these strings, so it takes only names
 * that survive the trip, and fails the others (FtpPathError, reason
 * `"undecodable"`).
 */
import { readdir, lstat } from "node:fs/promises";
import { join } from "node:path";
import { FtpPathError } from "./errors.js";
import { foldedName } from "./path-safety.js";
import { codecFor } from "./text-codec.js";

/**
 * Most a local file name may hold: NAME_MAX, 255 bytes of UTF-8 on Linux
 * (ext4, xfs, btrfs, tmpfs) and macOS; 255 UTF-16 units on Windows (NTFS),
 * where a name of 100 CJK letters (300 bytes) fits.
 */
export const NAME_MAX = 255;

/** Whether `name` (one segment) is longer than a local file name may be (NAME_MAX). */
export function isTooLongName(name: string): boolean {
  return (process.platform === "win32" ? name.length : Buffer.byteLength(name)) > NAME_MAX;
}

/** The failure of the local path `path` whose level `name` (`what`: "its name", its last; "its directory", another) is longer than NAME_MAX. */
export function nameTooLong(path: string, name: string, what: "its name" | "its directory" = "its name"): FtpPathError {
  const size = process.platform === "win32" ? `${name.length} UTF-16 units` : `${Buffer.byteLength(name)} bytes`;
  return new FtpPathError(
    path,
    "name-too-long",
    `refusing to write ${shownName(path)}: ${what} ${shownName(name)} has ${size}, more than a local file name may have (${NAME_MAX})`,
  );
}

/**
 * Throws FtpPathError (`reason: "name-too-long"`) when a level of the local
 * path `path` (separated by `/`, and on Windows `\` too) is longer than
 * NAME_MAX: checked where a download's name is known, before anything is
 * fetched, in place of the ENAMETOOLONG that fs gave at the first step on
 * the disk. `shown` is the path the error names.
 */
export function assertNameFits(path: string, shown = path): void {
  const levels = path.split(process.platform === "win32" ? /[\\/]/ : "/");
  const i = levels.findIndex(isTooLongName);
  if (i >= 0) throw nameTooLong(shown, levels[i], i === levels.length - 1 ? "its name" : "its directory");
}

/**
 * Throws FtpPathError (`reason: "same-file"`) when the file found at `path`
 * below `root` (`found`, its lstat) is a file the disk holds under another
 * spelling: on a disk that folds letter case or Unicode form (macOS,
 * Windows), a download of `readme` finds the `README` beside it, and
 * written there, the two names are one file, each written over the other
 * at each run and each reported done. A queue worker sees one job, one
 * name, at a time, so the directories say it: a level of `path` that its
 * directory does not list as spelled (the disk found it under a name it
 * folds to), or a level listed together with another name folding to it
 * that is the same file (hard links, one spelling each). Read only when a
 * file is there to be written over: a first run lists nothing.
 */
export async function assertOwnSpelling(root: string, path: string, found: { dev: number | bigint; ino: number | bigint }): Promise<void> {
  const levels = path.split("/");
  for (let i = 0; i < levels.length; i++) {
    const dir = join(root, ...levels.slice(0, i));
    const name = levels[i];
    const names = await readdir(dir);
    const folded = foldedName(name);
    const others = names.filter((other) => other !== name && foldedName(other) === folded);
    const at = levels.slice(0, i + 1).join("/");
    let holder: string | undefined;
    if (!names.includes(name)) {
      holder = others.length === 1 ? others[0] : undefined;
      if (holder === undefined) throw sameSpelling(path, at, "another spelling");
    } else {
      // The file itself, or the directory the level is (`found` is the file's: a directory's own inode is compared).
      const own = i === levels.length - 1 ? found : await lstat(join(dir, name), { bigint: true });
      for (const other of others) {
        const there = await lstat(join(dir, other), { bigint: true }).catch(() => undefined);
        if (there && BigInt(there.dev) === BigInt(own.dev) && BigInt(there.ino) === BigInt(own.ino)) holder = other;
      }
    }
    if (holder !== undefined) throw sameSpelling(path, at, JSON.stringify(holder));
  }
}

function sameSpelling(path: string, at: string, holder: string): FtpPathError {
  return new FtpPathError(
    path,
    "same-file",
    `refusing to write ${shownName(path)}: the local ${JSON.stringify(at)} is the one its directory holds as ${holder} ` +
      "(a disk that folds letter case or Unicode form holds one file for both names): when that name is no longer the " +
      "server's, rename or remove the local one",
  );
}

/**
 * The string that names the local file whose name is `bytes` (as
 * `readdir(dir, { encoding: "buffer" })` gives it), or undefined when no
 * string does: bytes that are not UTF-8 come back as U+FFFD, which is
 * written as other bytes (EF BF BD).
 */
export function localName(bytes: Buffer): string | undefined {
  const name = bytes.toString("utf8");
  // Bytes that do not decode always become U+FFFD: a name without one is its bytes exactly.
  if (!name.includes("\ufffd")) return name;
  return Buffer.from(name, "utf8").equals(bytes) ? name : undefined;
}

/** A surrogate not in a pair: Node writes it to a file name as U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether `name` (a remote name, as a listing gave it) is written to a
 * local file name as itself: false when it holds a lone surrogate (a byte
 * the server's encoding did not decode, escaped), which Node writes as
 * U+FFFD, so a download would land on another file, and when it is longer
 * than a local name may be (isTooLongName), which no disk takes.
 */
export function isLocalName(name: string): boolean {
  return !LONE_SURROGATE.test(name) && !isTooLongName(name);
}

/** An escaped byte (U+DC80..U+DCFF) as JSON.stringify writes it, after an even run of backslashes (not itself escaped). */
const ESCAPED_BYTE_JSON = /(?<=(?:^|[^\\])(?:\\\\)*)\\udc([89a-f][0-9a-f])/g;

/** `name` quoted as JSON.stringify does, each escaped byte (see text-codec.ts) shown as that byte, `\xe9`. */
export function shownName(name: string): string {
  return JSON.stringify(name).replace(ESCAPED_BYTE_JSON, "\\x$1");
}

/**
 * The failure of a local name that no string names (localName gave
 * undefined), in `dir` below the walked root. Its `path` holds the name
 * with each byte that is not UTF-8 escaped as text-codec.ts escapes a
 * remote name's (U+DC80 + the byte - 0x80), so no two names share it; its
 * message shows those bytes as `\xNN`.
 */
export function undecodableLocalName(dir: string, bytes: Buffer): FtpPathError {
  const escaped = codecFor("utf8").decode(bytes);
  const path = dir === "" ? escaped : `${dir}/${escaped}`;
  return new FtpPathError(
    path,
    "undecodable",
    `refusing the local name ${shownName(path)}: its bytes are not UTF-8, and the string Node reads for it ` +
      `(${JSON.stringify(bytes.toString("utf8"))}) names another file or none`,
  );
}

/**
 * The failure of a remote name that cannot be a local file name
 * (isLocalName gave false), in `dir` below the tree's root: a download
 * would write it where its bytes replaced by U+FFFD lead, another file
 * (`"undecodable"`), or it is too long for a local name (`"name-too-long"`).
 */
export function unwritableRemoteName(dir: string, name: string): FtpPathError {
  const path = dir === "" ? name : `${dir}/${name}`;
  if (!LONE_SURROGATE.test(name)) return nameTooLong(path, name);
  return new FtpPathError(
    path,
    "undecodable",
    `refusing the listed name ${shownName(path)}: it holds bytes that did not decode in the connection's encoding, ` +
      `and a local file name Node writes cannot hold them (it would be written as ${JSON.stringify(path.replace(new RegExp(LONE_SURROGATE, "g"), "\ufffd"))}, another file)`,
  );
}

/**
 * The failure of a local name read twice in one directory (`dir`, at
 * `full`): two names that read as one string. The first stands; which file
 * this one is, is not known.
 */
export function localNameTwice(dir: string, full: string, name: string): FtpPathError {
  return new FtpPathError(
    dir === "" ? name : `${dir}/${name}`,
    "undecodable",
    `refusing the local name ${JSON.stringify(name)}: the directory ${JSON.stringify(full)} holds more than one name that reads as it`,
  );
}
