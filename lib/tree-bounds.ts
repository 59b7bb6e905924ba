/**
 * The bounds of a walk through a remote tree, shared by the tree transfers
 * (sync.ts) and the recursive deletes (remote-ops.ts): how many entries a
 * walk may hold and how deep it may go before it stops with FtpLimitError.
 * A server that answers every directory with one more below it, or lists
 * without end, must not be walked for ever, and a delete must not start
 * on a tree that cannot be bounded.
 */
import { FtpLimitError } from "./errors.js";

/** Default DirTransferOptions.maxEntries, and the bound of a removeDir/clearDir walk. */
export const DEFAULT_MAX_TREE_ENTRIES = 1_000_000;

/** Most levels below the root a remote directory of a walk may lie at (see assertTreeDepth). */
export const MAX_TREE_DEPTH = 1000;
/** Most characters a path below the root may have: Windows' long paths end there, Linux's at 4,096 bytes, macOS's at 1,024. */
export const MAX_TREE_PATH = 32_767;

/** The FtpLimitError (`limit: "treeEntries"`) of a tree past `max` entries; `bound` says where `max` came from. */
export function treeLimit(max: number, bound = "the maxEntries option"): FtpLimitError {
  return new FtpLimitError("treeEntries", max, `the tree holds more than ${max} entries (${bound})`);
}

/**
 * Refuses a remote directory `path` (below the root) past MAX_TREE_DEPTH
 * levels or MAX_TREE_PATH characters, with FtpLimitError ("treeDepth"),
 * before it is listed. A server that answers every directory with one more
 * below it (a loop through a link, or a hostile one) would otherwise be
 * walked for ever, each path longer than the last: memory grows with the
 * square of the depth long before maxEntries is reached, and no local
 * file system could hold what it names.
 */
export function assertTreeDepth(path: string): void {
  let depth = 1;
  for (let at = path.indexOf("/"); at !== -1; at = path.indexOf("/", at + 1)) depth++;
  if (depth <= MAX_TREE_DEPTH && path.length <= MAX_TREE_PATH) return;
  const what = depth > MAX_TREE_DEPTH ? `${depth} levels` : `${path.length} characters`;
  throw new FtpLimitError(
    "treeDepth",
    MAX_TREE_DEPTH,
    `the remote tree goes deeper than ${MAX_TREE_DEPTH} levels or ${MAX_TREE_PATH} characters: ${what} at ${JSON.stringify(path.slice(0, 200))}...`,
  );
}

/**
 * The directories a walk has entered, by MLSD's `unique` fact (RFC 3659
 * 7.5.2: one value, one file or directory). A directory listed under a
 * value already entered under another path is that directory again: a
 * link to an ancestor (a loop), or to another directory of the tree,
 * that the server lists as a directory (pyftpdlib's MLSD gives a link the
 * type and value of what it points to; so does proftpd's with
 * `ShowSymlinks off`). Walked, a loop goes on until the walk's bounds
 * stop it, and a tree transfer or removal would act on one directory
 * through two paths.
 */
export class EnteredDirs {
  private readonly byUnique = new Map<string, string>();

  /**
   * Records `path` as entered under `unique` (undefined: the server gave
   * none, nothing is known). Returns the other path already entered under
   * that value, if there is one: then `path` is not recorded.
   */
  enter(path: string, unique: string | undefined): string | undefined {
    if (unique === undefined) return undefined;
    const held = this.byUnique.get(unique);
    if (held !== undefined && held !== path) return held;
    this.byUnique.set(unique, path);
    return undefined;
  }
}
