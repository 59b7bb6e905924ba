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
  /**
   * Entries of the source named as part files (`.<name>.ftpstream-part`,
   * anything but a directory): what a transfer of this library's, killed
   * or still running, writes through before renaming it to `<name>`.
   * Reported and left out (paths below the root): neither transferred, nor
   * taken for a file of the tree, nor in the way of `<name>`'s own
   * transfer; with `delete`, neither the target's entry of that name nor
   * its `<name>` is removed for it (the source's `<name>` may be midway).
   * `filter` is not asked about them.
   */
  parts: string[];
  /**
   * With `delete`: the target's links, special files and entries of
   * unknown type that the source lacks (paths below the root). `delete`
   * removes none of them (nor the directories holding them), so while one
   * is listed the target is no mirror of the source. A link is not
   * removed as rsync's `--delete` would: a server may list it as what it
   * points to, or its DELE follow it. Empty without `delete`.
   */
  kept: string[];
}
