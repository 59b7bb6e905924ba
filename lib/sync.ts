/**
 * Whole directory trees down and up (downloadDir, uploadDir), on one
 * client or spread over a pool's: both trees are walked, each file is
 * compared by size and modification time, only what differs is
 * transferred, and the target's mtime is set after each file so the next
 * run can tell.
 */
import type { Stats } from "node:fs";
import { lstat, mkdir, readdir, rm, rmdir, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import {
  FtpDirTransferError,
  FtpError,
  FtpLimitError,
  FtpListingError,
  FtpAheadDroppedError,
  FtpPathError,
  FtpSizeMismatchError,
  FtpSourceChangedError,
  type FtpPathFailure,
  telnetIacInPath,
} from "./errors.js";
import { parseMlsdTime, type ListEntry } from "./listing.js";
import { LocalWrites, mayBeListed, partOwner, remotePartName, writeThroughPart } from "./part-file.js";
import { checkListedSize } from "./listed-size.js";
import { isLocalName, localName, localNameTwice, undecodableLocalName, unwritableRemoteName } from "./local-names.js";
import { assertMaxFileSize } from "./download.js";
import { assertMaxDelete, overDeleteLimit } from "./delete-limit.js";
import { assertTreeDepth, DEFAULT_MAX_TREE_ENTRIES, EnteredDirs, treeLimit } from "./tree-bounds.js";
import {
  assertNoClimb,
  assertRealDirs,
  foldedName,
  makeRealDir,
  opensAsItsDirectory,
  unsafeNameError,
  unsafeNameReason,
} from "./path-safety.js";
import { RENAME_OWN_PART } from "./part-rename.js";
import { REFUSES_IAC } from "./telnet-iac-plan.js";
import { uploadThroughPart } from "./part-upload.js";
import { pipeSettled } from "./pipe.js";
import { assertReadWhole, openWalkedFile, type OpenedFile, type WalkedFile } from "./upload-source.js";
import { linesFitting } from "./command-burst.js";
import { assertSafeArgument, mlstFactsLine, parse213, parseMlsdLine } from "./protocol.js";
import { isNotImplemented } from "./features.js";
import { joinRemote, ListOptions, notListedAsDirs, UnreadableLines } from "./remote-listing.js";
import { listMayNameOther } from "./list-command.js";
import type { Writable } from "node:stream";
import { asError } from "./as-error.js";
import { ignore } from "./ignore.js";
import type { DownloadOptions, TransferProgress, UploadOptions, UploadStream } from "./streams.js";
import type { DirTransferResult } from "./tree-types.js";

export type { DirTransferResult } from "./tree-types.js";

/** One file or directory of a tree, as `filter` sees it. */
export interface TreeEntry {
  /** Path below the tree's root, `/`-separated (`a/b.txt`), on either side. */
  path: string;
  type: "file" | "dir";
  /** Size in bytes, when known. */
  size: number | null;
  /** Modification time, when known. */
  modified: Date | null;
}

/** Files and bytes done so far, of the totals to transfer; given to `onProgress`. */
export interface DirProgress {
  /** Files done (transferred or failed) so far. */
  files: number;
  /** Files to transfer in all (of those found so far while `listing`). */
  totalFiles: number;
  /** Bytes moved so far, those of the files still running included. */
  bytes: number;
  /** Bytes of all the files to transfer, as the source's listing gives them (so far, while `listing`). */
  totalBytes: number;
  /** The file this report is about (below the root). */
  path: string;
  /**
   * True while the source is still being walked: a download starts on the
   * first directory's files before the others are listed (DirTransferOptions.pipelining),
   * and the totals grow as they are. False once they are final.
   */
  listing: boolean;
}

/**
 * Options of downloadDir/uploadDir.
 *
 * downloadDir checks each file's bytes, once the server ended its
 * transfer with 226, against a size: the one its listing gave; else the
 * one its 150 reply announced; else the answer to SIZE, asked with its
 * RETR (in the same write: no round trip of its own; with `pipelining:
 * false`, after the transfer) where the server may answer it (its FEAT
 * lists SIZE, or lists nothing). A file that brought another count fails
 * with FtpSizeMismatchError: it is not put in place, nor its time set,
 * and its local copy stays as it was. A server that has no SIZE (FEAT
 * without it, or a 500 or 502 to it: then it is not asked again), or
 * refuses it for a file, leaves only its 226 for a file listed without a
 * size: a transfer it cut short and still ended so is then taken whole.
 */
export interface DirTransferOptions {
  /**
   * Which entries take part: return false to leave one out (a directory
   * with everything below it). Applied to both trees, so what it leaves
   * out is neither transferred nor deleted. It may be asked more than once
   * about an entry (a remote file is, before its time is asked). It is not
   * asked about the source's part files (DirTransferResult.parts), which
   * are left out whatever it says; the target's are entries like any other.
   * A name no string names on the local side (a local name that is not
   * UTF-8; in a download, a remote name holding a byte its encoding did not
   * decode), a file or directory, is shown to it with the path of its
   * FtpPathError (`reason: "undecodable"`): each such byte as U+DC80 + the
   * byte - 0x80, as text-codec.ts escapes a remote name's (messages show
   * `\xNN`; `/[\udc80-\udcff]/` finds them), a key no other name has, the
   * same on both sides. Left out, it is no failure; `delete` still removes
   * nothing in its directory, and records the failure where that spared
   * something.
   *
   * A directory may also be answered `"walk"`: walk it (what is below it
   * is asked about), but do not make it on the target for its own sake.
   * It is made only as a directory above a file to transfer or above a
   * directory answered true; and, with `delete`, the target's directory
   * answered so is never removed for itself (what is below it may be).
   * The CLI's `--include` globs answer it for a directory no rule decides.
   * A directory answered true is made even if nothing in it is, as
   * before. For a file, `"walk"` is the same as true.
   */
  filter?: (entry: TreeEntry) => boolean | "walk";
  /**
   * Remove from the target the files and directories the source lacks.
   * Default false. Deletes only on complete knowledge: nothing is removed
   * in (or below) a source directory that could not be listed, or whose
   * listing held a line that could not be read, a name that is not one
   * path segment or a name twice (only its first entry is taken; each
   * recorded as a failure), nor in a target directory holding such an
   * entry; a local name that is not UTF-8 (no string names it exactly)
   * and a remote name a download could not write under its own local
   * name are such entries (FtpPathError, reason `"undecodable"`), left out
   * by `filter` or not; links,
   * special files and entries the source has under another type or
   * letter case stay, as do the target's entry named as a source's part
   * file and the file it is for (see DirTransferResult.parts). A remote
   * directory the source lacks whose name is only dots and blanks (` `,
   * `. `; a file so named is deleted) is a failure (FtpPathError, reason
   * `"ambiguous"`) and nothing in it is removed: a Windows server opens
   * `DELE sub/ /x` as `sub/x`. A
   * remote directory listed as nothing counts as read only on the server's
   * word (`.` in the listing, or an MLST `perm` fact with `l`): without it
   * nothing below it is removed, and if something would have been, it is a
   * failure (FtpListingError) — a directory the user may enter but not
   * read (mode 0111) is listed as nothing by many servers. The same holds
   * for a remote directory listed with LIST (no MLSD) whose path holds `[`
   * or `{`, begins with `~`, `-` or white space or ends in white space:
   * inetutils and netkit ftpd split and expand it as `ls` arguments, and list
   * `/t/sub1` for `/t/sub[1]`, `/t/x` for `/t/x ` (see listMayNameOther). Nor is
   * anything removed for what a local directory lacked once that directory
   * is gone, or is another one, since it was walked (a source being
   * removed as the transfer ran): FtpSourceChangedError `"replaced"`.
   */
  delete?: boolean;
  /**
   * With `delete`, the most entries of the target (files and directories,
   * each counted once, as DirTransferResult.deleted counts them) a run may
   * delete, as rsync's and rclone's `--max-delete`: a source that is an
   * unmounted mount point (an empty directory), or a remote directory
   * emptied by mistake, would otherwise empty the target. Decided on the
   * whole plan, once both trees are walked and every transfer is done, and
   * before the first deletion: if it would delete more, it deletes nothing
   * at all (not the first `maxDelete` of them), and the call rejects with
   * FtpDirTransferError holding FtpDeleteLimitError (the count and this
   * bound) against the root, `.`; the transfers are done as ever. With
   * `dryRun` the same refusal is reported (and `onDelete` not called:
   * FtpDeleteLimitError's `entries` names what would have gone). A
   * whole number, 0 or more (0: nothing may be deleted), or Infinity.
   * Default: no bound, except for a source that lists nothing at all (no
   * entry, not even one `filter` leaves out): then nothing is deleted and
   * the root fails the same way, with FtpDeleteLimitError's `reason`
   * `"empty-source"`. On FTP an empty listing is also a server's answer
   * for a missing or unreadable directory, and locally an unmounted mount
   * point is an empty directory. Any `maxDelete` given (Infinity too)
   * allows an empty source to delete up to it.
   */
  maxDelete?: number;
  /**
   * Most entries either tree may hold (both are held in memory while they
   * are compared, a few hundred bytes an entry): past it the call rejects
   * with FtpLimitError (`limit: "treeEntries"`) before anything is deleted.
   * Every entry walked counts, those left out by `filter` and those refused
   * with a failure (a name not one path segment, listed twice, or that no
   * string names) too: each failure is held as well.
   * A download with `pipelining` (the default) may have fetched the files
   * of the directories listed by then; with `pipelining: false`, `dryRun`
   * or `onPlan`, nothing is changed. Default 1,000,000.
   */
  maxEntries?: number;
  /**
   * Change nothing: walk and compare both trees, and resolve to what would
   * be transferred and deleted; `onProgress` reports each file that would be.
   */
  dryRun?: boolean;
  /** Aborting it aborts the running files, starts no more, and rejects the call with the signal's reason. */
  signal?: AbortSignal;
  /** Called as files and bytes are done, and during each file (at most every 200 ms per file). */
  onProgress?: (progress: DirProgress) => void;
  /**
   * Called once with the files to transfer, after both trees are compared
   * and before anything is changed (with `dryRun` too): what a job queue
   * needs to hand them out (see enqueueTree).
   */
  onPlan?: (files: PlannedFile[]) => void;
  /**
   * With `delete`, called for each entry of the target once it is deleted
   * (with `dryRun`: each that would be), a directory after what it held:
   * its path below the root, and whether it is a file or a directory. A
   * dry run's counts alone did not say what `delete` would remove.
   */
  onDelete?: (path: string, type: "file" | "dir") => void;
  /**
   * Called as each path fails (a file, a directory, a deletion), with what
   * FtpDirTransferError's `failures` would hold: a call that `signal`
   * aborts rejects with the signal's reason, which does not carry the
   * failures that came before it.
   */
  onFailure?: (failure: FtpPathFailure) => void;
  /**
   * Spend round trips only where they must (default true): a directory's
   * MDTMs are asked in one burst right after its listing, the new
   * directories of an upload made in one burst and its files' times set in
   * bursts, and each transfer command written with its EPSV
   * (commandWithEpsv) once the connection has reached an EPSV port. On a
   * link 20 ms away that is most of a mirror's time. False: one command
   * at a time, as before.
   */
  pipelining?: boolean;
  /**
   * uploadDir: write each file to a hidden part name beside its target
   * (`.name.ftpstream-part`) and rename it over the target (RNFR, RNTO) only
   * after the 226 and a whole, unchanged read, so a failed or cut upload
   * leaves the remote copy as it was. Where the server refuses to rename
   * over a file, the target is deleted first: a run killed between that
   * DELE and the rename leaves the new copy whole at the part name and
   * none at the target's, until the next run puts it there. Default
   * false: STOR to the target's own name, as lftp and rclone do, since the
   * rename costs two round trips a file and many servers forbid it where
   * they allow uploads (vsftpd's anonymous uploads without
   * `anon_other_write_enable`); a failed or killed upload then leaves a
   * partial file there (a server's STOR truncates it at once), unstamped,
   * which the next run sends again. downloadDir always writes through a
   * local part file.
   */
  partFiles?: boolean;
  /**
   * downloadDir: the most bytes a file may have (as curl's
   * `--max-filesize`). A file the listing gives as larger is not fetched
   * (no RETR), and one that grows past it while it is fetched (a listing
   * without sizes, a server sending more than it listed) is aborted and its
   * part file removed; either way that file fails with FtpLimitError
   * (`limit: "maxFileSize"`, `max` this value), its local copy stays as it
   * was, and the rest of the tree goes on. A failed file is still a file of
   * the source: `delete` never removes its local copy. A whole number, 0 or
   * more; default: no limit. uploadDir does not use it.
   */
  maxFileSize?: number;
}

/** A file a tree transfer will transfer: path below the root, the source's size, and its time to the second when known. */
export interface PlannedFile {
  path: string;
  size: number;
  modified: Date | null;
}

/** What the tree transfers need of a client (FTP has it all). */
export interface TreeClient {
  list(path: string, options?: ListOptions): AsyncIterable<ListEntry>;
  retrbinary(cmd: string, destination: Writable, options: DownloadOptions): Promise<string>;
  storbinary(cmd: string, options: UploadOptions): UploadStream;
  mkd(dirname: string): Promise<string>;
  ensureDir(path: string): Promise<unknown>;
  isDirectory(path: string): Promise<boolean>;
  delete(filename: string): Promise<string>;
  rename(fromname: string, toname: string): Promise<string>;
  rmd(dirname: string): Promise<string>;
  size(filename: string): Promise<number | null>;
  lastMod(path: string): Promise<Date>;
  setLastMod(path: string, date: Date): Promise<unknown>;
  lastMods(paths: readonly string[]): Promise<Array<Date | Error>>;
  setLastMods(entries: ReadonlyArray<{ path: string; date: Date }>): Promise<Array<Error | null>>;
  sendcmds(lines: readonly string[]): Promise<Array<string | Error>>;
  /** The server's FEAT (read once per login, then kept): whether to ask SIZE of a file listed without a size (RemoteSizes). */
  features(): Promise<Map<string, string>>;
  /** An upload's part renamed over its target only while it holds the bytes sent (see part-rename.ts). */
  [RENAME_OWN_PART](part: string, target: string, sent: number, pipelining: boolean): Promise<FtpError | undefined>;
  /** Whether a command carrying `text` would be refused before it is sent (see telnet-iac-plan.ts); none: never. */
  [REFUSES_IAC]?(text: string): boolean;
}

/** Where tree transfers get a client: one client, or a pool's. */
export interface TreeWorkers {
  /**
   * Runs `task` with a client (which must not call `run` again: a pool
   * could run dry). `shared`: the task starts with a download written
   * ahead (TransferStreamOptions.writeAhead), so a pool may hand it a
   * client another such task holds (see FtpPool).
   */
  run<T>(task: (client: TreeClient) => Promise<T>, options?: { shared?: boolean }): Promise<T>;
  /** How many tasks to run at once. */
  readonly concurrency: number;
  /**
   * Downloads may be written ahead of their turn (TransferStreamOptions.writeAhead):
   * a pool's, whose clients are its own to close when a transfer is aborted
   * (see transfer-ahead.ts), never the user's one client.
   */
  readonly writeAhead?: boolean;
  /** Starts opening every connection the tasks will want, before the first asks (a pool's logins overlap the walk). */
  warm?(): void;
}

/** One entry of a walked tree; "other" is a special file or an entry of unknown type, never transferred nor deleted. */
interface Node {
  type: "file" | "dir" | "link" | "other";
  size: number | null;
  /** The entry's time, when known to the second (else null: MDTM is asked when it matters). */
  modified: Date | null;
  /** A local entry's device and inode: an upload sends only the very file its walk found. */
  walked?: WalkedFile;
  /** A directory `filter` answered `"walk"`: made only for what is made below it, never deleted for itself. */
  walkOnly?: true;
}

/**
 * A walked tree by path below its root, the paths left out (by `filter`,
 * or as part files), and the directories ("" the root) whose contents are
 * not fully known: their listing failed, or held what could not be read.
 */
interface Tree {
  nodes: Map<string, Node>;
  excluded: Set<string>;
  incomplete: Set<string>;
  /**
   * A source's entries named as part files (see admit), also in `excluded`;
   * undefined in a target, where they are entries like any other (a left
   * part is replaced by its file's transfer, or an extra).
   */
  parts?: Set<string>;
  /**
   * Entries no string names on the local side (a local name that is not
   * UTF-8, a remote name a download cannot write as itself) that `filter`
   * left out, each with its failure, by the directory holding it: that
   * directory is not fully known, and `delete` reports them where that
   * spares something (see refuseUnnamed).
   */
  unnamed: Map<string, FtpPathError[]>;
  /**
   * Directories listed as nothing (or as themselves) with nothing to prove
   * the listing was a read, each with the error that says so: `delete`
   * removes nothing below one (see refuseUnproven).
   */
  unproven: Map<string, FtpListingError>;
  /**
   * Remote directories walked under an MLSD `unique` fact that another
   * directory of the tree, not below it, was then listed with (that one
   * is taken for a link, see walkRemote), each with the error that says
   * so: one of the two is a link the server lists as a directory, and
   * either may be it. `delete` removes nothing in or below one (see
   * refuseAliased): a file removed there may be another path's.
   */
  aliased: Map<string, FtpPathError>;
  /** Remote directories listed by MLSD (see ListedDirs). */
  mlsdListed: Set<string>;
  /** Whether a remote listing by MLSD showed a link as one (its server's MLSD tells links from directories). */
  linksShown: boolean;
  /** Whether a remote listing by MLSD did not show the directory itself (no `type=cdir` line, as pyftpdlib's). */
  mlsdSelfHidden: boolean;
  /**
   * Entries walked and refused, each as a failure (a name not one path
   * segment, listed twice, that no string names, or whose lstat failed):
   * counted against maxEntries with the nodes, since each holds its
   * failure, and a listing of nothing else would otherwise be held without
   * bound, one directory after another.
   */
  refused: number;
  /** Most entries it may hold, nodes, left out and refused (DirTransferOptions.maxEntries). */
  maxEntries: number;
  /**
   * A local tree's root as walked (its path, and its device and inode
   * before it was read): with each directory node's `walked`, what tells a
   * directory gone or replaced since (see forgetVanishedDirs).
   */
  local?: { root: string; walked: WalkedFile };
  /**
   * Whether each name is opened as spelled, one of only dots and blanks
   * too (see dotNameLevel): a local tree's, but on Windows. A server may
   * drop or trim them.
   */
  opensAsSpelled: boolean;
  /** A remote tree's: whether a remote path (from the root) cannot go in a command on its connections (see telnet-iac-plan.ts). */
  refusesIac?: (path: string) => boolean;
  /** The entries its walk refused for that (each a failure already). */
  iacRefused?: Set<string>;
}

function emptyTree(side: "source" | "target", maxEntries = DEFAULT_MAX_TREE_ENTRIES): Tree {
  const tree: Tree = {
    nodes: new Map(),
    excluded: new Set(),
    incomplete: new Set(),
    unproven: new Map(),
    aliased: new Map(),
    mlsdListed: new Set(),
    linksShown: false,
    mlsdSelfHidden: false,
    unnamed: new Map(),
    refused: 0,
    maxEntries,
    opensAsSpelled: false,
  };
  if (side === "source") tree.parts = new Set();
  return tree;
}

/** A file to transfer, and its source time to the second if known. */
interface Plan {
  path: string;
  size: number;
  modified: Date | null;
  /** The size the source's listing gave (null: none): a download that brings another count is checked (see checkListedSize, listed-size.ts). */
  listed: number | null;
}

/** What onPlan is shown of a plan (a PlannedFile, nothing more). */
function planned({ path, size, modified }: Plan): PlannedFile {
  return { path, size, modified };
}

/** Equal to the second: FTP times have no finer resolution. */
function sameSecond(a: Date, b: Date): boolean {
  return Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000);
}

