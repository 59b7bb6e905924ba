/**
 * Structured listings of a remote directory: MLSD where the server has it,
 * else LIST parsed line by line; and walk(), a depth-first tree of them.
 */
import { FtpLimitError, FtpListingError, FtpPermError } from "./errors.js";
import { entryFromFacts, isListNoise, isMlsdEntryLine, ListEntry } from "./listing.js";
import { isSafeName } from "./path-safety.js";
import { assertBurstable, type BeforeCommands } from "./command-burst.js";
import { assertSafeArgument, parseMlsdLine } from "./protocol.js";
import { EnteredDirs } from "./tree-bounds.js";
import { listMayNameOther } from "./list-command.js";

/** The two listings a client can fetch. */
export interface ListingSource {
  /**
   * The lines of MLSD `path` ("" = the working directory), read by list()
   * (see isMlsdEntryLine). `commandWithEpsv` as ListOptions'; `takeBefore()`
   * gives the commands to write ahead of the first listing command sent
   * (once: a fallback LIST goes without them).
   */
  mlsdLines(path: string, transfer: ListTransfer): AsyncIterable<string>;
  /** The lines of LIST `path` ("" = the working directory); `transfer` as mlsd's. */
  listLines(path: string, transfer: ListTransfer): AsyncIterable<string>;
  /** Turns a LIST line into an entry (null: knowingly not an entry; undefined: not read). */
  parseLine(line: string): ListEntry | null | undefined;
  /**
   * Whether FEAT offers MLST (and so MLSD), reading FEAT first if it was
   * not read yet; undefined when FEAT names no features at all (a server
   * without FEAT may still have MLSD).
   */
  mlsdOffered(): Promise<boolean | undefined>;
}

/** How a listing's transfer goes: with its EPSV or not, and the commands to write ahead of it (taken once). */
export interface ListTransfer {
  commandWithEpsv: boolean | undefined;
  /** ListOptions.writeAhead. */
  writeAhead: boolean | undefined;
  takeBefore(): ListOptions["before"];
  /**
   * Told the final (2xx) reply's text of each listing command once its
   * lines are all in, and its last line when that had no line ending: such
   * a line is not passed on as a line (see LineSplitter.unterminatedLine).
   */
  ended: (reply: string, unterminated?: string) => void;
}

/** One entry found by walk(), with its full path. */
export interface WalkEntry {
  path: string;
  entry: ListEntry;
}

/** Options of list(). */
export interface ListOptions {
  /**
   * Called with each line of a LIST the parser could not read (and each
   * MLSD line without a name). Without it, list() yields what it could
   * read and then throws FtpListingError naming those lines: a line is
   * never dropped without a word, since what it names (a file to keep, a
   * directory to descend) is then unknown. Blank lines and `total N` are
   * not entries and are skipped either way.
   */
  onUnreadable?: (line: string) => void;
  /**
   * Called once the listing has ended, with whether it showed the
   * directory itself (`.` in a LIST, `type=cdir` in MLSD), and whether it
   * came from MLSD (then the server has MLST too). Servers that show the
   * directory itself for every directory they read (vsftpd, proftpd and
   * pure-ftpd with `LIST -a`; proftpd and pure-ftpd in MLSD) and then send
   * a listing without it did not read a directory: vsftpd answers LIST of
   * a directory it may not read with one line, that directory itself.
   * `selfUnique`: the `unique` fact of MLSD's `type=cdir` line, when given.
   */
  onListed?: (info: { selfShown: boolean; mlsd: boolean; selfUnique?: string }) => void;
  /** The listing's transfer command written with its EPSV (see TransferStreamOptions.commandWithEpsv). Default: the client's `pipelining`. */
  commandWithEpsv?: boolean;
  /**
   * Plain commands (as sendcmds takes them) written ahead of the listing's
   * own, in the same write when it goes out with its EPSV: e.g. the MDTMs
   * of the files the caller expects there, answered in the round trip the
   * listing costs anyway. `onReplies` gets each reply's text or FtpError,
   * in order, before the first entry. A refused MLSD's LIST fallback goes
   * without them.
   */
  before?: BeforeCommands;
  /** The listing may be written ahead of its turn (see TransferStreamOptions.writeAhead). Default false. */
  writeAhead?: boolean;
  /**
   * Most lines that are no entry the listing may hold: the directory itself
   * and its parent (`.`, `..`, MLSD's cdir and pdir), blank lines and
   * `total N`, lines that could not be read. Past it the listing is
   * aborted and list() throws FtpLimitError (`limit: "listingEntries"`).
   * Entries are bounded by what the caller keeps of them; a listing of
   * nothing but such lines holds nothing, and without a bound is read for
   * as long as the server sends it. walk() and the tree transfers set it
   * to their maxEntries. Default: no bound.
   */
  maxNonEntryLines?: number;
  /**
   * `"LIST"`: ask LIST (parsed) even where the server has MLSD. Its `l`
   * tells a link from a directory where some servers' MLSD does not:
   * pyftpdlib's gives a link to a directory `type=dir`. Default: MLSD where
   * the server has it, else LIST.
   */
  command?: "LIST";
}

