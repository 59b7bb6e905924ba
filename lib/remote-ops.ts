/**
 * Everyday operations on remote paths that take more than one command:
 * ensureDir (mkdir -p), removeDir/clearDir, lastMod/setLastMod (MDTM,
 * MFMT), stat (MLST, or its fallbacks). They work on any client that can
 * run a queued task and list a directory, so FTP and FtpPool share them.
 */
import { posix } from "node:path";
import { FtpError, FtpLimitError, FtpListingError, FtpPathError, FtpPermError, FtpProtoError } from "./errors.js";
import { isNotImplemented, sessionFeatures } from "./features.js";
import { entryFromFacts, ListEntry, parseListLine, parseMlsdTime } from "./listing.js";
import { assertSafeArgument, mlstFactsLine, parse213, parse257, parseMlsdLine } from "./protocol.js";
import { assertNoClimb, foldedName, trimmedName, unsafeNameError, unsafeNameReason } from "./path-safety.js";
import { DEFAULT_MAX_DIRECTORY_ENTRIES, joinRemote, ListOptions, notListedAsDirs, UnreadableLines } from "./remote-listing.js";
import { assertTreeDepth, DEFAULT_MAX_TREE_ENTRIES, EnteredDirs, treeLimit } from "./tree-bounds.js";
import { replyOrError, sendBurst } from "./command-burst.js";
import type { Reply } from "./reply.js";
import type { Session } from "./session.js";

/** What the operations need of a client. */
export interface RemoteClient {
  /**
   * Runs `task` on the client's queue with its live session; nothing else
   * runs meanwhile. `repeat`: under `retry`, the task may run again after a
   * transient failure (only for tasks that change nothing on the server).
   */
  run<T>(task: (session: Session) => Promise<T>, options?: { repeat?: boolean }): Promise<T>;
  /** Lists a directory as structured entries (see FTP.list). */
  list(path: string, options?: ListOptions): AsyncIterable<ListEntry>;
}

/** See FTP.ensureDir. */
export async function ensureDir(client: RemoteClient, path: string): Promise<void> {
  assertSafeArgument(path, "path");
  const levels = pathLevels(path);
  if (levels.length === 0) return;
  const target = levels[levels.length - 1];
  await client.run(async (session) => {
    // Most often every parent exists: one MKD does it.
    const first = await tryMkd(session, target);
    if (!first || (await isDirectory(session, target))) return;
    for (const level of levels.slice(0, -1)) await tryMkd(session, level);
    const last = await tryMkd(session, target);
    if (last && !(await isDirectory(session, target))) throw last;
  });
}

/** See FTP.isDirectory. */
export async function directoryExists(client: RemoteClient, path: string): Promise<boolean> {
  assertSafeArgument(path, "path");
  return client.run((session) => isDirectory(session, path), { repeat: true });
}

/** How far removeDir/clearDir walk; the defaults are those of a tree transfer (tree-bounds.ts). Smaller in specs. */
export interface RemovalBounds {
  /** Most entries below the directory, in all. Default DEFAULT_MAX_TREE_ENTRIES. */
  maxEntries?: number;
  /** Most lines read of the parent's LIST (whether the path is a link). Default DEFAULT_MAX_DIRECTORY_ENTRIES. */
  maxParentEntries?: number;
}

/** See FTP.clearDir. */
export async function clearDir(client: RemoteClient, path: string, bounds: RemovalBounds = {}): Promise<void> {
  assertSafeArgument(path, "path");
  assertNoClimb(path, "to clear");
  // What a link's listing shows is where it points: clearing it would empty a directory outside the path named.
  if (await shownAsLink(client, path, bounds)) {
    throw new FtpPathError(
      path,
      "link",
      `refusing to clear ${JSON.stringify(path)}: its parent's listing shows it as a link, and what is in it lies where the link points; nothing was deleted`,
    );
  }
  await clearBelow(client, path, bounds);
}