/**
 * A local file's time, its sub-millisecond part cut off. Not `Stats.mtime`:
 * Node rounds that to the nearest millisecond, so a file written at
 * x.9996 s reads as x+1 s there, while uploadDir stamps the remote copy
 * with `mtimeMs` cut to the second, x; the next run found the two a
 * second apart and sent the unchanged file again, on every run (and
 * downloadDir fetched such a file again over a copy it had uploaded).
 */
function localTime(info: Stats): Date {
  return new Date(Math.floor(info.mtimeMs));
}

/**
 * A remote listing's time if it is to the second, else null. LIST gives
 * minutes or days (and in the server's time zone), MLSD seconds in UTC; an
 * entry does not say which it came from, so a time on a whole minute is
 * taken as possibly rounded, and MDTM is asked where it matters.
 */
function exactTime(modified: Date | null): Date | null {
  return modified && modified.getTime() % 60_000 !== 0 ? modified : null;
}

/**
 * Runs `work` over `items` (to which it may add more) with at most `limit`
 * running at once. If one rejects, starts no more and rejects with its
 * error once the running ones have settled.
 */
function runAll<T>(items: readonly T[], limit: number, work: (item: T, add: (item: T) => void) => Promise<void>): Promise<void> {
  const feed: WorkFeed<T> = new WorkFeed(limit, (item) => work(item, (more) => feed.add(more)));
  for (const item of items) feed.add(item);
  // Closed at once: it settles when nothing runs and nothing waits, work that adds more included.
  feed.close();
  return feed.done;
}

/** The failures of a call, each against its path, so one file's error does not stop the others. */
class Failures {
  readonly list: Array<{ path: string; error: Error }> = [];

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly onFailure?: (failure: FtpPathFailure) => void,
  ) {}

  /** Runs `step`, recording a failure against `path`. An abort is not recorded: it rejects the whole call. */
  async guard(path: string, step: () => Promise<void>): Promise<boolean> {
    try {
      this.signal?.throwIfAborted();
      await step();
      return true;
    } catch (error) {
      this.record(path, error);
      return false;
    }
  }

  /** Records a failure against `path`, unless the call was aborted (then throws the abort). */
  record(path: string, error: unknown): void {
    this.signal?.throwIfAborted();
    const failure = { path, error: asError(error) };
    this.list.push(failure);
    this.onFailure?.(failure);
  }
}

/** Counts what is done, the running files' bytes included, and reports it. */
class Progress {
  private files = 0;
  private bytes = 0;
  private readonly running = new Map<string, number>();

  constructor(
    private readonly report: ((progress: DirProgress) => void) | undefined,
    private totalFiles: number,
    private totalBytes: number,
    /** See DirProgress.listing. */
    private listing = false,
  ) {}

  /** One more file to transfer, found while the source is walked. */
  add(bytes: number): void {
    this.totalFiles++;
    this.totalBytes += bytes;
  }

  /** The walk is over: the totals are final. */
  listed(): void {
    this.listing = false;
  }

  /** Bytes of a running file so far. */
  during(path: string, bytes: number): void {
    this.running.set(path, bytes);
    this.emit(path);
  }

  /** A file is done (or failed) after moving `bytes`. */
  done(path: string, bytes: number): void {
    this.running.delete(path);
    this.files++;
    this.bytes += bytes;
    this.emit(path);
  }

  private emit(path: string): void {
    if (!this.report) return;
    let bytes = this.bytes;
    for (const running of this.running.values()) bytes += running;
    this.report({ files: this.files, totalFiles: this.totalFiles, bytes, totalBytes: this.totalBytes, path, listing: this.listing });
  }
}

/**
 * Remote times by MDTM, for files whose listing gave no time to the second.
 * Once the server says it has no MDTM (500/502), it is not asked again.
 */
class RemoteTimes {
  private missing = false;

  /** `root`: the remote tree's root, which the paths asked are below. */
  constructor(readonly root: string) {}

  /**
   * The time of `path`, or null where the server answers with none: it
   * has no MDTM (then it is not asked again), refuses it for this file
   * (vsftpd's 550 for a file it cannot stat) or answers what is not a
   * time. A file without a time is transferred and keeps its own, as on a
   * server without MDTM: failing it instead threw away a download that
   * had come whole, or left a local copy of the same size stale, on every
   * run. No answer (the connection lost) rejects.
   */
  async get(client: TreeClient, path: string): Promise<Date | null> {
    if (this.missing) return null;
    try {
      return await client.lastMod(joinRemote(this.root, path));
    } catch (error) {
      // Any answer of the server's, a refusal or a 213 that is not a time (FtpProtoError), carries its reply's number.
      if (this.noMdtm(error) || (error instanceof FtpError && error.replyCode !== null)) return null;
      throw error;
    }
  }

  /**
   * The times of `paths` in one burst (TreeClient.lastMods): each a Date,
   * or null where MDTM gave none (that file is asked again, alone, if it
   * comes to it, and its error then recorded).
   */
  async many(client: TreeClient, paths: string[]): Promise<Array<Date | null>> {
    if (this.missing || paths.length === 0) return paths.map(() => null);
    const times = await client.lastMods(paths.map((path) => joinRemote(this.root, path)));
    return times.map((time) => (time instanceof Date ? time : (this.noMdtm(time), null)));
  }

  /** Whether MDTM is still worth asking (the server has not said it has none). */
  get asking(): boolean {
    return !this.missing;
  }

  /** The time in an MDTM reply as sendcmds gives it (its text, or its error), or null. */
  fromReply(reply: string | Error): Date | null {
    if (typeof reply !== "string") {
      this.noMdtm(reply);
      return null;
    }
    return /^213 /.test(reply) ? parseMlsdTime(reply.slice(4).trim()) : null;
  }

  /** Whether `error` says the server has no MDTM (500/502): then it is not asked again. */
  private noMdtm(error: unknown): boolean {
    if (!(error instanceof FtpError && (error.replyCode === 500 || error.replyCode === 502))) return false;
    this.missing = true;
    return true;
  }
}

/**
 * Remote sizes by SIZE, for the files a tree download fetches whose
 * listing gave no size (LIST formats and DOS lines without one, MLSD
 * without the `size` fact, NLST): a transfer cut short that the server
 * still ends with 226, on a server whose 150 announces no size (pure-ftpd,
 * pyftpdlib), is then told from a whole file. Asked where the server may
 * answer: its FEAT lists SIZE, or lists nothing (no FEAT, or an empty
 * one: not known). Once it lists features without SIZE, or answers SIZE
 * with 500, 502 or 504, it is not asked again; a refusal for one file
 * (550) leaves that file unchecked. Either way the 226 is all there is.
 */
class RemoteSizes {
  /** Whether SIZE is asked: undefined until FEAT is read (once per call), false once the server shows it has none. */
  private answering: boolean | undefined;

  /** Whether SIZE is worth asking, reading FEAT on `client` the first time (kept by the client: no round trip once the listing read it). */
  async asking(client: TreeClient): Promise<boolean> {
    if (this.answering !== undefined) return this.answering;
    let features: Map<string, string> | undefined;
    try {
      features = await client.features();
    } catch (error) {
      // A FEAT refused or answered out of turn says nothing either way; a lost connection fails the file.
      if (!(error instanceof FtpError && error.replyCode !== null)) throw error;
    }
    this.answering ??= !(features && features.size > 0 && !features.has("SIZE"));
    return this.answering;
  }

