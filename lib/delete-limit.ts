/**
 * The bound on a tree transfer's deletions (DirTransferOptions.maxDelete),
 * as rsync's and rclone's `--max-delete`: a source that is an unmounted
 * mount point (an empty directory) or a remote directory emptied by
 * mistake must not empty the target. Decided on the whole plan, before
 * the first deletion: over the bound, nothing is deleted (rclone stops
 * midway, with part of the target gone).
 */
import { FtpDeleteLimitError } from "./errors.js";
import { assertOptionalCount } from "./whole-count.js";

/** Throws TypeError/RangeError unless `value` is undefined (no bound) or a whole number, 0 or more (0: nothing may be deleted). */
export function assertMaxDelete(value: unknown): void {
  assertOptionalCount(value, "maxDelete", "entries");
}

/** The FtpDeleteLimitError of a plan deleting `count` entries, if `max` (validated by assertMaxDelete) does not allow that many. */
export function overDeleteLimit(count: number, max: number | undefined): FtpDeleteLimitError | undefined {
  return max !== undefined && count > max ? new FtpDeleteLimitError(count, max) : undefined;
}
