/**
 * The bound on a tree transfer's deletions (DirTransferOptions.maxDelete),
 * as rsync's and rclone's `--max-delete`: a source that is an unmounted
 * mount point (an empty directory) or a remote directory emptied by
 * mistake must not empty the target. Decided on the whole plan, before
 * the first deletion: over the bound, nothing is deleted (rclone stops
 * midway, with part of the target gone). Without a bound, a source that
 * listed nothing at all deletes nothing either: see overDeleteLimit.
 */
import { FtpDeleteLimitError } from "./errors.js";
import { assertOptionalCount } from "./whole-count.js";

/**
 * Throws TypeError/RangeError unless `value` is undefined (no bound), a
 * whole number, 0 or more (0: nothing may be deleted), or Infinity (no
 * bound, given: an empty source may then empty the target).
 */
export function assertMaxDelete(value: unknown): void {
  if (value !== Infinity) assertOptionalCount(value, "maxDelete", "entries");
}

/**
 * The FtpDeleteLimitError of a plan deleting `planned`, if `max` (validated
 * by assertMaxDelete) does not allow that many; it names them, so that a
 * dry run over the bound can still say what delete would remove. With no
 * `max`, a plan deleting anything for a source that listed nothing at all
 * (`emptySource`) is refused too (`reason: "empty-source"`): on FTP an
 * empty listing is also what a server may answer for a missing or
 * unreadable directory (vsftpd's LIST of a missing path, proftpd's and
 * pure-ftpd's of one the user may not read), and locally what an
 * unmounted mount point holds. Only a bound the caller gave allows it.
 */
export function overDeleteLimit(
  planned: ReadonlyArray<{ path: string; type: "file" | "dir" }>,
  max: number | undefined,
  emptySource = false,
): FtpDeleteLimitError | undefined {
  if (max === undefined)
    return emptySource && planned.length > 0 ? new FtpDeleteLimitError(planned.length, 0, planned, "empty-source") : undefined;
  return planned.length > max ? new FtpDeleteLimitError(planned.length, max, planned) : undefined;
}