  /** The size in a SIZE reply as TransferStreamOptions.before gives it (its text, or its error), or null. */
  fromReply(reply: string | Error | undefined): number | null {
    if (reply === undefined) return null;
    if (typeof reply !== "string") {
      this.heed(reply);
      return null;
    }
    return parse213(Number(reply.slice(0, 3)), reply);
  }

  /** SIZE `path` on its own (TYPE I first, see FTP.size): the size, or null where the server answers with none. No answer rejects. */
  get(client: TreeClient, path: string): Promise<number | null> {
    return RemoteSizes.of(client, path, (error) => this.heed(error));
  }

  /**
   * As get(), without an instance: for a file whose listing gave no size,
   * asked while comparing (see askRemote). `answered` is told the server's
   * refusal before it is taken for no size.
   */
  static async of(client: TreeClient, path: string, answered: (error: FtpError) => void = ignore): Promise<number | null> {
    try {
      return await client.size(path);
    } catch (error) {
      if (!(error instanceof FtpError && error.replyCode !== null)) throw error;
      answered(error);
      return null;
    }
  }

  /** A server answering SIZE with 500, 502 or 504 has none: not asked again. */
  private heed(error: unknown): void {
    if (isNotImplemented(error)) this.answering = false;
  }
}

/**
 * Throws FtpSizeMismatchError unless `received`, the bytes a download of
 * `path` brought, is `size`, what SIZE gave (null: no answer, nothing to
 * check): for a file whose listing gave no size and whose 150 announced none.
 */
function assertAskedSize(path: string, size: number | null, received: number): void {
  if (size === null || size === received) return;
  throw new FtpSizeMismatchError(
    size,
    received,
    "",
    `${JSON.stringify(path)}: the download brought ${received} bytes, but SIZE gives ${size} (the listing gave no size, nor the 150 reply)`,
  );
}

/**
 * Splits the source's files into those to transfer and the number to
 * skip: a file is skipped when the target has it with the same size and the
 * same time to the second. Remote times not known to the second are asked
 * (MDTM) only for files whose sizes agree, and remote sizes the listing did
 * not give (SIZE) before; a server that cannot tell has them transferred.
 */
async function compare(
  source: Tree,
  target: Tree,
  workers: TreeWorkers,
  remote: { side: "source" | "target"; times: RemoteTimes },
  failures: Failures,
): Promise<{ transfer: Plan[]; skipped: number }> {
  const transfer: Plan[] = [];
  let skipped = 0;
  const uncertain: Array<{ path: string; node: Node; other: Node }> = [];
  for (const [path, node] of source.nodes) {
    if (node.type !== "file") continue;
    const other = target.nodes.get(path);
    const outcome = classify(path, node, other);
    if (outcome === "ask") uncertain.push({ path, node, other: other! });
    else if (outcome === "skip") skipped++;
    else transfer.push(outcome);
  }
  await runAll(uncertain, workers.concurrency, async ({ path, node, other }) => {
    const outcome = await askRemote(path, node, other, workers, remote, failures);
    if (outcome === "skip") skipped++;
    else if (outcome !== "failed") transfer.push(outcome);
  });
  return { transfer, skipped };
}

/**
 * A source file against the target's entry at its path: its plan (to
 * transfer), "skip" (same size, same time to the second), or "ask" (a
 * size or a time to the second is missing where nothing else tells them
 * apart: the remote side's SIZE and MDTM decide, see askRemote). A size
 * missing is not a size that differs: a server whose MLSD has no `size`
 * fact (NAS servers) had its whole tree transferred again on every run.
 */
function classify(path: string, node: Node, other: Node | undefined): Plan | "skip" | "ask" {
  const plan: Plan = { path, size: node.size ?? 0, modified: node.modified, listed: node.size };
  if (other?.type !== "file") return plan;
  if (node.size !== null && other.size !== null && other.size !== node.size) return plan;
  if (node.size === null || other.size === null || !node.modified || !other.modified) return "ask";
  return sameSecond(node.modified, other.modified) ? "skip" : plan;
}

/**
 * Settles a classify() "ask" with the remote side's SIZE where its listing
 * gave none, then, the sizes agreeing, its MDTM where its listing gave no
 * time to the second (null where the server gives none: the file is then
 * transferred); "failed" when either failed (recorded against the file).
 */
async function askRemote(
  path: string,
  node: Node,
  other: Node,
  workers: TreeWorkers,
  remote: { side: "source" | "target"; times: RemoteTimes },
  failures: Failures,
): Promise<Plan | "skip" | "failed"> {
  const [remoteNode, localNode] = remote.side === "source" ? [node, other] : [other, node];
  let size = remoteNode.size;
  let time = remoteNode.modified;
  const asked = await failures.guard(path, () =>
    workers.run(async (client) => {
      size ??= await RemoteSizes.of(client, joinRemote(remote.times.root, path));
      if (size === localNode.size && !time) time = await remote.times.get(client, path);
    }),
  );
  if (!asked) return "failed";
  const sourceTime = remote.side === "source" ? time : node.modified;
  const targetTime = remote.side === "target" ? time : other.modified;
  return size === localNode.size && sourceTime && targetTime && sameSecond(sourceTime, targetTime)
    ? "skip"
    : { path, size: node.size ?? 0, modified: sourceTime, listed: node.size };
}

/** The parent of a path below the root ("" for the root's own entries). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * A path as a case-insensitive or normalizing file system may see it, or a
 * server that trims names: Windows drops a segment's trailing dots and
 * spaces, and a server trimming its argument the blanks at its ends, so
 * `DELE keep.txt.` or `DELE keep.txt ` may delete `keep.txt`. A segment of
 * only dots and blanks (`...`, a lone space) stays itself (foldedName):
 * dropped, `sub/ ` was `sub`, a remote extra never deleted nor reported,
 * and a link so named blocked every write into `sub`.
 */
function folded(path: string): string {
  return path.split("/").map(foldedName).join("/");
}

/**
 * Whether the source is known to lack `path`: the shallowest level of it
 * that the source has not as a directory is absent from the source
 * altogether, in a source directory that was listed in full. Below a
 * directory whose listing failed or held what could not be read, nothing
 * is known to be missing; nor is anything the source has under another
 * type (a file where the target has a directory: that file cannot be
 * written there and fails, so nothing below it is destroyed for it) or
 * that `filter` left out of the source (a filter that goes by size or time
 * may take the target's entry of that name), nor what the source has a
 * part file for: its transfer into the source may be midway (an upload
 * whose server would not rename over the file has it deleted first, and
 * one refused again leaves it whole at the part name only).
 */
function knownAbsent(source: Tree, path: string): boolean {
  const levels: string[] = [];
  for (let at = path; at !== ""; at = parentOf(at)) levels.unshift(at);
  for (const level of levels) {
    const type = source.nodes.get(level)?.type;
    if (type === "dir") continue;
    if (type !== undefined || source.excluded.has(level) || source.parts?.has(remotePartName(level))) return false;
    return !source.incomplete.has(parentOf(level));
  }
  return false;
}

/**
 * What `delete` removes: the target's entries the source lacks, deepest
 * first, and only where the source is fully known. Links, special files
 * and what `filter` left out stay; so does everything in or below a source
 * directory that is not fully known (rsync's "IO error encountered --
 * skipping file deletion"), anything whose path matches a source path but
 * for letter case, Unicode form, or blanks and dots a server or disk
 * trims (there it is the same file: see folded) at that level or one
 * above (below a directory the source has as `Data`, the target's `data/`
 * is not known to lack what it holds: that
 * listing may have failed, or `Data` be a file), or that is what the
 * source left out in another spelling, everything in a target directory
 * that is not fully known itself (an entry in it could not be read or
 * named, as a local name that is not UTF-8: what the directory holds is
 * not what the walk saw), and
 * every directory holding something that stays (or that the source has
 * under another type: that file then fails to transfer, and says so).
 * Nor does anything go through a remote directory named with only dots
 * and blanks, which a Windows server opens as the directory it is in
 * (dotNameLevel: reported, see refuseDotNames).
 */
function extras(source: Tree, target: Tree): Array<{ path: string; type: Node["type"] }> {
  const stays = new Set<string>();
  const keep = (path: string): void => {
    for (let at = path; at !== "" && !stays.has(at); at = parentOf(at)) stays.add(at);
  };
  const lacked = lackedBySource(source, target);
  for (const path of target.excluded) keep(path);
  for (const [path, node] of target.nodes) if (!lacked(path, node) || node.type === "link" || node.type === "other") keep(path);
  return [...target.nodes]
    .filter(([path]) => !stays.has(path))
    .map(([path, node]) => ({ path, type: node.type }))
    .sort((a, b) => b.path.split("/").length - a.path.split("/").length);
}

/**
 * Whether the source is known to lack the target's entry at `path`, so
 * that `delete` may remove it as far as the source goes (its type, and
 * what stays below it, aside): see extras. Not one whose removal goes
 * through a name of only dots and blanks (dotNameLevel: reported by
 * refuseDotNames), unless `throughDotNames`.
 */
function lackedBySource(source: Tree, target: Tree, throughDotNames = false): (path: string, node: Node) => boolean {
  // The source's paths and what it left out (filter, part files), as a disk folding letter case and Unicode form sees them.
  const sourceFolded = new Set([...source.nodes.keys(), ...source.excluded].map(folded));
  // Whether `path`, or a level above it, is one of those spelled otherwise: the same entry there, known or not by this spelling.
  const foldedInSource = (path: string): boolean => {
    for (let at = path; at !== ""; at = parentOf(at)) if (!source.nodes.has(at) && sourceFolded.has(folded(at))) return true;
    return false;
  };
  return (path, node) =>
    !node.walkOnly &&
    knownAbsent(source, path) &&
    !source.nodes.has(path) &&
    !foldedInSource(path) &&
    !target.incomplete.has(parentOf(path)) &&
    (throughDotNames || dotNameLevel(target, path, node.type) === undefined);
}

/**
 * The level of the target's `path` (itself, or a directory above it)
 * named with only dots and blanks (` `, `. `, opensAsItsDirectory) that
 * its removal would go through, or undefined: a server that drops a
 * segment's trailing dots and spaces (Windows) opens `DELE sub/ /x` as
 * `sub/x`, and `RMD sub/ ` as `sub`. A file so named is no such level:
 * its own DELE reaches, there, the directory holding it, and is refused.
 * None in a target that opens names as spelled (Tree.opensAsSpelled).
 */
function dotNameLevel(target: Tree, path: string, type: Node["type"]): string | undefined {
  if (target.opensAsSpelled) return undefined;
  const segments = path.split("/");
  const at = segments.findIndex((segment, i) => opensAsItsDirectory(segment) && (i < segments.length - 1 || type === "dir"));
  return at < 0 ? undefined : segments.slice(0, at + 1).join("/");
}

/**
 * Reports, once per level, the directories named with only dots and
 * blanks (dotNameLevel) that `delete` removes nothing through though the
 * source lacks what is there: neither deleted nor silently kept.
 */
function refuseDotNames(source: Tree, target: Tree, failures: Failures): void {
  if (target.opensAsSpelled) return;
  const lacked = lackedBySource(source, target, true);
  const reported = new Set<string>();
  for (const [path, node] of target.nodes) {
    if (node.type === "link" || node.type === "other" || !lacked(path, node)) continue;
    const level = dotNameLevel(target, path, node.type);
    if (level === undefined || reported.has(level)) continue;
    reported.add(level);
    failures.record(
      level,
      new FtpPathError(
        level,
        "ambiguous",
        `not deleting ${JSON.stringify(level)} nor anything in it: a name of only dots and blanks, which a server dropping ` +
          `them (Windows) or trimming its argument opens as the directory it is in, so a DELE or RMD through it may remove what is there`,
      ),
    );
  }
}

/**
 * The target's links and special files that the source is known to lack
 * (DirTransferResult.kept), in path order: `delete` leaves them, so the
 * target is not a mirror of the source while one is there. A link is
 * never removed: on a server that lists it as what it points to, or one
 * whose DELE follows it, what goes is not the link (see README, "Links
 * on the server").
 */
function keptByDelete(source: Tree, target: Tree): string[] {
  const lacked = lackedBySource(source, target);
  return [...target.nodes]
    .filter(([path, node]) => (node.type === "link" || node.type === "other") && lacked(path, node))
    .map(([path]) => path)
    .sort();
}

/**
 * Leaves out (as failures) the plans whose target path, or a directory
 * above it, is a link in the target tree: a write there would land where
 * the link points, outside the target. A special file in the way is not
 * replaced either. With `spellings` (a remote target: a server may fold
 * letter case or trim names, see folded), a link in any spelling of the
 * path such a server opens as it counts too; a local target's levels are
 * checked with lstat where it is written (assertRealDirs).
 */
function refuseLinked(plans: Plan[], target: Tree, failures: Failures, spellings = false): Plan[] {
  const blockedAt = blockerLookup(target, spellings);
  return plans.filter((plan) => {
    for (let at = plan.path; at !== ""; at = parentOf(at)) {
      const blocker = blockedAt(at);
      if (!blocker) continue;
      const { type } = blocker;
      at = blocker.path;
      const what = type === "link" ? "a link" : "a special file";
      failures.record(
        plan.path,
        new FtpPathError(
          at,
          type === "link" ? "link" : "special",
          `refusing to write through ${JSON.stringify(at)}: it is ${what} in the target`,
        ),
      );
      return false;
    }
    return true;
  });
}

/**
 * Leaves out (as failures) the directories to make whose parent, or a
 * directory above it, is a link or a special file in the target, in any
 * spelling the server may open as it (see refuseLinked): MKD would make
 * it where the link points, outside the target.
 */