/** clearDir's deletions, once `path` is known to be no link its parent's listing shows. */
async function clearBelow(client: RemoteClient, path: string, bounds: RemovalBounds): Promise<void> {
  const below = await walkForRemoval(client, path, bounds.maxEntries ?? DEFAULT_MAX_TREE_ENTRIES);
  // Read in walk order (each directory before what is in it), deleted in
  // reverse: everything in a directory is gone before its RMD.
  for (let i = below.length - 1; i >= 0; i--) {
    const { relative, dir } = below[i];
    const full = joinRemote(path, relative);
    await client.run(async (session) => void (await session.voidCommand(`${dir ? "RMD" : "DELE"} ${full}`)));
  }
}

/** An entry below the directory being cleared: its path below it, and whether it is a directory. */
interface DoomedEntry {
  relative: string;
  dir: boolean;
}

/**
 * Every entry below `path`, each directory before what is in it, read
 * before anything is deleted. Each listing must be understood whole
 * (list() throws on a line it cannot read; a name that is not one segment
 * would name something outside `path`), and the walk is bounded as a tree
 * transfer's is (tree-bounds.ts): a directory past MAX_TREE_DEPTH levels
 * or MAX_TREE_PATH characters is refused before it is listed, and more
 * than `maxEntries` entries in all with FtpLimitError. A
 * server that lists one more directory below each one, or entries without
 * end, so fails the call with nothing deleted, instead of being walked
 * for ever with memory growing. A server whose MLSD showed no link as one,
 * nor the directory itself (`type=cdir`), may show a link as a directory
 * (pyftpdlib's MLSD does): once the walk
 * is done, each directory MLSD gave is looked up in its parent's LIST
 * (one per directory holding directories). One LIST shows as a link is
 * deleted as one (DELE), nothing walked through it; one LIST does not
 * show (or that may have listed another path) fails the call with
 * FtpListingError, nothing deleted. A directory listed with the MLSD
 * `unique` fact of one already walked (the root's: its `type=cdir` line,
 * else its MLST) is not walked, and unless LIST shows it as a link fails
 * the call with FtpPathError (`"link"`), nothing deleted: one of the two
 * is a link listed as a directory, and what is below it may lie outside
 * `path`.
 */
