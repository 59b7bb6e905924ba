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

/**
 * The FtpDeleteLimitError of a plan deleting `planned`, if `max` (validated
 * by assertMaxDelete) does not allow that many; it names them, so that a
 * dry run over the bound can still say what delete would remove.
 */
export function overDeleteLimit(
  planned: ReadonlyArray<{ path: string; type: "file" | "dir" }>,
  max: number | undefined,
): FtpDeleteLimitError | undefined {
  return max !== undefined && planned.length > max ? new FtpDeleteLimitError(planned.length, max, planned) : undefined;
}