function refuseLinkedDirs(dirs: string[], target: Tree, failures: Failures): string[] {
  const blockedAt = blockerLookup(target, true);
  return dirs.filter((dir) => {
    for (let at = parentOf(dir); at !== ""; at = parentOf(at)) {
      const blocker = blockedAt(at);
      if (!blocker) continue;
      const { type } = blocker;
      at = blocker.path;
      failures.record(
        dir,
        new FtpPathError(
          at,
          type === "link" ? "link" : "special",
          `refusing to make ${JSON.stringify(dir)} through ${JSON.stringify(at)}: it is ${type === "link" ? "a link" : "a special file"} in the target`,
        ),
      );
      return false;
    }
    return true;
  });
}

/**
 * The link or special file of `target` a write at a path goes through:
 * the one at that path, else (with `spellings`) one whose path folds as
 * it does (folded), as a server folding letter case or trimming names
 * opens it. Its path and type, or undefined.
 */
function blockerLookup(target: Tree, spellings: boolean): (path: string) => { path: string; type: "link" | "other" } | undefined {
  const byFolded = new Map<string, { path: string; type: "link" | "other" }>();
  if (spellings)
    for (const [path, node] of target.nodes)
      if (node.type === "link" || node.type === "other") byFolded.set(folded(path), { path, type: node.type });
  return (path) => {
    const type = target.nodes.get(path)?.type;
    if (type === "link" || type === "other") return { path, type };
    return byFolded.size === 0 ? undefined : byFolded.get(folded(path));
  };
}

/**
 * Leaves out (as failures, FtpLimitError) the plans whose listed size is
 * above `maxFileSize` (DirTransferOptions): such a file is not fetched at
 * all. Its local copy stays as it was, and `delete` spares it, as it
 * spares every file of the source.
 */
function refuseTooLarge(plans: Plan[], maxFileSize: number | undefined, failures: Failures): Plan[] {
  if (maxFileSize === undefined) return plans;
  return plans.filter((plan) => {
    if (plan.listed === null || plan.listed <= maxFileSize) return true;
    failures.record(
      plan.path,
      new FtpLimitError(
        "maxFileSize",
        maxFileSize,
        `${JSON.stringify(plan.path)} is listed at ${plan.listed} bytes, more than maxFileSize (${maxFileSize}): not downloaded`,
      ),
    );
    return false;
  });
}

/**
 * The directories of `source` that `target` lacks, parents first: those
 * `filter` took in, and a walk-only one (Node.walkOnly) only above one of
 * those or above a file of `plans`.
 */
function missingDirs(source: Tree, target: Tree, plans: readonly Plan[]): string[] {
  const wanted = new Set<string>();
  const want = (path: string): void => {
    for (let at = path; at !== "" && !wanted.has(at); at = parentOf(at)) wanted.add(at);
  };
  for (const [path, node] of source.nodes) if (node.type === "dir" && !node.walkOnly) want(path);
  for (const plan of plans) want(parentOf(plan.path));
  return [...source.nodes]
    .filter(([path, node]) => node.type === "dir" && wanted.has(path) && target.nodes.get(path)?.type !== "dir")
    .map(([path]) => path)
    .sort((a, b) => a.split("/").length - b.split("/").length);
}

/** Throws FtpLimitError (maxEntries) if `tree` holds as many entries, in it, left out or refused, as it may. */
function assertRoomFor(tree: Tree): void {
  if (tree.nodes.size + tree.excluded.size + tree.refused >= tree.maxEntries) throw treeLimit(tree.maxEntries);
}

/**
 * An entry of `dir` in `tree` is refused (Tree.refused): counted, or
 * FtpLimitError past maxEntries, and `dir` is no longer fully known.
 */
function refuseEntry(tree: Tree, dir: string): void {
  assertRoomFor(tree);
  tree.refused++;
  tree.incomplete.add(dir);
}

/**
 * Adds an entry to `tree`, or to what it left out: a source's part file
 * (isLeftPart), or what `filter` says no to; true if it is in.
 */
function admit(tree: Tree, filter: DirTransferOptions["filter"], path: string, node: Node): boolean {
  assertRoomFor(tree);
  if (tree.parts && isLeftPart(path.slice(path.lastIndexOf("/") + 1), node.type)) {
    tree.excluded.add(path);
    tree.parts.add(path);
    return false;
  }
  const taken =
    (node.type === "file" || node.type === "dir") && filter
      ? filter({ path, type: node.type, size: node.size, modified: node.modified })
      : true;
  if (!taken) {
    tree.excluded.add(path);
    return false;
  }
  if (taken === "walk" && node.type === "dir") node.walkOnly = true;
  tree.nodes.set(path, node);
  return true;
}

/**
 * Whether a source entry is a part file of a transfer (ours, killed or
 * still running on another host), never a file of the tree: named as one
 * (`.<name>.ftpstream-part`) and not a directory, which no transfer makes.
 * Taken for a file, it would be sent as one (a stale half of `<name>`
 * under a hidden name), and the part name it holds would fail `<name>`
 * on every run: its transfer goes through that very name.
 */
function isLeftPart(name: string, type: Node["type"]): boolean {
  return type !== "dir" && partOwner(name) !== undefined;
}

/**
 * Whether `filter` leaves out an entry that no string names on the local
 * side (`error` says which, its path the name with each such byte escaped
 * as text-codec.ts escapes a remote one's: the key `filter` is shown, the
 * same on both sides, and never another name's). Left out, it is not a
 * failure now, but its directory (`dir`) is still not fully known: what
 * a string names there may be it (see refuseUnnamed).
 */
function leftOutUnnamed(tree: Tree, filter: DirTransferOptions["filter"], dir: string, error: FtpPathError, entry: TreeEntry): boolean {
  if (!filter || filter(entry)) return false;
  assertRoomFor(tree);
  tree.excluded.add(entry.path);
  const errors = tree.unnamed.get(dir) ?? [];
  errors.push(error);
  tree.unnamed.set(dir, errors);
  return true;
}

function childPath(parent: string, name: string): string {
  return parent === "" ? name : `${parent}/${name}`;
}

/** Local walks run this many directory reads at once. */
const LOCAL_WALK_CONCURRENCY = 8;

/**
 * Walks a local tree with lstat: links are entries, never followed. A
 * missing root is an empty tree on the target side (a download's); other
 * errors at the root reject, below it they are failures. A source leaves
 * out its part files (see admit).
 * Names are read as bytes: one that no string names (not UTF-8, see
 * local-names.ts) is a failure, as is a second name reading as the same
 * string, and its directory is not fully known.
 */