async function walkForRemoval(client: RemoteClient, path: string, maxEntries: number): Promise<DoomedEntry[]> {
  let found: DoomedEntry[] = [];
  const pending = [""];
  const entered = new EnteredDirs();
  // Whether a listing of this walk has shown a link as one: then its server's MLSD tells links from directories.
  let linksShown = false;
  // Whether an MLSD listing of this walk left out the directory itself (type=cdir), as pyftpdlib's does.
  let selfHidden = false;
  // The directories each MLSD listing gave, by the directory listed (below `path`), in walk order.
  const byMlsd = new Map<string, FoundDir[]>();
  // Directories listed with the unique fact of one entered already (not entered), and that one.
  const aliases = new Map<string, string>();
  const fullPath = (relative: string): string => (relative === "" ? path : joinRemote(path, relative));
  for (let relativeDir = pending.pop(); relativeDir !== undefined; relativeDir = pending.pop()) {
    const dir = fullPath(relativeDir);
    let listed: { mlsd: boolean; selfShown: boolean; selfUnique?: string } = { mlsd: false, selfShown: false };
    const dirs: FoundDir[] = [];
    const names: string[] = [];
    let uniques = false;
    // Lines that are no entry are bounded too: a listing of nothing else, without end, would be read for ever.
    for await (const entry of client.list(dir, { maxNonEntryLines: maxEntries, onListed: (info) => (listed = info) })) {
      const reason = unsafeNameReason(entry.name);
      if (reason) throw unsafeNameError(dir, entry.name, reason);
      if (found.length >= maxEntries) throw treeLimit(maxEntries, "the most removeDir and clearDir walk");
      const relative = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
      const isDir = entry.type === "dir";
      if (isDir) assertTreeDepth(relative);
      const doomed = { relative, dir: isDir };
      found.push(doomed);
      names.push(entry.name);
      if (entry.unique !== undefined) uniques = true;
      if (entry.type === "link") linksShown = true;
      // Checked once the listing is in: the root's own value comes at its end (or from MLST).
      if (isDir) dirs.push({ doomed, name: entry.name, unique: entry.unique });
    }
    assertOneOpened(dir, names);
    if (listed.mlsd && dirs.length > 0) byMlsd.set(relativeDir, dirs);
    if (listed.mlsd && !listed.selfShown) selfHidden = true;
    if (relativeDir === "") entered.enter("", listed.selfUnique ?? (listed.mlsd && uniques ? await mlstUnique(client, path) : undefined));
    for (const { doomed, unique } of dirs) {
      const other = entered.enter(doomed.relative, unique);
      if (other !== undefined) aliases.set(doomed.relative, other);
      else pending.push(doomed.relative);
    }
  }
  // An MLSD that shows no link, nor the directory itself, may show a link as a directory (pyftpdlib's): each directory's parent's LIST tells.
  const links: string[] = [];
  const below = (relative: string): boolean => links.some((link) => relative.startsWith(`${link}/`));
  if (!linksShown && selfHidden) {
    for (const [relativeDir, dirs] of byMlsd) {
      if (below(relativeDir) || links.includes(relativeDir)) continue;
      const dir = fullPath(relativeDir);
      const not = await notListedAsDirs(
        (at, options) => client.list(at, options),
        dir,
        dirs.map((d) => d.name),
        maxEntries,
      );
      for (const { doomed, name } of dirs) {
        const shown = not.get(name);
        if (shown === "unknown") throw notShownAsDir(fullPath(doomed.relative), dir);
        // A link, as LIST shows it: the link itself is deleted, nothing that was listed through it.
        if (shown === "link") {
          doomed.dir = false;
          links.push(doomed.relative);
          aliases.delete(doomed.relative);
        }
      }
    }
    found = found.filter((doomed) => !below(doomed.relative));
  }
  for (const [relative, other] of aliases) if (!below(relative)) throw sameDirectory(fullPath(relative), fullPath(other));
  return found;
}

/**
 * Throws FtpPathError (`"ambiguous"`) when the listing of `dir` holds a
 * name with blanks at its end (`x `) beside the name a server trimming
 * its argument opens for it (`x`): the walk's LIST, DELE or RMD of
 * `dir/x ` would reach `dir/x` there, and through it, were it a link,
 * what it points to. Nothing is deleted yet.
 */
function assertOneOpened(dir: string, names: readonly string[]): void {
  if (!names.some((name) => trimmedName(name) !== name)) return;
  const listed = new Set(names);
  for (const name of names) {
    const opened = trimmedName(name);
    if (opened !== name && listed.has(opened)) {
      throw ambiguousName(
        joinRemote(dir, name),
        `its directory also holds ${JSON.stringify(opened)}, which a server trimming its argument opens for it`,
      );
    }
  }
}

/** The FtpPathError (`reason: "ambiguous"`) of a removal that found `path` named in a way a server may open otherwise. */
function ambiguousName(path: string, why: string): FtpPathError {
  return new FtpPathError(path, "ambiguous", `refusing to remove through ${JSON.stringify(path)}: ${why}; nothing was deleted`);
}

/**
 * The names one LIST line may give a link, where ` -> ` in its name or
 * target leaves it open where the name ends: `a -> b -> c` is the link `a`
 * (to `b -> c`) or `a -> b` (to `c`), and `a -> b`, on a server showing no
 * targets, may be the link `a -> b`. Empty for a line of no link, or
 * without ` -> `.
 */
function linkNameReadings(line: string): string[] {
  if (!line.includes(" -> ")) return [];
  // Read with each arrow as a character no name of a listing holds, so that the line's name column is all of it.
  const entry = parseListLine(line.replaceAll(" -> ", " \u0001 "));
  if (entry?.type !== "link") return [];
  const parts = entry.name.split(" \u0001 ");
  return parts.map((_, i) => parts.slice(0, i + 1).join(" -> "));
}