/** Options of walk(). */
export interface WalkOptions {
  /** Levels to descend: 1 lists `path` alone. Default: all. */
  maxDepth?: number;
  /**
   * Called with each listing line that could not be read, or whose name is
   * not one path segment (`a/b`, `..\\x`, a NUL: it would name something
   * outside its directory), and the directory it came from. Without it,
   * walk() throws FtpListingError at the first directory holding one.
   */
  onUnreadable?: (line: string, dir: string) => void;
  /**
   * Most entries one directory may hold (walk() holds a directory's
   * listing while it yields it), and most lines that are no entry in its
   * listing (ListOptions.maxNonEntryLines): past either, FtpLimitError
   * (`limit: "listingEntries"`). Default 1,000,000.
   */
  maxEntries?: number;
}

/** Lines of an unreadable listing kept for its error (the rest are counted). */
const KEPT_UNREADABLE_LINES = 100;

/** Default most entries of one directory that walk() holds at once. */
export const DEFAULT_MAX_DIRECTORY_ENTRIES = 1_000_000;

/** Collects the lines a listing could not read, for one FtpListingError: the first 100 kept, all counted. */
export class UnreadableLines {
  readonly kept: string[] = [];
  total = 0;

  /** Takes one line; bound, so it can be given as `onUnreadable` itself. */
  readonly add = (line: string): void => {
    this.total++;
    if (this.kept.length < KEPT_UNREADABLE_LINES) this.kept.push(line);
  };

  /** The FtpListingError for `path`, or undefined when no line was added. */
  error(path: string): FtpListingError | undefined {
    return this.total > 0 ? new FtpListingError(path, this.kept, this.total) : undefined;
  }

  /** Throws FtpListingError for `path` if any line was added. */
  throwIfAny(path: string): void {
    const error = this.error(path);
    if (error) throw error;
  }
}

export class RemoteListing {
  /** The server answered MLSD with 500/502/504: list() uses LIST. */
  private mlsdMissing = false;

  constructor(private readonly source: ListingSource) {}