async function walkLocal(
  root: string,
  filter: DirTransferOptions["filter"],
  failures: Failures,
  side: "source" | "target",
  maxEntries: number | undefined,
): Promise<Tree> {
  const tree = emptyTree(side, maxEntries);
  // Node hands a name to the disk as it is; Windows drops a segment's trailing dots and spaces.
  tree.opensAsSpelled = process.platform !== "win32";
  await runAll([""], LOCAL_WALK_CONCURRENCY, async (dir, add) => {
    let names: Buffer[];
    try {
      // The root's identity before its read: a root removed or replaced by the time anything is deleted is told by it.
      if (dir === "") {
        const info = await stat(root);
        tree.local = { root, walked: { dev: info.dev, ino: info.ino } };
      }
      names = await readdir(join(root, dir), { encoding: "buffer" });
      // Read through what lstat found: a directory swapped for a link meanwhile was read where the link points.
      if (dir !== "") assertSameDir(await lstat(join(root, dir)), tree.nodes.get(dir)?.walked, dir);
    } catch (error) {
      if (dir !== "") {
        tree.incomplete.add(dir);
        failures.record(dir, error);
      } else if (side === "source" || (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return;
    }
    // Names read so far: two that read as one string could not both be reached by it.
    const named = new Set<string>();
    for (const bytes of names) {
      // Its string would reach another file or none: nothing here may be deleted, nor sent under it.
      const name = localName(bytes);
      if (name === undefined) {
        const error = undecodableLocalName(dir, bytes);
        // Only its bytes name it: lstat is given them, for `filter` to see it.
        const info = filter ? await lstat(Buffer.concat([Buffer.from(join(root, dir) + sep), bytes])).catch(() => undefined) : undefined;
        const type = info?.isDirectory() ? "dir" : info?.isFile() ? "file" : undefined;
        if (
          type &&
          leftOutUnnamed(tree, filter, dir, error, {
            path: error.path,
            type,
            size: type === "file" ? info!.size : null,
            modified: localTime(info!),
          })
        )
          continue;
        refuseEntry(tree, dir);
        failures.record(error.path, error);
        continue;
      }
      const path = childPath(dir, name);
      // A name with a `\` is one segment here and two on a Windows server.
      const reason = unsafeNameReason(name);
      if (reason) {
        refuseEntry(tree, dir);
        failures.record(path, unsafeNameError(dir, name, reason));
        continue;
      }
      // As the remote walk takes a name listed twice: the first stands (with localName, the one the string reaches).
      if (named.has(name)) {
        refuseEntry(tree, dir);
        failures.record(path, localNameTwice(dir, join(root, dir), name));
        continue;
      }
      named.add(name);
      let node: Node | undefined;
      const read = await failures.guard(path, async () => {
        const info = await lstat(join(root, path));
        // Sockets, FIFOs and devices are not files to copy, nor to delete.
        const type = info.isSymbolicLink() ? "link" : info.isDirectory() ? "dir" : info.isFile() ? "file" : "other";
        node = { type, size: type === "file" ? info.size : null, modified: localTime(info), walked: { dev: info.dev, ino: info.ino } };
      });
      if (!read || !node) {
        refuseEntry(tree, dir);
        continue;
      }
      if (admit(tree, filter, path, node) && node.type === "dir") add(path);
    }
  });
  return tree;
}

/**
 * Throws FtpSourceChangedError (`"replaced"`) unless `info` (an lstat of a
 * local directory after its read) is the directory the walk found there:
 * one replaced by a link between its lstat and its readdir was read where
 * the link points, outside the tree.
 */
function assertSameDir(info: Stats, walked: WalkedFile | undefined, dir: string): void {
  if (info.isDirectory() && walked && info.dev === walked.dev && info.ino === walked.ino) return;
  throw new FtpSourceChangedError(
    dir,
    "replaced",
    `${JSON.stringify(dir)} is not the directory the walk found (${info.isSymbolicLink() ? "a link" : "something else"} is there now): its listing is not used`,
  );
}

/**
 * Which remote files' times a walk asks in one burst per directory, right
 * after its listing on the same connection (when the listing gives no time
 * to the second): those `wanted` says the comparison or the download will
 * need.
 */
interface BurstTimes {
  times: RemoteTimes;
  wanted: (path: string, size: number | null) => boolean;
  /**
   * Names of the files a directory (below the root) is expected to hold:
   * their MDTMs are written ahead of its listing, in the same write
   * (ListOptions.before), so an unchanged directory costs one round trip
   * less. The target's files of that directory, on a download.
   */
  expected?: (dir: string) => readonly string[];
}

/**
 * Walks a remote tree, listing directories at once on the workers'
 * clients. A root that is not there (550, or 450 from some LISTs) is an
 * empty tree on the target side (an upload's); on the source side it
 * rejects, as does a source root listed as empty that is no directory
 * (readProven: vsftpd lists a missing path as empty). A source leaves out
 * its part files (see admit). With
 * `localNames` (the source of a download), a name that cannot be a local
 * file name (isLocalName) is a failure and its directory not fully known.
 */
async function walkRemote(
  workers: TreeWorkers,
  root: string,
  filter: DirTransferOptions["filter"],
  failures: Failures,
  side: "source" | "target",
  options: DirTransferOptions,
  burst?: BurstTimes,
  onEntry?: (path: string, node: Node) => void,
  localNames = false,
): Promise<Tree> {
  const tree = emptyTree(side, options.maxEntries);
  const missingIsEmpty = side === "target";
  // The directories entered, by their MLSD unique fact: one listed under a value already entered is not entered again.
  const entered = new EnteredDirs();
  // Whether the root's listing showed the directory itself: then every listing must.
  let rootSelfShown = false;
  const commandWithEpsv = options.pipelining !== false;
  const writeAhead = commandWithEpsv && workers.writeAhead === true;
  await runAll([""], workers.concurrency, async (dir, add) => {
    const full = dir === "" ? root : joinRemote(root, dir);
    let entries: ListEntry[];
    const unreadable = new UnreadableLines();
    let selfShown = false;
    // The directory's own unique fact (its type=cdir line's, or for the root its MLST's).
    let selfUnique: string | undefined;
    let byMlsd = false;
    // Times asked with the listing or in the burst after it, by name.
    let burstTimes: Map<string, Date> | undefined;
    // Of its entries MLSD gave as directories, those its LIST does not show as such (see dirsListedOtherwise).
    let notDirs = new Map<string, "link" | "unknown">();
    try {
      entries = await runWritingAhead(workers, writeAhead, async (client) => {
        // Every client of a tree has the one server and options: the first one's rule stands for all.
        if (!tree.refusesIac) {
          const refuses = (path: string): boolean => client[REFUSES_IAC]?.(path) === true;
          tree.refusesIac = refuses;
        }
        // Per attempt: a listing run once more (its first dropped) asks its times again, keeping none of the first's.
        const { before, known } = timesAhead(burst, dir, full, tree.refusesIac);
        const out: ListEntry[] = [];
        let mlsd = false;
        const onListed = (info: { selfShown: boolean; mlsd: boolean; selfUnique?: string }): void => {
          selfShown = info.selfShown;
          mlsd = info.mlsd;
          selfUnique = info.selfUnique;
        };
        const listing = { onUnreadable: unreadable.add, onListed, commandWithEpsv, before, writeAhead, maxNonEntryLines: tree.maxEntries };
        for await (const entry of client.list(full, listing)) {
          if (out.length >= tree.maxEntries) throw treeLimit(tree.maxEntries);
          out.push(entry);
        }
        const proven = selfShown || (dir !== "" && rootSelfShown);
        // Without delete, only a source root listed as empty is checked: vsftpd (3.0.3) answers LIST and NLST
        // of a missing path with an empty 226, and a download of a root that is not there resolved as one of
        // an empty directory. readProven rejects what is no directory; one the user may enter is taken.
        const checked = options.delete ? seemsUnread(full, out) : dir === "" && out.length === 0;
        if (!proven && !missingIsEmpty && checked) {
          // Nothing proves the directory was read: an empty 226 is also what
          // vsftpd, proftpd and pure-ftpd send for a missing path or a
          // directory the user may enter but not read (mode 0111), and a
          // server that shows no "." cannot be held to showing one.
          if (!(await readProven(client, full, mlsd)) && options.delete) {
            if (out.length === 0)
              tree.unproven.set(
                dir,
                unproven(full, "it was listed as empty (also the answer for a directory the user may enter but not read)"),
              );
            // A file named as the directory is in it; a directory (or link) so named may be the directory itself, and acting on it would write what is not there.
            else if (out[0].type !== "file")
              throw unproven(full, "it was listed as one entry named as itself (vsftpd's listing of a directory it may not read)");
          }
        }
        // A LIST path some servers split and expand as ls arguments may have listed another directory.
        if (!mlsd && listMayNameOther(full) && !tree.unproven.has(dir)) tree.unproven.set(dir, listedAsPattern(full));
        // pyftpdlib shows no type=cdir line: the root's value, which a link back to it has, comes from MLST.
        if (dir === "" && mlsd && selfUnique === undefined && out.some((entry) => entry.unique !== undefined)) {
          selfUnique = await mlstUnique(client, full);
        }
        if (burst) {
          const sendable = (name: string): boolean => !tree.refusesIac?.(joinRemote(full, name));
          burstTimes = await askTimes(
            client,
            burst,
            dir,
            out.filter((entry) => sendable(entry.name)),
            filter,
            known,
            tree.parts !== undefined,
          );
        }
        if (side === "source" && mlsd && !selfShown && !tree.linksShown)
          notDirs = await dirsListedOtherwise(client, full, out, tree.maxEntries);
        byMlsd = mlsd;
        return out;
      });
    } catch (error) {
      if (error instanceof FtpLimitError) throw error;
      const missing = error instanceof FtpError && (error.replyCode === 550 || error.replyCode === 450);
      if (dir !== "" || !missingIsEmpty || !missing) tree.incomplete.add(dir);
      if (dir !== "") failures.record(dir, error);
      else if (!missingIsEmpty || !missing) throw error;
      return;
    }
    const unread = unreadable.error(full);
    if (unread) {
      tree.incomplete.add(dir);
      failures.record(dir === "" ? "." : dir, unread);
    }
    if (dir === "") {
      rootSelfShown = selfShown;
      entered.enter("", selfUnique);
    } else if (rootSelfShown && !selfShown) {
      tree.incomplete.add(dir);
      // One failure per directory: when its lines could not be read, that was said already.
      if (!unread) failures.record(dir, notRead(full, "it does not show the directory itself, as the server's other listings do"));
      return;
    }
    if (byMlsd) {
      tree.mlsdListed.add(dir);
      if (!selfShown) tree.mlsdSelfHidden = true;
    }
    const named = new Set<string>();
    for (const entry of entries) {
      if (byMlsd && entry.type === "link") tree.linksShown = true;
      // A name that is not one segment would lead outside the tree (see walk()).
      const reason = unsafeNameReason(entry.name);
      if (reason) {
        refuseEntry(tree, dir);
        failures.record(childPath(dir, entry.name), unsafeNameError(dir, entry.name, reason));
        continue;
      }
      // Written as its bytes replaced by U+FFFD, it would land on another local file (or the same one as another name).
      if (localNames && !isLocalName(entry.name)) {
        const error = unwritableRemoteName(dir, entry.name);
        const type = entry.type === "file" || entry.type === "dir" ? entry.type : undefined;
        if (type && leftOutUnnamed(tree, filter, dir, error, { path: error.path, type, size: entry.size, modified: entry.modified }))
          continue;
        refuseEntry(tree, dir);
        failures.record(error.path, error);
        continue;
      }
      const path = childPath(dir, entry.name);
      // Listed twice, it is not known which entry it is; two downloads of it would share its part file.
      if (named.has(entry.name)) {
        refuseEntry(tree, dir);
        failures.record(
          path,
          new FtpListingError(full, [], 0, `the listing of ${JSON.stringify(full)} names ${JSON.stringify(entry.name)} more than once`),
        );
        continue;
      }
      named.add(entry.name);
      let type: Node["type"] = entry.type === "unknown" ? "other" : entry.type;
      const listedAs = type === "dir" ? notDirs.get(entry.name) : undefined;
      if (listedAs === "link") type = "link";
      // Listed under the unique fact of a directory entered already: that directory again, through a link.
      const other = type === "dir" && !listedAs ? entered.enter(path, entry.unique) : undefined;
      if (other !== undefined) {
        type = "link";
        // Not an ancestor (a loop): either of the two may be the link, and the one entered is no surer a directory than this one.
        if (other !== "" && !path.startsWith(`${other}/`)) tree.aliased.set(other, sameDirectory(full, other, entry.name));
      }
      const node: Node = { type, size: entry.size, modified: exactTime(entry.modified) ?? burstTimes?.get(entry.name) ?? null };
      if (!admit(tree, filter, path, node)) continue;
      // The real run's RETR (a download), DELE (an extra) or listing would be refused before it is sent: so is the plan's entry, in a dry run too.
      if (tree.refusesIac?.(joinRemote(full, entry.name))) {
        tree.nodes.delete(path);
        refuseEntry(tree, dir);
        (tree.iacRefused ??= new Set()).add(path);
        failures.record(path, telnetIacInPath(path));
        continue;
      }
      // Not entered, and not fully known: a failed listing's directory.
      if (listedAs === "unknown") {
        tree.incomplete.add(path);
        failures.record(path, notListedAsDir(full, entry.name));
      }
      if (type === "dir") assertTreeDepth(path);
      onEntry?.(path, node);
      if (type === "dir" && !listedAs) add(path);
    }
  });
  return tree;
}

/**
 * Of `entries`, the MLSD listing of `full` (one that showed neither the
 * directory itself nor a link as one, as pyftpdlib's), the directories
 * its LIST does not show as directories (notListedAsDirs): pyftpdlib's
 * MLSD gives a link to a directory `type=dir` and the `unique` of what it
 * points to, so a download entered a link out of the tree and fetched
 * what it points to (a tree of any size, or a loop to another's root).
 * One LIST, and only of a directory holding directories.
 */
async function dirsListedOtherwise(
  client: TreeClient,
  full: string,
  entries: readonly ListEntry[],
  maxEntries: number,
): Promise<Map<string, "link" | "unknown">> {
  if (entries.some((entry) => entry.type === "link")) return new Map();
  const names = entries.filter((entry) => entry.type === "dir" && !unsafeNameReason(entry.name)).map((entry) => entry.name);
  if (names.length === 0) return new Map();
  return notListedAsDirs((path, listing) => client.list(path, listing), full, names, maxEntries);
}

/** The error of `name` in `full`, a directory to MLSD and not to LIST (not shown, or not as one): it is not entered. */
function notListedAsDir(full: string, name: string): FtpListingError {
  return new FtpListingError(
    full,
    [],
    0,
    `MLSD lists ${JSON.stringify(joinRemote(full, name))} as a directory and the LIST of ${JSON.stringify(full)} does not: it is not entered`,
  );
}

/**
 * workers.run(task), and with `writeAhead` as a task whose first transfer
 * may be written ahead of its turn (shared: see TreeWorkers.run), run once
 * more when that transfer was dropped before it ran (onceMoreIfDropped).
 */
function runWritingAhead<T>(workers: TreeWorkers, writeAhead: boolean, task: (client: TreeClient) => Promise<T>): Promise<T> {
  if (!writeAhead) return workers.run(task);
  return onceMoreIfDropped(() => workers.run(task, { shared: true }));
}

/**
 * `attempt()`, and once more when it failed with FtpAheadDroppedError: a
 * transfer written ahead of its turn that never ran, the one in front of
 * it on its connection having been aborted; the next attempt gets
 * whichever client comes.
 */
function onceMoreIfDropped<T>(attempt: () => Promise<T>): Promise<T> {
  return attempt().catch((error: unknown) => {
    if (error instanceof FtpAheadDroppedError) return attempt();
    throw error;
  });
}

/**
 * The MDTMs to write ahead of the listing of `dir` (at `full`): those of
 * the files it is expected to hold, as many as fit in the listing's own
 * write (one segment; the others are asked after the listing), and where
 * their times go by name once answered.
 */
function timesAhead(
  burst: BurstTimes | undefined,
  dir: string,
  full: string,
  refusesIac: ((path: string) => boolean) | undefined,
): { before: ListOptions["before"]; known: Map<string, Date> } {
  const known = new Map<string, Date>();
  // A name the connection may not send (see telnet-iac-plan.ts) would have the listing refused with its MDTM: it is not asked.
  const wanted = burst?.times.asking ? (burst.expected?.(dir) ?? []).filter((name) => !refusesIac?.(joinRemote(full, name))) : [];
  const lines = wanted.map((name) => `MDTM ${joinRemote(full, name)}`);
  const count = linesFitting(lines, 48 + Buffer.byteLength(full));
  if (!burst || count === 0) return { before: undefined, known };
  const before = {
    lines: lines.slice(0, count),
    onReplies: (replies: Array<string | Error>) =>
      replies.forEach((reply, i) => {
        const time = burst.times.fromReply(reply);
        if (time) known.set(wanted[i], time);
      }),
  };
  return { before, known };
}

/**
 * The times of a listed directory's files that `burst` wants and the
 * listing gave only to the minute, asked in one burst; by name. A burst
 * that fails leaves them to be asked one by one later, where needed. Part
 * files a source leaves out (`leavesOutParts`) are neither asked nor filtered.
 */
async function askTimes(
  client: TreeClient,
  burst: BurstTimes,
  dir: string,
  entries: ListEntry[],
  filter: DirTransferOptions["filter"],
  known: Map<string, Date>,
  leavesOutParts: boolean,
): Promise<Map<string, Date>> {
  const found = new Map(known);
  const names = entries
    .filter((entry) => {
      if (entry.type !== "file" || exactTime(entry.modified) || found.has(entry.name) || unsafeNameReason(entry.name)) return false;
      if (leavesOutParts && isLeftPart(entry.name, entry.type)) return false;
      const path = childPath(dir, entry.name);
      if (filter && !filter({ path, type: "file", size: entry.size, modified: entry.modified })) return false;
      return burst.wanted(path, entry.size);
    })
    .map((entry) => entry.name);
  if (names.length === 0) return found;
  try {
    const times = await burst.times.many(
      client,
      names.map((name) => childPath(dir, name)),
    );
    names.forEach((name, i) => {
      const time = times[i];
      if (time) found.set(name, time);
    });
  } catch {
    // The connection failed mid-burst: the listing stands, the times are asked later.
  }
  return found;
}

/**
 * A listing that may be a server's answer for a path it did not read:
 * nothing, or one entry named as the path (vsftpd lists a directory it
 * may not read as that directory itself; LIST of a file lists the file).
 */
function seemsUnread(path: string, entries: ListEntry[]): boolean {
  const name = path.replace(/\/+$/, "").split("/").pop();
  return entries.length === 0 || (entries.length === 1 && entries[0].name === name);
}

/** MLST `type` facts that name a directory (RFC 3659 7.5.1). */
const DIRECTORY_TYPES: ReadonlySet<string> = new Set(["dir", "cdir", "pdir"]);

/**
 * Whether the server proves it read `path`, whose listing seemsUnread:
 * true when its MLST `perm` fact has `l` (it may be listed, RFC 3659
 * 7.5.5); false when it is a directory the user may enter and nothing
 * more is known. Throws notRead for what is not a directory, not there,
 * or whose `perm` lacks `l` (proftpd's `perm=e` for mode 0111). MLST is
 * asked only where the listing came from MLSD; else (or if MLST is not
 * implemented) isDirectory, a CWD there and back.
 */
async function readProven(client: TreeClient, path: string, mlsd: boolean): Promise<boolean> {
  if (mlsd) {
    const [reply] = await client.sendcmds([`MLST ${path}`]);
    if (typeof reply !== "string") {
      if (!(reply instanceof FtpError) || ![500, 502, 504].includes(reply.replyCode ?? 0)) {
        throw notRead(path, `its MLST was refused: ${reply.message}`);
      }
    } else {
      const facts = mlstFacts(reply);
      if (facts?.type !== undefined) {
        // cdir and pdir: proftpd's type for the working directory and its parent, MLST'd by their path.
        if (!DIRECTORY_TYPES.has(facts.type.toLowerCase())) throw notRead(path, `its MLST says it is not a directory (type=${facts.type})`);
        if (facts.perm === undefined) return false;
        if (facts.perm.includes("l")) return true;
        throw notRead(path, `its MLST says it may not be listed (perm=${facts.perm})`);
      }
    }
  }
  if (!(await client.isDirectory(path))) throw notRead(path, "the server lets no one enter it");
  return false;
}

/** The facts of an MLST reply's facts line (the one beginning with a space), or undefined without one. */
function mlstFacts(reply: string): Record<string, string> | undefined {
  const line = mlstFactsLine(reply);
  return line === undefined ? undefined : parseMlsdLine(line)[1];
}

/** The `unique` fact of MLST `path`, or undefined (none given, MLST refused or not implemented). */
async function mlstUnique(client: TreeClient, path: string): Promise<string | undefined> {
  const [reply] = await client.sendcmds([`MLST ${path}`]);
  return typeof reply === "string" ? mlstFacts(reply)?.unique || undefined : undefined;
}

/** The error of a directory `dir` (below the root) that `name` in `listed` was listed as, by its MLSD unique fact. */
function sameDirectory(listed: string, dir: string, name: string): FtpPathError {
  return new FtpPathError(
    dir,
    "link",
    `${JSON.stringify(joinRemote(listed, name))} is listed as a directory with the unique fact of ${JSON.stringify(dir)} (below the root): ` +
      `one of the two is a link the server lists as a directory, so nothing in or below ${JSON.stringify(dir)} is deleted`,
  );
}

function notRead(path: string, why: string): FtpListingError {
  return new FtpListingError(path, [], 0, `the listing of ${JSON.stringify(path)} was not a read of the directory: ${why}`);
}

/** The error of a listing that nothing proves was a read of `path` (readProven said false), `how` it looked. */
function unproven(path: string, how: string): FtpListingError {
  return new FtpListingError(
    path,
    [],
    0,
    `the listing of ${JSON.stringify(path)} may not be a read of the directory: ${how}, and nothing shows the server read it (no "." in it, no MLST perm fact with "l")`,
  );
}

/** The error of a directory listed with LIST whose path a server may read as another (listMayNameOther). */
function listedAsPattern(path: string): FtpListingError {
  return new FtpListingError(
    path,
    [],
    0,
    `the listing of ${JSON.stringify(path)} may not be of that directory: it came from LIST, and servers whose LIST runs ls ` +
      `(inetutils and netkit ftpd) split and expand its path as ls arguments (LIST /t/sub[1] lists /t/sub1, LIST "/t/x " lists /t/x)`,
  );
}

function linksOf(tree: Tree): string[] {
  return [...tree.nodes].filter(([, node]) => node.type === "link").map(([path]) => path);
}

/** The part files a source left out (DirTransferResult.parts), in path order: the walk's depends on which listing came first. */
function partsOf(tree: Tree): string[] {
  return [...(tree.parts ?? [])].sort();
}

/** A planned tree transfer's result before its first file: the files found unchanged, and what the source left out. */
function resultBefore(source: Tree, skipped: number): DirTransferResult {
  return { transferred: 0, skipped, bytes: 0, deleted: 0, links: linksOf(source), parts: partsOf(source), kept: [] };
}

/**
 * With `delete`, removes what the source lacks, deepest first, one at a
 * time: a directory only after its contents. Under `dryRun` it only counts
 * them. More of them than `maxDelete`, or any of them for a source that
 * listed nothing at all and no `maxDelete`: none is removed (nor
 * counted), and the root fails with FtpDeleteLimitError.
 */
async function deleteExtras(
  source: Tree,
  target: Tree,
  options: DirTransferOptions,
  remove: (path: string, type: Node["type"]) => Promise<void>,
  failures: Failures,
  result: DirTransferResult,
): Promise<void> {
  if (!options.delete) return;
  refuseDotNames(source, target, failures);
  refuseUnproven(source, target, failures);
  refuseUnnamed(source, target, failures);
  refuseAliased(source, target, failures);
  const doomed = extras(source, target).map((extra) => extra.path);
  await forgetVanishedDirs(source, doomed, failures);
  await forgetVanishedDirs(target, doomed, failures);
  result.kept = keptByDelete(source, target);
  // The whole plan is known here (both walks and every transfer are over): its size decides before anything goes.
  const planned = extras(source, target);
  const overLimit = overDeleteLimit(
    planned.map((extra) => ({ path: extra.path, type: deletedType(extra.type) })),
    options.maxDelete,
    listedNothing(source),
  );
  if (overLimit) return failures.record(".", overLimit);
  for (const extra of planned) {
    const removed = await failures.guard(extra.path, async () => {
      if (!options.dryRun) await remove(extra.path, extra.type);
    });
    if (!removed) continue;
    result.deleted++;
    options.onDelete?.(extra.path, deletedType(extra.type));
  }
}

/**
 * Whether the walk of a source found no entry at all: none taken, left
 * out (by `filter`, or as a part file), refused or unnamed. What an
 * unmounted mount point, or a remote directory listed by a server that
 * answers an unreadable one with an empty 226, looks like: see
 * overDeleteLimit.
 */
function listedNothing(source: Tree): boolean {
  return source.nodes.size === 0 && source.excluded.size === 0 && source.refused === 0 && source.unnamed.size === 0;
}

/** What onDelete and FtpDeleteLimitError call an entry delete removes: a directory, or a file. */
function deletedType(type: Node["type"]): "file" | "dir" {
  return type === "dir" ? "dir" : "file";
}

/**
 * Marks not fully known, and reports, each directory of a local tree that
 * the deletion of `doomed` (the paths of extras) relies on and that is
 * gone, or another directory, since it was walked: the removal of an
 * upload's source under way as it was walked (`rm -rf` empties each
 * directory before removing it: the walk read one as empty, or the root
 * as empty, and every remote file below would have been deleted as an
 * extra), or a download's target removed and made again by another job
 * (whose files of an extra's name would have been deleted). A directory
 * still being emptied when the deletion comes cannot be told from one
 * that is empty; one already gone can. Each one is checked once, parents
 * first; nothing below one that failed is checked again.
 */
async function forgetVanishedDirs(tree: Tree, doomed: string[], failures: Failures): Promise<void> {
  const local = tree.local;
  if (!local || doomed.length === 0) return;
  const dirs = new Set<string>();
  for (const path of doomed) {
    for (let at = parentOf(path); ; at = parentOf(at)) {
      // Only the tree's own directories: above an extra of the target, the source lacks some levels.
      if (at === "" || tree.nodes.get(at)?.type === "dir") dirs.add(at);
      if (at === "") break;
    }
  }
  const gone: string[] = [];
  for (const dir of [...dirs].sort((a, b) => a.split("/").length - b.split("/").length)) {
    if (gone.some((above) => above === "" || dir.startsWith(`${above}/`))) continue;
    const walked = dir === "" ? local.walked : tree.nodes.get(dir)?.walked;
    // The root as it was named (it may be a link the user gave); below it, never through a link.
    const info = await (dir === "" ? stat(local.root) : lstat(join(local.root, dir))).catch(() => undefined);
    if (info?.isDirectory() && walked && info.dev === walked.dev && info.ino === walked.ino) continue;
    gone.push(dir);
    // It and every directory walked below it: what they held is not known now.
    tree.incomplete.add(dir);
    for (const [path, node] of tree.nodes) if (node.type === "dir" && (dir === "" || path.startsWith(`${dir}/`))) tree.incomplete.add(path);
    const name = dir === "" ? local.root : dir;
    failures.record(
      dir === "" ? "." : dir,
      new FtpSourceChangedError(
        dir,
        "replaced",
        `${JSON.stringify(name)} is ${info ? "not the directory walked" : "gone"} since it was read: nothing is deleted for what it lacked`,
      ),
    );
  }
}

/**
 * Marks not fully known, and reports, each source directory whose listing
 * nothing proved a read of (Tree.unproven) where `delete` would remove
 * something below it. An empty listing of a directory the server lets the
 * user enter is also what vsftpd, proftpd and pure-ftpd send for one the
 * user may enter but not read (mode 0111): a directory that is really
 * empty is mirrored as empty only where the target has nothing below it
 * to lose, or where the server proves the read.
 */
function refuseUnproven(source: Tree, target: Tree, failures: Failures): void {
  if (source.unproven.size === 0) return;
  const doomed = extras(source, target);
  for (const [dir, error] of source.unproven) {
    if (!doomed.some((extra) => dir === "" || extra.path.startsWith(`${dir}/`))) continue;
    source.incomplete.add(dir);
    failures.record(dir === "" ? "." : dir, error);
  }
}

/**
 * Which remote target directories their parent's LIST does not show as
 * directories, though its MLSD did (notListedAsDirs): pyftpdlib's MLSD
 * gives a link to a directory `type=dir`, and what an upload wrote or
 * deleted below it was outside the tree. Asked only of a server like it:
 * where the tree's MLSD showed no link as one and left out the directory
 * itself (`type=cdir`). proftpd and pure-ftpd, whose MLSD shows both (and
 * whose LIST reads its path as a pattern), are taken at their word. One
 * LIST per parent, once per call.
 */
class ListedDirs {
  private readonly asked = new Map<string, Map<string, "link" | "unknown">>();

  constructor(
    private readonly target: Tree,
    private readonly workers: TreeWorkers,
    private readonly remote: string,
  ) {}

  /**
   * Of the directories above each of `paths` (below the root), those
   * MLSD gave and LIST does not show as directories, each with what LIST
   * shows (`"link"`, or `"unknown"`) and the error to record for it, `what`
   * saying what was refused.
   */
  async notDirsAbove(paths: Iterable<string>, what: string): Promise<Map<string, FtpError>> {
    const found = new Map<string, FtpError>();
    if (this.target.linksShown || !this.target.mlsdSelfHidden) return found;
    const byParent = new Map<string, Set<string>>();
    for (const path of paths) {
      for (let at = parentOf(path); at !== ""; at = parentOf(at)) {
        const parent = parentOf(at);
        if (this.target.nodes.get(at)?.type !== "dir" || !this.target.mlsdListed.has(parent)) continue;
        const names = byParent.get(parent) ?? new Set<string>();
        names.add(at.slice(at.lastIndexOf("/") + 1));
        byParent.set(parent, names);
      }
    }
    for (const [parent, names] of byParent) {
      const full = parent === "" ? this.remote : joinRemote(this.remote, parent);
      let not = this.asked.get(parent);
      const unasked = [...names].filter((name) => !not?.has(name) && !this.shown.has(childPath(parent, name)));
      if (unasked.length > 0) {
        const more = await this.workers.run((client) =>
          notListedAsDirs((path, listing) => client.list(path, listing), full, unasked, this.target.maxEntries),
        );
        for (const name of unasked) if (!more.has(name)) this.shown.add(childPath(parent, name));
        not = new Map([...(not ?? []), ...more]);
        this.asked.set(parent, not);
      }
      for (const [name, shown] of not ?? []) {
        if (!names.has(name)) continue;
        const path = joinRemote(full, name);
        found.set(
          childPath(parent, name),
          shown === "link"
            ? new FtpPathError(
                childPath(parent, name),
                "link",
                `${JSON.stringify(path)} is a link (LIST shows it so) that MLSD lists as a directory: ${what}`,
              )
            : new FtpListingError(
                full,
                [],
                0,
                `MLSD lists ${JSON.stringify(path)} as a directory and the LIST of ${JSON.stringify(full)} does not: ${what}`,
              ),
        );
      }
    }
    return found;
  }

  /** Directories their parent's LIST showed as directories. */
  private readonly shown = new Set<string>();
}

/**
 * Leaves out (as failures) the files (or directories to make) of an
 * upload, `pathOf` each, whose remote path lies below a directory that
 * MLSD gives and LIST does not show as one (see ListedDirs): a link,
 * whose STOR (or MKD) would land where it points.
 */
async function refuseUnlistedWrites<T>(items: T[], pathOf: (item: T) => string, listed: ListedDirs, failures: Failures): Promise<T[]> {
  const not = await listed.notDirsAbove(items.map(pathOf), "nothing is written through it");
  if (not.size === 0) return items;
  return items.filter((item) => {
    for (let at = parentOf(pathOf(item)); at !== ""; at = parentOf(at)) {
      const error = not.get(at);
      if (!error) continue;
      failures.record(pathOf(item), error);
      return false;
    }
    return true;
  });
}

/**
 * Of the remote target directories that `delete` would remove, or remove
 * something below, and that MLSD gives and LIST does not show as a
 * directory (see ListedDirs): each LIST shows as a link is a link of the
 * target (DirTransferResult.kept, never removed), as on a server whose
 * MLSD shows it as one, and what seemed below it is no part of the tree;
 * each other is marked not fully known, with every directory below it,
 * and reported.
 */
async function refuseUnlistedDirs(source: Tree, target: Tree, listed: ListedDirs, failures: Failures): Promise<void> {
  const not = await listed.notDirsAbove(
    // A directory to remove is asked of itself ("dir/" is below it): an RMD of a link to an empty directory.
    extras(source, target).map((extra) => (extra.type === "dir" ? `${extra.path}/` : extra.path)),
    "nothing is deleted through it",
  );
  for (const [dir, error] of not) {
    if (error instanceof FtpPathError && error.reason === "link") {
      target.nodes.set(dir, { ...target.nodes.get(dir)!, type: "link" });
      for (const path of [...target.nodes.keys()]) if (path.startsWith(`${dir}/`)) target.nodes.delete(path);
      continue;
    }
    target.incomplete.add(dir);
    for (const [path, node] of target.nodes) if (node.type === "dir" && path.startsWith(`${dir}/`)) target.incomplete.add(path);
    failures.record(dir, error);
  }
}

/**
 * Marks not fully known, with every directory below it, and reports, each
 * target directory that another was listed as (Tree.aliased: the same
 * MLSD unique fact) where `delete` would remove something in or below it:
 * either of the two may be a link the server lists as a directory, and a
 * file removed through it is the other's, perhaps outside the tree.
 */
function refuseAliased(source: Tree, target: Tree, failures: Failures): void {
  if (target.aliased.size === 0) return;
  const doomed = extras(source, target);
  for (const [dir, error] of target.aliased) {
    if (!doomed.some((extra) => extra.path.startsWith(`${dir}/`))) continue;
    target.incomplete.add(dir);
    for (const [path, node] of target.nodes) if (node.type === "dir" && path.startsWith(`${dir}/`)) target.incomplete.add(path);
    failures.record(dir, error);
  }
}

/**
 * Marks not fully known, and reports, each directory holding an entry
 * that no string names on the local side and that `filter` left out
 * (Tree.unnamed), where that spares something `delete` would remove
 * were the directory fully known. Left out, such a name is no failure
 * on a run that deletes nothing there; but what a string names in its
 * directory may be it (a remote `café.txt` listed in Latin-1 is the
 * local `caf\xe9.txt`), so nothing there is deleted, as when it is not
 * left out, and the run says why.
 */
function refuseUnnamed(source: Tree, target: Tree, failures: Failures): void {
  if (source.unnamed.size === 0 && target.unnamed.size === 0) return;
  const doomed = extras(source, target).map((extra) => extra.path);
  // The directory whose being fully known each deletion relies on (see knownAbsent and extras).
  const onSource = new Set(doomed.map((path) => shallowestNotDir(source, path)).map(parentOf));
  const onTarget = new Set(doomed.map(parentOf));
  for (const [tree, relied] of [
    [source, onSource],
    [target, onTarget],
  ] as const) {
    for (const [dir, errors] of tree.unnamed) {
      if (!relied.has(dir)) continue;
      tree.incomplete.add(dir);
      for (const error of errors) {
        const where = dir === "" ? "the root" : JSON.stringify(dir);
        failures.record(
          error.path,
          new FtpPathError(error.path, "undecodable", `${error.message}; left out by filter, but nothing in ${where} is deleted for it`),
        );
      }
    }
  }
}

/** The shallowest level of `path` that `tree` has not as a directory (`path` itself at most). */
function shallowestNotDir(tree: Tree, path: string): string {
  const levels: string[] = [];
  for (let at = path; at !== ""; at = parentOf(at)) levels.unshift(at);
  return levels.find((level) => tree.nodes.get(level)?.type !== "dir") ?? path;
}

/** Transfers each plan through `move` (resolving to its bytes) on the workers, counting and reporting. */
async function transferAll(
  plans: Plan[],
  workers: TreeWorkers,
  move: (plan: Plan, progress: Progress) => Promise<number>,
  options: DirTransferOptions,
  failures: Failures,
  result: DirTransferResult,
): Promise<void> {
  const progress = new Progress(
    options.onProgress,
    plans.length,
    plans.reduce((sum, plan) => sum + plan.size, 0),
  );
  await runAll(plans, workers.concurrency, (plan) => transferOne(plan, move, options, failures, result, progress));
}

/** Transfers one plan through `move`, counting it in `result` (or its failure in `failures`) and reporting it. */
async function transferOne(
  plan: Plan,
  move: (plan: Plan, progress: Progress) => Promise<number>,
  options: DirTransferOptions,
  failures: Failures,
  result: DirTransferResult,
  progress: Progress,
): Promise<void> {
  let moved = 0;
  const ok = await failures.guard(plan.path, async () => {
    moved = options.dryRun ? plan.size : await move(plan, progress);
  });
  if (ok) {
    result.transferred++;
    result.bytes += moved;
  }
  progress.done(plan.path, moved);
}

/**
 * Runs work on items as they are added, at most `limit` at once, until
 * close() and the last is done. A rejected piece of work (an abort: the
 * failures of single files are recorded, not thrown) starts no more, and
 * `done` rejects with it once the running ones have settled.
 */
class WorkFeed<T> {
  private readonly queue: T[] = [];
  private running = 0;
  private closed = false;
  private failure: { error: Error } | undefined;
  private settled = false;
  private settle!: (error?: Error) => void;
  readonly done: Promise<void>;

  constructor(
    private readonly limit: number,
    private readonly work: (item: T) => Promise<void>,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => (error ? reject(error) : resolve());
      this.settle = settle;
    });
    // Awaited by the caller once the walk is over; a rejection before that is not unhandled.
    this.done.catch(() => undefined);
  }

  /** Queues `item`; also after close() from work still running (runAll's `add`), never once `done` settled or a piece failed. */
  add(item: T): void {
    if (this.failure || this.settled) return;
    this.queue.push(item);
    this.next();
  }

  /** No more items: `done` settles once the queued ones are. */
  close(): void {
    this.closed = true;
    this.next();
  }

  private next(): void {
    while (!this.failure && this.running < this.limit && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.running++;
      this.work(item)
        .catch((error: unknown) => {
          this.failure ??= { error: asError(error) };
        })
        .finally(() => {
          this.running--;
          this.next();
        });
    }
    if (this.running > 0 || this.settled) return;
    if (this.failure) this.settle(this.failure.error);
    else if (this.closed && this.queue.length === 0) this.settle();
    else return;
    this.settled = true;
  }
}