/** A directory a removal's walk found: its entry to delete, its name, and its MLSD unique fact. */
interface FoundDir {
  doomed: DoomedEntry;
  name: string;
  unique: string | undefined;
}

/** The `unique` fact of MLST `path`, or undefined (none, or MLST refused). */
async function mlstUnique(client: RemoteClient, path: string): Promise<string | undefined> {
  try {
    return (await client.run((session) => mlst(session, path), { repeat: true })).unique;
  } catch (error) {
    if (error instanceof FtpPermError || error instanceof FtpProtoError) return undefined;
    throw error;
  }
}

/** The FtpListingError of a removal that found `path` listed as a directory by MLSD, and not so by the LIST of `parent`. */
function notShownAsDir(path: string, parent: string): FtpListingError {
  return new FtpListingError(
    parent,
    [],
    0,
    `refusing to remove through ${JSON.stringify(path)}: MLSD lists it as a directory and the LIST of ${JSON.stringify(parent)} does not ` +
      `(a server whose MLSD shows no link may show one as a directory); nothing was deleted`,
  );
}

/**
 * The FtpPathError (`reason: "link"`) of a removal that found `path`
 * listed as a directory with the MLSD `unique` fact of `other`, already
 * walked: one directory under two names, one of them a link the server
 * lists as a directory (pyftpdlib's MLSD does), which may point outside
 * the directory being removed, or be a loop. Nothing is deleted.
 */
function sameDirectory(path: string, other: string): FtpPathError {
  return new FtpPathError(
    path,
    "link",
    `refusing to remove through ${JSON.stringify(path)}: the server lists it as a directory with the unique fact of ${JSON.stringify(other)}, ` +
      `so one of them is a link (or a loop), and what is below it may lie outside; nothing was deleted`,
  );
}

/** See FTP.removeDir. */
export async function removeDir(client: RemoteClient, path: string, bounds: RemovalBounds = {}): Promise<void> {
  assertSafeArgument(path, "path");
  assertNoClimb(path, "to remove");
  if (!namesBelowStart(path)) throw refused(path);
  // As rm -r: a link goes itself (DELE), nothing of what it points to
  // (listed, a link to a directory shows that directory's entries).
  if (await shownAsLink(client, path, bounds)) {
    // Without a trailing slash or `.` segment: unlink("link/") is refused, or would reach the directory.
    const link = pathLevels(path).at(-1)!;
    await client.run(async (session) => void (await session.voidCommand(`DELE ${link}`)));
    return;
  }
  await clearBelow(client, path, bounds);
  await client.run(async (session) => void (await session.voidCommand(`RMD ${path}`)));
}

/**
 * Whether the LIST of `path`'s parent shows `path` as a symbolic link.
 * Not known where the server will not say (its parent refused with a
 * reply and nothing listed, or not holding it) is false: the walk's own
 * checks go on as before. A parent whose LIST may read as a pattern
 * (listMayNameOther: `/a[1]`, `~x`) is listed all the same: a link shown
 * there is only deleted as the very path named (a DELE, which fails on a
 * directory) or refused (clearDir), while not asking left a link below
 * such a parent walked into, its target deleted. A listing
 * that began and broke off (a 426 after entries, a data connection lost
 * or timed out, junk past the bound) or that holds more than
 * `maxParentEntries` rejects, nothing deleted: the link may be in what
 * was not read, and the walk would then delete where it points. A LIST,
 * since pyftpdlib's MLSD shows a link to a directory as a directory.
 */