  /** See FTP.list. */
  async *list(path: string, options: ListOptions = {}): AsyncGenerator<ListEntry> {
    assertSafeArgument(path, "path");
    const unreadable = new UnreadableLines();
    const maxSkipped = options.maxNonEntryLines ?? Infinity;
    let skipped = 0;
    // Each line that is no entry: counted against maxNonEntryLines.
    const skip = (): void => {
      if (++skipped <= maxSkipped) return;
      throw new FtpLimitError(
        "listingEntries",
        maxSkipped,
        `the listing of ${JSON.stringify(path)} has more than ${maxSkipped} lines that are no entry`,
      );
    };
    const reportLine = options.onUnreadable ?? ((line: string) => unreadable.add(line));
    const report = (line: string): void => {
      skip();
      reportLine(line);
    };
    let selfShown = false;
    let selfUnique: string | undefined;
    let finalReply = "";
    let before = options.before;
    if (before) {
      for (const line of before.lines) assertSafeArgument(line);
      assertBurstable(before.lines);
    }
    const transfer: ListTransfer = {
      commandWithEpsv: options.commandWithEpsv,
      writeAhead: options.writeAhead,
      takeBefore: () => {
        const taken = before;
        before = undefined;
        return taken;
      },
      ended: (reply, unterminated) => {
        finalReply = reply;
        // Every server ends each line, the last one too: a last line without
        // its ending is a listing cut mid-line (the data connection closed
        // early, then 226), its name cut short and the names after it
        // missing. Not fully understood, so unreadable: never an entry.
        if (unterminated !== undefined) report(unterminated);
      },
    };
    // FEAT first: the client needs it anyway (MFMT, UTF8, EPSV), and on a
    // server without MLSD it saves the refused MLSD (and its EPSV) on every
    // new connection, a round trip or two on a long link.
    if (options.command !== "LIST" && !this.mlsdMissing && (await this.source.mlsdOffered()) !== false) {
      // A line came: the server has MLSD, and a 500 after it is a listing that failed, not one to ask LIST for instead.
      let lineCame = false;
      try {
        for await (const line of this.source.mlsdLines(path, transfer)) {
          lineCame = true;
          // Not facts up to its first space: its name would be another (a value with a space, a LIST line).
          if (!isMlsdEntryLine(line)) {
            report(line);
            continue;
          }
          const [name, facts] = parseMlsdLine(line);
          // Values are case-independent as the names are (RFC 3659's ABNF): `Type=CDIR; tmp` is the directory itself, not an entry `tmp`.
          const kind = facts.type?.toLowerCase();
          if (kind === "cdir" || name === ".") selfShown = true;
          if (kind === "cdir" && facts.unique) selfUnique = facts.unique;
          if (kind === "cdir" || kind === "pdir" || isSelfOrParent(name)) {
            skip();
            continue;
          }
          if (name === "") {
            report(line);
            continue;
          }
          yield entryFromFacts(name, facts);
        }
        unreadable.throwIfAny(path);
        refuseUnreadReply(path, finalReply);
        options.onListed?.(selfUnique === undefined ? { selfShown, mlsd: true } : { selfShown, mlsd: true, selfUnique });
        return;
      } catch (error) {
        // 500/502/504 before any line: the server has no MLSD; anything else is a real failure.
        // After a line, LIST would have been read with what MLSD's lines set: its
        // type=cdir line made an empty LIST (a directory the user may not read)
        // look like a read of the directory, and delete emptied its local copy.
        const missing = error instanceof FtpPermError && [500, 502, 504].includes(error.replyCode ?? 0);
        if (lineCame || !missing) throw error;
        this.mlsdMissing = true;
      }
    }
    for await (const line of this.source.listLines(path, transfer)) {
      const entry = this.source.parseLine(line);
      if (entry) {
        if (entry.name === ".") selfShown = true;
        if (!isSelfOrParent(entry.name)) yield entry;
        else skip();
      } else if (entry === undefined && !isListNoise(line)) report(line);
      else skip();
    }
    unreadable.throwIfAny(path);
    refuseUnreadReply(path, finalReply);
    options.onListed?.({ selfShown, mlsd: false });
  }

  /**
   * See FTP.walk. A directory whose MLSD `unique` fact is that of one
   * already entered (the root's, from its `type=cdir` line, or one listed
   * before) is yielded but not entered: a link to an ancestor or to
   * another directory of the tree (pyftpdlib lists a link to a directory
   * as `type=dir`), walked again and again before.
   */
  async *walk(path: string, options: WalkOptions): AsyncGenerator<WalkEntry> {
    const maxDepth = options.maxDepth ?? Infinity;
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_DIRECTORY_ENTRIES;
    const entered = new EnteredDirs();
    const pending: Array<{ dir: string; depth: number }> = [{ dir: path, depth: 1 }];
    while (pending.length > 0) {
      const { dir, depth } = pending.pop()!;
      const unreadable = new UnreadableLines();
      const report = options.onUnreadable ? (line: string) => options.onUnreadable!(line, dir) : (line: string) => unreadable.add(line);
      const entries: ListEntry[] = [];
      // Entries whose name is not one segment are reported, not held, but count: a listing of only those, without end, is bounded too.
      let refused = 0;
      // The root's value, from its own listing: a link back to it is not entered.
      const onListed = dir === path ? (info: { selfUnique?: string }) => void entered.enter(dir, info.selfUnique) : undefined;
      for await (const entry of this.list(dir, { onUnreadable: report, maxNonEntryLines: maxEntries, onListed })) {
        if (entries.length + refused >= maxEntries) {
          throw new FtpLimitError(
            "listingEntries",
            maxEntries,
            `the listing of ${JSON.stringify(dir)} has more than ${maxEntries} entries`,
          );
        }
        if (!isSafeName(entry.name)) {
          refused++;
          report(entry.raw || entry.name);
          continue;
        }
        entries.push(entry);
      }
      unreadable.throwIfAny(dir);
      const below: Array<{ dir: string; depth: number }> = [];
      for (const entry of entries) {
        const full = joinRemote(dir, entry.name);
        yield { path: full, entry };
        if (entry.type === "dir" && depth < maxDepth && entered.enter(full, entry.unique) === undefined)
          below.push({ dir: full, depth: depth + 1 });
      }
      pending.push(...below.reverse());
    }
  }
}

