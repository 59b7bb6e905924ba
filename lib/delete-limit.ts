/**
 * The bound on a tree transfer's deletions (DirTransferOptions.maxDelete),
 * as rsync's and rclone's `--max-delete`: a source that is an unmounted
 * mount point (an empty directory) or a remote directory emptied by
 * mistake must not empty the target. Decided on the whole plan, before
 * the first deletion: over the bound, nothing is deleted (rclone stops
 * midway, with part of the target gone).
 */
import { FtpDeleteLimitError } from "./errors.js";

/** Throws TypeError/RangeError unless `value` is undefined (no bound) or a whole number, 0 or more (0: nothing may be deleted). */
export function assertMaxDelete(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number") {
    throw Object.assign(new TypeError(`maxDelete must be a number of entries, got ${typeof value}`), { code: "ERR_INVALID_ARG_TYPE" });
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw Object.assign(new RangeError(`maxDelete must be a whole number of entries, 0 or more, got ${value}`), {
      code: "ERR_OUT_OF_RANGE",
    });
  }
}

/** The FtpDeleteLimitError of a plan deleting `count` entries, if `max` (validated by assertMaxDelete) does not allow that many. */
export function overDeleteLimit(count: number, max: number | undefined): FtpDeleteLimitError | undefined {
  return max !== undefined && count > max ? new FtpDeleteLimitError(count, max) : undefined;
}