async function shownAsLink(client: RemoteClient, path: string, bounds: RemovalBounds): Promise<boolean> {
  const levels = pathLevels(path);
  if (levels.length === 0) return false;
  const parent = levels.length > 1 ? levels[levels.length - 2] : path.startsWith("/") ? "/" : "";
  const name = path
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .at(-1)!;
  // Not an option to LIST: the DELE and the walk take `-x/link` as that path.
  const listed = parent.startsWith("-") ? `./${parent}` : parent;
  const max = bounds.maxParentEntries ?? DEFAULT_MAX_DIRECTORY_ENTRIES;
  let type: ListEntry["type"] | undefined;
  // Not listed by its own spelling: whether a link is listed in one a server folding letter case or trimming names opens by it.
  let linkSpelledOtherwise = false;
  // The name a server trimming its argument opens (`dir ` and `dir\t`: `dir`), and whether it and the name itself are listed.
  const opened = trimmedName(name, levels.length === 1 && !/^\.?\//.test(path));
  let exact = false;
  let openedListed = false;
  // A link line whose ` -> ` may part its name from its target elsewhere than where it was read, to `name`.
  let maybeLink = false;
  const readAlso = (line: string, readAs?: string): void => {
    for (const reading of linkNameReadings(line)) {
      if (reading !== readAs && (reading === name || foldedName(reading) === foldedName(name))) maybeLink = true;
    }
  };
  let passed = 0;
  try {
    // Read to its end, not left at the entry (an ABOR, which servers answer each their own way), up to a bound.
    // An unreadable line is passed over, but for a link line with more than one ` -> ` (see linkNameReadings).
    for await (const entry of client.list(listed, { command: "LIST", maxNonEntryLines: max, onUnreadable: (line) => readAlso(line) })) {
      if (passed++ === max) {
        throw new FtpLimitError(
          "listingEntries",
          max,
          `the listing of ${JSON.stringify(parent)} has more than ${max} entries: whether ${JSON.stringify(path)} is a link is not known; nothing was deleted`,
        );
      }
      readAlso(entry.raw, entry.name);
      if (entry.name === name) exact = true;
      else if (entry.name === opened) openedListed = true;
      // Listed twice, once as a link: a link (its removal, or the refusal, is then the safe side).
      if (entry.name === name && type !== "link") type = entry.type;
      else if (entry.type === "link" && foldedName(entry.name) === foldedName(name)) linkSpelledOtherwise = true;
    }
  } catch (error) {
    // Refused outright (a 4xx or 5xx, nothing listed): a parent the login may not read.
    if (error instanceof FtpError && !(error instanceof FtpLimitError) && error.replyCode !== null && passed === 0) return false;
    throw error;
  }
  if (maybeLink) {
    throw ambiguousName(path, `a link line of the listing of ${JSON.stringify(parent)} may name it (" -> " parts name from target there)`);
  }
  // Both there: which of the two the server opens is its own (trimming or not), and the other would be removed, or walked through.
  if (exact && openedListed) {
    throw ambiguousName(path, `its parent also holds ${JSON.stringify(opened)}, which a server trimming its argument opens for it`);
  }
  return type === "link" || (type === undefined && linkSpelledOtherwise);
}

/** See FTP.lastMod. */
export async function lastMod(client: RemoteClient, path: string): Promise<Date> {
  assertSafeArgument(path, "path");
  return client.run((session) => readMdtm(session, path), { repeat: true });
}

/** See FTP.lastMods. */
export async function lastMods(client: RemoteClient, paths: readonly string[]): Promise<Array<Date | FtpError>> {
  for (const path of paths) assertSafeArgument(path, "path");
  if (paths.length === 0) return [];
  const replies = await client.run(
    (session) =>
      sendBurst(
        session,
        paths.map((path) => `MDTM ${path}`),
      ),
    { repeat: true },
  );
  return replies.map((reply) => {
    const refused = replyOrError(reply);
    return typeof refused === "string" ? mdtmTime(reply) : refused;
  });
}

/** How a session's server sets a file's time, once one setLastMod found out (see setTime). */
type TimeVerb = "MFMT" | "MDTM" | "SITE UTIME";
const timeVerbs = new WeakMap<Session, TimeVerb>();

/** See FTP.setLastMod. */
export async function setLastMod(client: RemoteClient, path: string, date: Date): Promise<void> {
  assertSafeArgument(path, "path");
  const stamp = ftpTimeOf(date);
  await client.run((session) => setTime(session, path, stamp));
}

/** See FTP.setLastMods. */
export async function setLastMods(
  client: RemoteClient,
  entries: ReadonlyArray<{ path: string; date: Date }>,
): Promise<Array<FtpError | null>> {
  const stamps = entries.map(({ path, date }) => {
    assertSafeArgument(path, "path");
    return ftpTimeOf(date);
  });
  return client.run(
    async (session) => {
      const results: Array<FtpError | null> = [];
      // One at a time until the server has shown how it sets times; then the rest in one burst.
      while (results.length < entries.length && !timeVerbs.has(session)) {
        const at = results.length;
        try {
          await setTime(session, entries[at].path, stamps[at]);
          results.push(null);
        } catch (error) {
          if (!(error instanceof FtpError)) throw error;
          results.push(error);
          // A server that sets no times: no need to ask for each file.
          if (error.code === "ERR_FTP_UNSUPPORTED") while (results.length < entries.length) results.push(error);
        }
      }
      const verb = timeVerbs.get(session);
      if (!verb || results.length === entries.length) return results;
      const rest = entries.slice(results.length);
      const replies = await sendBurst(
        session,
        rest.map(({ path }, i) => `${verb} ${stamps[results.length + i]} ${path}`),
      );
      for (const reply of replies) {
        const refused = replyOrError(reply);
        results.push(typeof refused === "string" ? timeNotSet(verb, reply) : refused);
      }
      return results;
    },
    // Setting the same time again changes nothing.
    { repeat: true },
  );
}

/** A valid Date as MFMT's stamp, or a TypeError. */
function ftpTimeOf(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw Object.assign(new TypeError(`date must be a valid Date, got ${String(date)}`), { code: "ERR_INVALID_ARG_VALUE" });
  }
  return formatFtpTime(date);
}

