/**
 * What a tree transfer (downloadDir/uploadDir) resolves to. A leaf module:
 * it imports nothing, so errors.ts (FtpDirTransferError carries one) and
 * sync.ts can both use it without importing each other.
 */

/** What downloadDir/uploadDir did (or, with `dryRun`, would do). */
export interface DirTransferResult {
  /** Files transferred. */
  transferred: number;
  /** Files left alone: the target had them with the same size and time. */
  skipped: number;
  /** Bytes of the files transferred. */
  bytes: number;
  /** Files and directories removed from the target (with `delete`). */
  deleted: number;
  /** Symbolic links in the source, reported and not followed (paths below the root). */
  links: string[];
}