/**
 * Words of a listing's final 2xx reply saying the directory was not read:
 * vsftpd's "226 Transfer done (but failed to open directory)." and
 * pure-ftpd's "226-Sorry, we were unable to read [/dir]", both after an
 * empty listing of a directory the user may enter but not read.
 */
const UNREAD_REPLY = /failed to open directory|unable to read/i;

/**
 * Words of a listing's final 2xx reply saying the listing was cut short:
 * pure-ftpd sends at most 10,000 entries of a directory (its
 * `--limitrecursion`, 10000 by default), for LIST, NLST and MLSD alike,
 * then "226 Output truncated to 10000 matches". Taken for the whole
 * directory, the rest looked absent: a sync never fetched them, and a
 * download with `delete` removed their local copies.
 */
const TRUNCATED_REPLY = /output truncated/i;

/** Throws FtpListingError when `reply`, the listing's final reply, says it did not read `path` (UNREAD_REPLY) or not all of it (TRUNCATED_REPLY). */
function refuseUnreadReply(path: string, reply: string): void {
  const unread = UNREAD_REPLY.test(reply);
  if (!unread && !TRUNCATED_REPLY.test(reply)) return;
  const said = reply.replace(/\s*\n\s*/g, " ");
  throw new FtpListingError(
    path,
    [],
    0,
    `the listing of ${JSON.stringify(path)} ${unread ? "was not a read of the directory" : "is not all of the directory"}: the server said ${JSON.stringify(said)}`,
  );
}

/**
 * `dir/name`, without doubling a trailing slash; `name` alone below ""
 * (the working directory, as list("") takes it): `/name` would be in the
 * server's root, a tree the caller never named, where a walk would list
 * and a tree transfer fetch, store and delete. Below "", `./name` for a
 * name that begins with `~` or a blank: at the start of a path `~` is a
 * home directory to vsftpd, proftpd and inetutils ftpd (`DELE ~/x.txt`
 * deleted the home's x.txt, not the one in `./~`), and a server trimming
 * its argument drops the blanks.
 */
export function joinRemote(dir: string, name: string): string {
  if (dir === "") return /^[~\s]/.test(name) ? `./${name}` : name;
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** `.` or `..`: a listing's entry for the directory itself or its parent. */
function isSelfOrParent(name: string): boolean {
  return name === "." || name === "..";
}

/**
 * Which of `names`, entries of `parent` that its MLSD listing gave as
 * directories, its LIST (`list`, with `command: "LIST"`) does not show as
 * directories, each with what it shows instead: `"link"`, or `"unknown"`
 * (another type, not shown, or the LIST failed, could not be read, or
 * may have listed another path: see listMayNameOther). pyftpdlib's MLSD
 * gives a link to a directory `type=dir` and the `unique` of what it
 * points to, and its LIST shows it as a link: what is deleted below such
 * a "directory" is outside it.
 */
export async function notListedAsDirs(
  list: (path: string, options: ListOptions) => AsyncIterable<ListEntry>,
  parent: string,
  names: readonly string[],
  maxNonEntryLines: number,
): Promise<Map<string, "link" | "unknown">> {
  const found = new Map<string, ListEntry["type"]>();
  const wanted = new Set(names);
  let failed = listMayNameOther(parent);
  if (!failed) {
    try {
      for await (const entry of list(parent, { command: "LIST", maxNonEntryLines }))
        if (wanted.has(entry.name)) found.set(entry.name, entry.type);
    } catch (error) {
      if (error instanceof FtpLimitError) throw error;
      failed = true;
    }
  }
  const not = new Map<string, "link" | "unknown">();
  for (const name of names) {
    const type = failed ? undefined : found.get(name);
    if (type !== "dir") not.set(name, type === "link" ? "link" : "unknown");
  }
  return not;
}