/** Null when `verb`'s 2xx set the time; an error when it was MDTM read as a query (a time came back). */
function timeNotSet(verb: TimeVerb, reply: Reply): FtpError | null {
  if (verb !== "MDTM" || !parseMlsdTime(reply.text.slice(4).trim())) return null;
  return new FtpError(`the server cannot set modification times: ${reply.text}`, "ERR_FTP_UNSUPPORTED", reply.text);
}

/**
 * Sets a file's time: with the verb this session's server was found to
 * take, else finding it out (and keeping it for the session): MFMT where
 * FEAT offers it, else the two-argument MDTM (vsftpd), else SITE UTIME
 * (pure-ftpd).
 */
async function setTime(session: Session, path: string, stamp: string): Promise<void> {
  const known = timeVerbs.get(session);
  if (known) {
    const failure = timeNotSet(known, await session.voidCommand(`${known} ${stamp} ${path}`));
    if (failure) throw failure;
    return;
  }
  if ((await sessionFeatures(session)).has("MFMT")) {
    await session.voidCommand(`MFMT ${stamp} ${path}`);
    timeVerbs.set(session, "MFMT");
    return;
  }
  // vsftpd sets the time with a two-argument MDTM ("213 File modification
  // time set."); a server without that form reads the time of a file named
  // "<stamp> <path>" instead, or finds none.
  let failure: FtpError;
  try {
    const reply = await session.voidCommand(`MDTM ${stamp} ${path}`);
    const notSet = timeNotSet("MDTM", reply);
    if (!notSet) {
      timeVerbs.set(session, "MDTM");
      return;
    }
    failure = notSet;
  } catch (error) {
    if (!(error instanceof FtpPermError)) throw error;
    failure = error;
  }
  try {
    await session.voidCommand(`SITE UTIME ${stamp} ${path}`);
    timeVerbs.set(session, "SITE UTIME");
    return;
  } catch (error) {
    if (!isNotImplemented(error)) throw error;
  }
  if (failure.code === "ERR_FTP_UNSUPPORTED" || isNotImplemented(failure)) throw failure;
  // No SITE UTIME either, and MDTM refused "<stamp> <path>": a 550 there
  // is as often "no file named '20210203040506 a.txt'" (inetutils and
  // netkit ftpd, Twisted, ftp-srv) as "cannot set it" (vsftpd). When the
  // file has a time of its own, the server has no way to set one.
  try {
    await readMdtm(session, path);
  } catch (error) {
    // Not there (or not a file): MDTM's refusal says so.
    if (error instanceof FtpPermError || error instanceof FtpProtoError) throw failure;
    throw error;
  }
  throw new FtpError(
    `the server cannot set modification times (no MFMT, no two-argument MDTM, no SITE UTIME): ${failure.response}`,
    "ERR_FTP_UNSUPPORTED",
    failure.response,
  );
}