/** The result, or the error naming every failure if there was any. */
function settle(failures: Failures, result: DirTransferResult, what: string): DirTransferResult {
  if (failures.list.length > 0) throw new FtpDirTransferError(what, failures.list, result);
  return result;
}

/** Downloads one planned file into place below `local` through its part file; see downloadDir. */
function downloadFile(
  workers: TreeWorkers,
  remote: string,
  local: string,
  plan: Plan,
  progress: Progress,
  { times, sizes }: { times: RemoteTimes; sizes: RemoteSizes },
  { signal, pipelining = true, maxFileSize }: DirTransferOptions,
  trees: { inSource: (path: string) => boolean; target: Tree; writes: LocalWrites },
): Promise<number> {
  // A part file the source holds at the part name is left out of it (a left
  // part of an upload, see admit); a directory there is a path of the tree,
  // made where this download's part goes.
  if (trees.inSource(remotePartName(plan.path))) return Promise.reject(partNameTaken("download", plan.path));
  // A part a killed run left at its name is gone once this starts (unlinked, or renamed into place): not an extra to delete.
  trees.target.nodes.delete(remotePartName(plan.path));
  const writeAhead = pipelining && workers.writeAhead === true;
  // The client is given back before the local steps, for the next file to use meanwhile.
  const fetch = (): Promise<number> =>
    writeThroughPart(
      local,
      plan.path,
      (sink, discard) =>
        workers.run(
          async (client) => {
            let bytes = 0;
            const full = joinRemote(remote, plan.path);
            // The size the 150 announced (the stream checked the bytes against it), or null.
            let announced: number | null = null;
            const onProgress = (p: TransferProgress): void => {
              bytes = p.bytes;
              announced = p.total;
              progress.during(plan.path, p.bytes);
            };
            // Listed without a size: SIZE checks what a 150 without one leaves unchecked (see RemoteSizes).
            const sizeAsked = plan.listed === null && (await sizes.asking(client));
            // A time not known to the second, and such a size, are asked with the RETR, in its write: no round trip
            // of their own. SIZE in TYPE I, where it counts the bytes RETR sends (several servers refuse it in ASCII).
            const lines: string[] = [];
            // Where each reply comes among the replies to `lines` (-1: not asked).
            const sizeAt = sizeAsked && pipelining ? lines.push("TYPE I", `SIZE ${full}`) - 1 : -1;
            const timeAt = plan.modified === null && pipelining && times.asking ? lines.push(`MDTM ${full}`) - 1 : -1;
            let askedTime: string | Error | undefined;
            let askedSize: string | Error | undefined;
            const onReplies = (replies: Array<string | Error>): void => {
              if (sizeAt >= 0) askedSize = replies[sizeAt];
              if (timeAt >= 0) askedTime = replies[timeAt];
            };
            const before = lines.length > 0 ? { lines, onReplies } : undefined;
            // A failed file's part is removed before the client goes to the next file, which would otherwise be written while this one still held its blocks.
            const failed = async (error: unknown): Promise<never> => {
              await discard();
              throw error;
            };
            await client
              .retrbinary(`RETR ${full}`, sink, {
                signal,
                onProgress,
                commandWithEpsv: pipelining,
                before,
                writeAhead,
                maxFileSize,
              })
              .catch(failed);
            // The bytes against a size: the listing's, else (with no 150's, which the stream checked) SIZE's.
            const checkSize = async (): Promise<void> => {
              await checkListedSize(client, full, plan.listed, bytes);
              if (!sizeAsked || announced !== null) return;
              assertAskedSize(full, pipelining ? sizes.fromReply(askedSize) : await sizes.get(client, full), bytes);
            };
            await checkSize().catch(failed);
            // The listing's time, else MDTM's; with neither the file keeps its own (and is fetched again next time).
            const modified = plan.modified ?? (askedTime === undefined ? await times.get(client, plan.path) : times.fromReply(askedTime));
            return { bytes, modified };
          },
          { shared: writeAhead },
        ),
      trees.writes,
    );
  // Through a new part file: a dropped attempt's sink was destroyed with it.
  return onceMoreIfDropped(fetch);
}

