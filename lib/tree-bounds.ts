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