/** See FTP.stat. */
export async function stat(client: RemoteClient, path: string): Promise<ListEntry> {
  assertSafeArgument(path, "path");
  const name = posix.basename(path) || path;
  const found = await client.run(
    async (session) => {
      if ((await sessionFeatures(session)).has("MLST")) {
        try {
          return await mlst(session, path);
        } catch (error) {
          if (!isNotImplemented(error)) throw error;
        }
      }
      return fileFacts(session, path, name);
    },
    { repeat: true },
  );
  if (!(found instanceof Error)) return found;
  // Not a file (or no SIZE): the parent directory's listing has it.
  const parent = posix.dirname(path);
  const listed = parent === "." ? "" : parent;
  // A line that could not be read may be the entry: then the answer is not known.
  const unreadable = new UnreadableLines();
  // Bounded as one directory of walk() is: a listing that never ends (of
  // entries, or of lines that are none) would keep stat() reading for ever.
  const max = DEFAULT_MAX_DIRECTORY_ENTRIES;
  let passed = 0;
  for await (const entry of client.list(listed, { onUnreadable: unreadable.add, maxNonEntryLines: max })) {
    if (entry.name === name) return entry;
    if (++passed > max) {
      throw new FtpLimitError("listingEntries", max, `the listing of ${JSON.stringify(listed)} has more than ${max} entries`);
    }
  }
  unreadable.throwIfAny(listed);
  throw found;
}

/**
 * Every prefix of `path` that is a directory level: `a/b/c` → `a`, `a/b`,
 * `a/b/c`; `/x/y` → `/x`, `/x/y`; `./~/y` → `./~`, `./~/y`. A leading `./`
 * stays: it is how a name beginning with `~` or a blank is spelled (see
 * joinRemote), and dropped, `~/y` was the home directory's y to vsftpd,
 * proftpd and inetutils ftpd (ensureDir made it, removeDir deleted a link
 * there).
 */
function pathLevels(path: string): string[] {
  const root = path.startsWith("/") ? "/" : path.startsWith("./") ? "./" : "";
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  return parts.map((_, i) => root + parts.slice(0, i + 1).join("/"));
}

/**
 * Whether `path` names something below the root or the working directory
 * as every server reads it: `\` separates segments on Windows servers
 * (`\` is their root, `.\` their working directory), and a segment of
 * blanks and a dot (` `, `. `) is `.` where a server trims names (Windows
 * drops trailing dots and spaces). `..` in any spelling is refused before.
 * Nor is a home directory (`~`, `~/`, `~user`: a path's first segment
 * beginning with `~` is one to vsftpd, proftpd and inetutils ftpd, and
 * often the login's root): removeDir("~") listed it and deleted all in it.
 */
function namesBelowStart(path: string): boolean {
  const segments = path.split(/[\\/]/);
  // `./~` is the directory `~` in the working directory (see joinRemote); `/~` one in the root.
  const below = /^\s*~/.test(segments[0]) ? segments.slice(1) : segments;
  return below.some((segment) => !/^[\s.]*$/.test(segment));
}

function refused(path: string): FtpPathError {
  return new FtpPathError(
    path,
    "root",
    `refusing to remove ${JSON.stringify(path)}: it names no directory below the root or the working directory`,
  );
}