/** See FTP.downloadDir. */
export async function downloadDir(
  workers: TreeWorkers,
  remote: string,
  local: string,
  options: DirTransferOptions = {},
): Promise<DirTransferResult> {
  assertSafeArgument(remote, "remote");
  assertNoClimb(remote, "to download");
  assertMaxFileSize(options.maxFileSize);
  assertMaxDelete(options.maxDelete);
  const { filter, signal } = options;
  signal?.throwIfAborted();
  const failures = new Failures(signal, options.onFailure);
  workers.warm?.();
  const times = new RemoteTimes(remote);
  // Every file's time is needed: to compare it, or to stamp its download.
  const burst = options.pipelining === false ? undefined : { times, wanted: () => true };
  if (burst && !options.dryRun && !options.onPlan) return streamDownload(workers, remote, local, options, failures, burst);
  const [source, target] = await Promise.all([
    walkRemote(workers, remote, filter, failures, "source", options, burst, undefined, true),
    walkLocal(local, filter, failures, "target", options.maxEntries),
  ]);
  const compared = await compare(source, target, workers, { side: "source", times }, failures);
  const transfer = refusePartTaken(
    refuseTooLarge(refuseLinked(compared.transfer, target, failures), options.maxFileSize, failures),
    source,
    "download",
    failures,
  );
  options.onPlan?.(transfer.map(planned));
  const result = resultBefore(source, compared.skipped);
  // Two names of the tree that are one local file (a disk folding letter case) are caught by inode.
  const writes = new LocalWrites(target.nodes, (path) => source.nodes.has(path));
  if (!options.dryRun) {
    await mkdir(local, { recursive: true });
    for (const dir of missingDirs(source, target, transfer)) await failures.guard(dir, () => makeRealDir(local, dir));
  }
  const sizes = new RemoteSizes();
  await transferAll(
    transfer,
    workers,
    (plan, progress) =>
      downloadFile(workers, remote, local, plan, progress, { times, sizes }, options, {
        inSource: (path) => source.nodes.has(path),
        target,
        writes,
      }),
    options,
    failures,
    result,
  );
  return finishDownload(source, target, remote, local, options, failures, result);
}

/**
 * downloadDir with transfers starting as soon as the first directory is
 * listed: the local tree is walked first (it is the quick one), then each
 * remote directory's files are compared as its listing (and its MDTM
 * burst) comes in, and those that differ start at once, beside the rest
 * of the walk, instead of after it. A local directory is made before any
 * file in it starts. Deletion waits, as always, for both trees in full.
 */
async function streamDownload(
  workers: TreeWorkers,
  remote: string,
  local: string,
  options: DirTransferOptions,
  failures: Failures,
  burst: BurstTimes,
): Promise<DirTransferResult> {
  const { filter, signal } = options;
  const target = await walkLocal(local, filter, failures, "target", options.maxEntries);
  const result: DirTransferResult = { transferred: 0, skipped: 0, bytes: 0, deleted: 0, links: [], parts: [], kept: [] };
  const progress = new Progress(options.onProgress, 0, 0, true);
  await mkdir(local, { recursive: true });
  // Each directory's making, by path below the root, for its files and subdirectories to wait on: started
  // at once as it is listed, or for a walk-only directory (Node.walkOnly) by the first that needs it.
  const made = new Map<string, () => Promise<unknown>>([["", () => Promise.resolve()]]);
  // The source's paths so far: a file's part name, beside it, is listed with it, before its download starts.
  const listed = new Set<string>();
  // Two names of the tree that are one local file (a disk folding letter case) are caught by inode.
  const writes = new LocalWrites(target.nodes, mayBeListed(listed));
  const sizes = new RemoteSizes();
  const move = (plan: Plan): Promise<number> =>
    downloadFile(workers, remote, local, plan, progress, { times: burst.times, sizes }, options, {
      inSource: (path) => listed.has(path),
      target,
      writes,
    });
  const feed = new WorkFeed<{ path: string; node: Node }>(workers.concurrency, async ({ path, node }) => {
    const other = target.nodes.get(path);
    const outcome = classify(path, node, other);
    const plan =
      outcome === "ask" ? await askRemote(path, node, other!, workers, { side: "source", times: burst.times }, failures) : outcome;
    if (plan === "skip") result.skipped++;
    if (plan === "skip" || plan === "failed") return;
    if (refuseTooLarge(refuseLinked([plan], target, failures), options.maxFileSize, failures).length === 0) return;
    // Its directory, made now if it is a walk-only one no file needed yet.
    await made.get(parentOf(path))?.();
    progress.add(plan.size);
    await transferOne(plan, move, options, failures, result, progress);
  });
  const onEntry = (path: string, node: Node): void => {
    listed.add(path);
    if (node.type === "dir") {
      const parent = made.get(parentOf(path)) ?? (() => Promise.resolve());
      const lacking = target.nodes.get(path)?.type !== "dir";
      let making: Promise<unknown> | undefined;
      const make = (): Promise<unknown> =>
        (making ??= lacking ? parent().then(() => failures.guard(path, () => makeRealDir(local, path))) : parent());
      made.set(path, make);
      // Awaited by what is below it; an abort's rejection with nothing below is not unhandled.
      if (!node.walkOnly) make().catch(() => undefined);
    } else if (node.type === "file") {
      feed.add({ path, node });
    }
  };
  let source: Tree;
  try {
    // An unchanged directory's times come back with its listing: the files the local tree has there.
    const localFiles = new Map<string, string[]>();
    for (const [path, node] of target.nodes) {
      // A left part's remote namesake is no file of the source: its time is never wanted.
      if (node.type !== "file" || isLeftPart(path.slice(path.lastIndexOf("/") + 1), node.type)) continue;
      const names = localFiles.get(parentOf(path)) ?? [];
      names.push(path.slice(path.lastIndexOf("/") + 1));
      localFiles.set(parentOf(path), names);
    }
    const expected = (dir: string): readonly string[] => localFiles.get(dir) ?? [];
    // After a listing, only the times a comparison needs (a local file of the same size): a file fetched asks its own with its RETR.
    const wanted = (path: string, size: number | null): boolean => {
      const other = target.nodes.get(path);
      return other?.type === "file" && other.size === size;
    };
    source = await walkRemote(workers, remote, filter, failures, "source", options, { ...burst, wanted, expected }, onEntry, true);
  } finally {
    // The files already started finish (or are aborted by the signal) before the call settles.
    feed.close();
    await feed.done.catch(() => undefined);
  }
  progress.listed();
  await feed.done;
  signal?.throwIfAborted();
  result.links = linksOf(source);
  result.parts = partsOf(source);
  return finishDownload(source, target, remote, local, options, failures, result);
}

/** A download's end, once every file is done: with `delete`, the local entries the source lacks go; then the result, or the error naming every failure. */
async function finishDownload(
  source: Tree,
  target: Tree,
  remote: string,
  local: string,
  options: DirTransferOptions,
  failures: Failures,
  result: DirTransferResult,
): Promise<DirTransferResult> {
  await deleteExtras(
    source,
    target,
    options,
    async (path, type) => {
      // Checked again at the deletion: a level swapped for a link since the walk would have it delete where the link points.
      await assertRealDirs(local, path);
      await (type === "dir" ? rmdir(join(local, path)) : rm(join(local, path)));
    },
    failures,
    result,
  );
  return settle(failures, result, `downloadDir of ${remote}`);
}

/** Whether a setLastMod failure means the server sets no times at all (not just not this file's). */
function setsNoTimes(error: unknown): boolean {
  return (
    error instanceof FtpError &&
    (error.code === "ERR_FTP_UNSUPPORTED" ||
      error.replyCode === null ||
      error.replyCode === 500 ||
      error.replyCode === 502 ||
      error.replyCode === 504)
  );
}

/**
 * Makes the directories an upload's target lacks, parents first: one MKD
 * each, or all of them in one burst (TreeClient.sendcmds: the server runs
 * them in order, so a parent exists before its children's MKD). Each
 * refusal is a failure against its directory.
 */
async function makeRemoteDirs(workers: TreeWorkers, remote: string, dirs: string[], burst: boolean, failures: Failures): Promise<void> {
  if (!burst || dirs.length < 2) {
    for (const dir of dirs)
      await failures.guard(dir, async () => void (await workers.run((client) => client.mkd(joinRemote(remote, dir)))));
    return;
  }
  let replies: Array<string | Error>;
  try {
    replies = await workers.run((client) => client.sendcmds(dirs.map((dir) => `MKD ${joinRemote(remote, dir)}`)));
  } catch (error) {
    for (const dir of dirs) failures.record(dir, error);
    return;
  }
  replies.forEach((reply, i) => {
    if (reply instanceof Error) failures.record(dirs[i], reply);
  });
}

/** Files uploaded this many times ago at most wait for their times to be set (in one burst). */
const STAMP_BURST = 32;

/**
 * Sets the uploaded files' times so the next run can tell them unchanged:
 * at once, file by file, or (`burst`) gathered and set STAMP_BURST at a
 * time with TreeClient.setLastMods, plus the rest at the end. The files
 * are up either way: a time not set only costs the next run that file
 * again. Once the server shows it sets no times, no more are asked.
 */
class RemoteStamps {
  private pending: Array<{ path: string; date: Date }> = [];
  private settable = true;

  constructor(private readonly burst: boolean) {}

  /** Whether times wait to be set (flush). */
  get waiting(): boolean {
    return this.settable && this.pending.length > 0;
  }

  async add(client: TreeClient, path: string, date: Date): Promise<void> {
    if (!this.settable) return;
    if (!this.burst) {
      await client.setLastMod(path, date).catch((error: unknown) => this.heed(error));
      return;
    }
    this.pending.push({ path, date });
    if (this.pending.length >= STAMP_BURST) await this.flush(client);
  }

  /** Sets the times gathered so far. */
  async flush(client: TreeClient): Promise<void> {
    const entries = this.pending;
    this.pending = [];
    if (!this.settable || entries.length === 0) return;
    const results = await client.setLastMods(entries).catch((error: unknown) => [error]);
    for (const result of results) this.heed(result);
  }

  private heed(error: unknown): void {
    if (error && setsNoTimes(error)) this.settable = false;
  }
}

/**
 * STORs an opened local file to `remotePath` (the target itself, or its
 * part name): the bytes count only when the file was read whole and
 * unchanged (assertReadWhole), else the file fails, neither stamped nor
 * put in place, and the next run sends it again.
 */
async function sendDirect(
  client: TreeClient,
  file: OpenedFile,
  path: string,
  remotePath: string,
  progress: Progress,
  { signal, pipelining }: { signal: AbortSignal | undefined; pipelining: boolean },
): Promise<number> {
  const stream = client.storbinary(`STOR ${remotePath}`, { signal, commandWithEpsv: pipelining });
  stream.on("progress", (p: TransferProgress) => progress.during(path, p.bytes));
  await pipeSettled(file.handle.createReadStream({ autoClose: false }), stream);
  await assertReadWhole(file, stream.bytes, path);
  return stream.bytes;
}

/**
 * STORs an opened local file to its part name beside `remotePath` and
 * renames the part over the target only once the 226 came, the file was
 * read whole and unchanged (assertReadWhole) and the part still holds the
 * bytes sent (uploadThroughPart, part-upload.ts): a failed, cut or torn
 * upload leaves the target as it was, and so does a second run writing the
 * same part at once. A server that refuses to rename over a file has the
 * target deleted first where the remote listing showed a file there
 * (`targetIsFile`).
 */
function sendThroughPart(
  client: TreeClient,
  file: OpenedFile,
  path: string,
  part: string,
  remotePath: string,
  progress: Progress,
  targetIsFile: boolean,
  sending: { signal: AbortSignal | undefined; pipelining: boolean },
): Promise<number> {
  return uploadThroughPart(client, {
    name: path,
    part,
    target: remotePath,
    send: () => sendDirect(client, file, path, part, progress, sending),
    targetIsFile: () => targetIsFile,
    pipelining: sending.pipelining,
  });
}

/**
 * The error of a file that cannot be transferred through its part name
 * (`.name.ftpstream-part` beside it): the source tree has a directory
 * there, a path of the tree (a part file there is left out of it, see
 * admit), which the part's write would go into, or replace.
 */
function partNameTaken(direction: "download" | "upload", path: string): FtpError {
  return new FtpError(
    `cannot ${direction} ${JSON.stringify(path)} through its part name: the tree has a directory of that name`,
    "ERR_FTP_PART_FILE",
  );
}

/**
 * Leaves out (as failures, partNameTaken) the plans whose part name the
 * source tree holds a directory at. Decided with the plan, so that a dry
 * run reports them failing as the real run does, instead of listing them
 * as would-be transfers; the streamed download, which plans as it lists,
 * checks it at each file (downloadFile) once the file's directory is listed.
 */
function refusePartTaken(plans: Plan[], source: Tree, direction: "download" | "upload", failures: Failures): Plan[] {
  return plans.filter((plan) => {
    if (!source.nodes.has(remotePartName(plan.path))) return true;
    failures.record(plan.path, partNameTaken(direction, plan.path));
    return false;
  });
}

/**
 * Leaves out (as failures) the uploads and directories whose remote path
 * cannot go in a command: a local name holding CR or LF (the STOR or MKD
 * is refused before it is sent, see assertSafeArgument), or whose bytes
 * hold 0xFF where the connection refuses to send it (`refusesIac`, the
 * remote tree's). Decided with the plan, so that a dry run reports them
 * failing as the real run does, instead of listing them as would-be
 * transfers.
 */
function refuseUnsendable<T>(items: T[], pathOf: (item: T) => string, remote: string, failures: Failures, target: Tree): T[] {
  return items.filter((item) => {
    try {
      const path = joinRemote(remote, pathOf(item));
      assertSafeArgument(path, "path");
      if (target.refusesIac?.(path)) {
        // Listed remotely as well: its walk recorded the failure already.
        if (target.iacRefused?.has(pathOf(item))) return false;
        throw telnetIacInPath(pathOf(item));
      }
      return true;
    } catch (error) {
      failures.record(pathOf(item), error);
      return false;
    }
  });
}

/** See FTP.uploadDir. */
export async function uploadDir(
  workers: TreeWorkers,
  local: string,
  remote: string,
  options: DirTransferOptions = {},
): Promise<DirTransferResult> {
  assertSafeArgument(remote, "remote");
  assertNoClimb(remote, "to upload to");
  assertMaxDelete(options.maxDelete);
  const { filter, signal } = options;
  signal?.throwIfAborted();
  const failures = new Failures(signal, options.onFailure);
  workers.warm?.();
  const source = await walkLocal(local, filter, failures, "source", options.maxEntries);
  if (!options.dryRun) await workers.run((client) => client.ensureDir(remote));
  const times = new RemoteTimes(remote);
  const pipelining = options.pipelining !== false;
  const partFiles = options.partFiles === true;
  // A remote file's time matters only where the sizes agree.
  const wanted = (path: string, size: number | null): boolean => {
    const node = source.nodes.get(path);
    return node?.type === "file" && node.size === size;
  };
  const target = await walkRemote(workers, remote, filter, failures, "target", options, pipelining ? { times, wanted } : undefined);
  const compared = await compare(source, target, workers, { side: "target", times }, failures);
  // A directory MLSD gives may be a link (pyftpdlib's MLSD): its parent's LIST tells, before anything is written or deleted below it.
  const listed = new ListedDirs(target, workers, remote);
  const sendable = refuseUnsendable(compared.transfer, (plan) => plan.path, remote, failures, target);
  const transfer = await refuseUnlistedWrites(
    refuseLinked(partFiles ? refusePartTaken(sendable, source, "upload", failures) : sendable, target, failures, true),
    (plan) => plan.path,
    listed,
    failures,
  );
  // Nor is a directory made through a link (MKD resolves the levels above it where they point).
  const dirs = await refuseUnlistedWrites(
    refuseLinkedDirs(
      refuseUnsendable(missingDirs(source, target, transfer), (dir) => dir, remote, failures, target),
      target,
      failures,
    ),
    (dir) => dir,
    listed,
    failures,
  );
  options.onPlan?.(transfer.map(planned));
  const result = resultBefore(source, compared.skipped);
  if (!options.dryRun) await makeRemoteDirs(workers, remote, dirs, pipelining, failures);
  const stamps = new RemoteStamps(pipelining);
  await transferAll(
    transfer,
    workers,
    (plan, progress) =>
      workers.run(async (client) => {
        const remotePath = joinRemote(remote, plan.path);
        const part = remotePartName(remotePath);
        // A directory at the part name is a path of the tree (a part file there is left out of it, see admit): the STOR would go into it.
        if (partFiles && source.nodes.has(remotePartName(plan.path))) throw partNameTaken("upload", plan.path);
        // Opened before the STOR: what is not the walked file any more is refused with nothing sent.
        const file = await openWalkedFile(local, plan.path, source.nodes.get(plan.path)!.walked!);
        // A part a killed run left there (another version) goes first: under `retry`, a STOR cut short
        // before the server truncated it (a server that opens the file once data comes) resumes from
        // what SIZE finds there, and would splice that version's bytes into this one's. Not deleted,
        // the STOR truncates it as before.
        if (partFiles && target.nodes.get(remotePartName(plan.path))?.type === "file") await client.delete(part).catch(() => undefined);
        try {
          const bytes = partFiles
            ? await sendThroughPart(client, file, plan.path, part, remotePath, progress, target.nodes.get(plan.path)?.type === "file", {
                signal,
                pipelining,
              })
            : await sendDirect(client, file, plan.path, remotePath, progress, { signal, pipelining });
          // Its time when opened: the bytes sent are of that version.
          await stamps.add(client, remotePath, new Date(Math.floor(file.opened.mtimeMs / 1000) * 1000));
          return bytes;
        } finally {
          await file.handle.close();
        }
      }),
    options,
    failures,
    result,
  );
  if (stamps.waiting) await workers.run((client) => stamps.flush(client));
  // A part a killed run left at a name this run sent through is gone (renamed or deleted): not an extra to delete.
  if (partFiles && !options.dryRun) for (const plan of transfer) target.nodes.delete(remotePartName(plan.path));
  if (options.delete) await refuseUnlistedDirs(source, target, listed, failures);
  await deleteExtras(
    source,
    target,
    options,
    async (path, type) => {
      const remotePath = joinRemote(remote, path);
      await workers.run((client) => (type === "dir" ? client.rmd(remotePath) : client.delete(remotePath)));
    },
    failures,
    result,
  );
  return settle(failures, result, `uploadDir to ${remote}`);
}