/** MKD; a 5xx (exists, no permission, no parent) is returned rather than thrown. */
async function tryMkd(session: Session, path: string): Promise<FtpPermError | undefined> {
  try {
    await session.voidCommand(`MKD ${path}`);
    return undefined;
  } catch (error) {
    if (error instanceof FtpPermError) return error;
    throw error;
  }
}

/**
 * Whether `path` is a directory: MLST where the server has it, else CWD
 * there and back (inside one queue task, so no other call sees the detour,
 * and unrecorded, so a reconnect under `retry` never restores it).
 */
async function isDirectory(session: Session, path: string): Promise<boolean> {
  if ((await sessionFeatures(session)).has("MLST")) {
    try {
      return (await mlst(session, path)).type === "dir";
    } catch (error) {
      if (!(error instanceof FtpPermError)) throw error;
      if (!isNotImplemented(error)) return false;
    }
  }
  const pwd = await session.voidCommand("PWD");
  const home = pwd.code === 257 ? parse257(pwd.text) : "";
  // Without the working directory's name there is no way back.
  if (!home) return false;
  try {
    await cwdUnrecorded(session, path);
  } catch (error) {
    if (error instanceof FtpPermError) return false;
    throw error;
  }
  await cwdUnrecorded(session, home);
  return true;
}

/**
 * CWD that the session's observer (the `retry` option's record of the
 * working directory) does not see: if the connection drops between
 * isDirectory's two CWDs, a new connection must go back to where the
 * session worked, not to the directory it only looked into.
 */
async function cwdUnrecorded(session: Session, path: string): Promise<void> {
  const observe = session.observe;
  session.observe = undefined;
  try {
    await session.voidCommand(`CWD ${path}`);
  } finally {
    session.observe = observe;
  }
}

/** MLST `path` (RFC 3659): the facts line of the 250 reply as an entry named by the path's last segment. */
async function mlst(session: Session, path: string): Promise<ListEntry> {
  const reply = await session.voidCommand(path ? `MLST ${path}` : "MLST");
  const line = mlstFactsLine(reply.text);
  if (line === undefined) throw new FtpProtoError(`MLST reply has no facts line: ${reply.text}`, reply.text);
  const [pathname, facts] = parseMlsdLine(line);
  return entryFromFacts(posix.basename(pathname) || pathname || path, facts, line);
}

/** SIZE then MDTM: a file's entry, or the SIZE refusal (to try the parent's listing instead). */
async function fileFacts(session: Session, path: string, name: string): Promise<ListEntry | FtpPermError> {
  // Several servers (proftpd, pyftpdlib) refuse SIZE in ASCII mode.
  await session.useType("I");
  let size: number | null;
  try {
    const reply = await session.command(`SIZE ${path}`);
    size = parse213(reply.code, reply.text);
  } catch (error) {
    if (error instanceof FtpPermError) return error;
    throw error;
  }
  if (size === null) return new FtpPermError(`550 ${path}: SIZE gave no size`);
  let modified: Date | null = null;
  try {
    modified = await readMdtm(session, path);
  } catch (error) {
    if (!(error instanceof FtpPermError)) throw error;
  }
  return { name, type: "file", size, modified, permissions: null, target: null, raw: "" };
}

/** MDTM `path` → its time (UTC, to the millisecond); 4xx/5xx throw. */
async function readMdtm(session: Session, path: string): Promise<Date> {
  const time = mdtmTime(await session.command(`MDTM ${path}`));
  if (time instanceof Error) throw time;
  return time;
}

/** An MDTM reply's time, or the FtpProtoError of one that is not a time. */
function mdtmTime(reply: Reply): Date | FtpProtoError {
  const date = reply.code === 213 ? parseMlsdTime(reply.text.slice(4).trim()) : null;
  return date ?? new FtpProtoError(`MDTM reply is not a time: ${reply.text}`, reply.text);
}

/** A Date as `YYYYMMDDHHMMSS` in UTC, as MFMT and MDTM take it. */
export function formatFtpTime(date: Date): string {
  const pad = (value: number, width = 2): string => String(value).padStart(width, "0");
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}
