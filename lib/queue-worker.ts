/**
 * The job processor of a tree transfer spread over a job queue: it moves
 * the one file a TreeJob names (see queue-jobs.ts), on an FtpPool per
 * server kept by the worker process.
 *
 * A queue runs a job at least once (a worker killed mid-job has its job
 * taken over by another), so every job is idempotent:
 * - the target is compared first; when it already has the source's size
 *   and time (an earlier run of the job finished it), the job is skipped;
 * - a download is written to a part file beside the target (created
 *   exclusively, a stale one from a killed run replaced) and renamed over
 *   the target only complete, with the source's time already set;
 * - an upload is STORed to a part name beside the target (a new STOR
 *   truncates what a killed run left: it restarts, never appends), its
 *   time set, then renamed over the target (RNFR/RNTO) only while SIZE
 *   shows it holds what was sent (part-rename.ts): a part another attempt
 *   of the job is writing at once is neither renamed nor deleted.
 * So a file is either absent, or old, or complete: never half there under
 * its own name, and never moved again once complete.
 *
 * A failure that running the job again cannot cure (a refused login or
 * path, no password, a server that is not an FTP URL) fails the job at
 * once (see queue-failure.ts).
 *
 * No queue library is imported here: the processor takes any job with
 * `data` and `updateProgress` (BullMQ's Job).
 */
import { createHash } from "node:crypto";
import { lstat, mkdir } from "node:fs/promises";
import { isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import type { FTP } from "./client.js";
import { FtpError, FtpPathError, isRefusal } from "./errors.js";
import { checkListedSize, remoteSize } from "./listed-size.js";
import { assertNameFits, assertOwnSpelling, isLocalName, unwritableRemoteName } from "./local-names.js";
import { remotePartName, writeThroughPart } from "./part-file.js";
import { isPlainFile, keptAtPart, uploadThroughPart } from "./part-upload.js";
import { asJobFailure, FtpUnrecoverableJobError } from "./queue-failure.js";
import { assertNoClimb, assertRealDirs, makeRealDirs, unsafeNameReason } from "./path-safety.js";
import { pipeSettled } from "./pipe.js";
import { FtpPool } from "./pool.js";
import type { ConnectionLeases } from "./queue-limit.js";
import type { TreeJob, TreeJobResult } from "./queue-jobs.js";
import { joinRemote } from "./remote-listing.js";
import type { TransferProgress } from "./streams.js";
import { assertReadWhole, openWalkedFile, type OpenedFile } from "./upload-source.js";
import { type FtpUrl, parseFtpUrl } from "./url.js";

/** What the processor needs of a job (BullMQ's Job has it). */
export interface TreeJobLike {
  data: TreeJob;
  updateProgress(progress: { path: string; bytes: number; size: number }): Promise<unknown>;
}

export interface TreeJobProcessorOptions {
  /** Makes one connected, logged-in client for a job's server (its URL, password included when the job has one). */
  connect: (server: string) => Promise<FTP>;
  /** Connections per server in this process: the pool's size. Default 4. */
  poolSize?: number;
  /** A pool with no job running for this long is closed (its connections given back). Default 5000 ms. */
  idleMs?: number;
  /** Cluster-wide connection caps (see queue-limit.ts); none by default. */
  leases?: ConnectionLeases;
  /** How often a job reports progress, in ms. Default 500. */
  progressMs?: number;
  /**
   * The local directories a job may name as its root (TreeJob.local), or
   * be below: a job naming any other fails at once (ERR_FTP_BAD_JOB)
   * before anything is read or written. A job below one is written (or
   * read) from that one down, every directory between checked as a path
   * of the job's is: a link there is refused, not followed. Required, not
   * empty (whoever can write to the queue would otherwise decide where a
   * download is written and which file an upload reads): `["/"]` allows
   * any, explicitly.
   */
  localRoots: readonly string[];
  /**
   * The remote directories a job may name as its root (TreeJob.remote),
   * or be below, `/`-separated as the jobs name them: any other fails the
   * job at once before it connects. Without it, any.
   */
  remoteRoots?: readonly string[];
  /**
   * The servers a job may name (FTP URLs, path and password ignored): the
   * scheme, host and port must be one's, and the user too where that URL
   * names one. Any other fails the job at once, before a connection is
   * made: a job cannot send the worker's login (a netrc `default`, an
   * environment password) to a host of its choosing. Required, not empty.
   */
  servers: readonly string[];
  /**
   * Whether an upload job may read a file with more than one hard link
   * (`st_nlink > 1`). Default false: such a file fails the job at once
   * (FtpPathError, reason `"link"`), before a byte is read. A hard link
   * made inside a local root can name any file of the same file system,
   * one outside every root too, and unlike a symbolic link it cannot be
   * told from the file itself: a worker uploading it would send what the
   * roots were meant to keep out. Set it for trees that hold hard links on
   * purpose (`cp -al`, rsnapshot), where nobody who may not read a file
   * can link it in.
   */
  allowHardLinks?: boolean;
}

/** The processor: `process(job)` moves its file; `close()` closes the pools. */
export interface TreeJobProcessor {
  /**
   * Moves the job's file. Rejects with the failure's own error when
   * running the job again may cure it (a dropped connection, a 4xx), so
   * the queue's attempts go on; else with an error named
   * `"UnrecoverableError"` (FtpUnrecoverableJobError: `cause` is the
   * failure, `code` its code), which BullMQ fails at once, whatever
   * attempts are left: a refused login is not sent again and again.
   */
  process(job: TreeJobLike): Promise<TreeJobResult>;
  close(): Promise<void>;
}

/** Equal to the second: FTP times have no finer resolution. */
function sameSecond(a: Date, b: Date): boolean {
  return Math.floor(a.getTime() / 1000) === Math.floor(b.getTime() / 1000);
}

function floorSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * Why `server` is not an FTP URL a job can connect to, or undefined when
 * it is one: the reason parseFtpUrl gives (its messages never hold a
 * password), "not a URL" for what does not parse at all (Node's error
 * keeps the whole text, password and all, in its `input`).
 */
function unusableServer(server: unknown): string | undefined {
  if (typeof server !== "string") return `not a string but ${server === null ? "null" : typeof server}`;
  try {
    parseFtpUrl(server);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === "ERR_INVALID_URL") return "not a URL";
    return error instanceof Error ? error.message.split("\n")[0] : "not an FTP URL";
  }
}

/**
 * The server a job's URL names, as the connection cap counts it (see
 * ConnectionLeases): the host as the URL standard writes an `ftp://`
 * host (lower case, without a trailing dot; an IPv4 or IPv6 address in its one spelling), the
 * port, and the user, decoded and in lower case (none: `anonymous`).
 * Neither scheme nor password: `ftp://` and `ftpes://` to one port reach
 * one server, and so do two passwords of one user. Before, the key was
 * the URL as written, less its password: `ftp://User@h`, `ftp://us%65r@h`
 * and `ftpes://h:21` each had a cap of their own on one server.
 */
export function endpointKey(url: FtpUrl): string {
  let host = url.host.toLowerCase();
  try {
    host = new URL(`ftp://${host.includes(":") ? `[${host}]` : host}/`).hostname;
  } catch {
    // A host the ftp: parser refuses (ftpes:// and ftps:// hosts are read as opaque ones): as it is, in lower case.
  }
  // A name's trailing dot (absolute in DNS: `h.example.` is `h.example`) is no other server.
  if (host.length > 1 && host.endsWith(".") && !host.startsWith("[")) host = host.slice(0, -1);
  return `${encodeURIComponent((url.user ?? "anonymous").toLowerCase())}@${host}:${url.port}`;
}

/**
 * The pool a job's connections come from: its endpoint (endpointKey), its
 * scheme (a plain connection is never handed to an `ftpes://` job, nor
 * one of another TLS mode), its user as written, and its credential: a
 * digest of the job's password, or `-` for a job without one (the
 * worker's own login: netrc, environment). A job never gets a connection
 * that was logged in with another job's password: before, jobs shared a
 * pool per user and host, so a job with a wrong password (or none) ran
 * on a connection another job's password had opened. And the host as
 * written: a job without a password logs in as `connect` finds for its
 * URL (the CLI: netrc, looked up by the host as written), so
 * `ftpes://127.1` and `ftpes://127.0.0.1` (one endpoint: the URL standard
 * leaves an ftpes:// host as written) may log in as two accounts; sharing
 * a pool, the second ran on the first's login. The cap stays per endpoint.
 */
function poolKey(url: FtpUrl): string {
  const credential = url.password === undefined ? "-" : createHash("sha256").update(url.password).digest("base64url");
  return `${endpointKey(url)} ${url.security} ${encodeURIComponent(url.user ?? "")} ${credential} ${encodeURIComponent(url.host)}`;
}

/** Whether `value` is a count of bytes: a whole number, 0 or more, that a double holds exactly. */
function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A job's data is read from the queue: every field checked, before anything is sent or written. */
function checkJob(data: TreeJob): void {
  if ((data?.v !== 1 && data?.v !== 2) || (data.direction !== "download" && data.direction !== "upload")) {
    // Its version and direction, not the whole job (as before): its server may hold a password.
    const shown = (value: unknown): string => String(JSON.stringify(value)).slice(0, 40);
    throw new FtpError(`not a tree job this version can run (v ${shown(data?.v)}, direction ${shown(data?.direction)})`, "ERR_FTP_BAD_JOB");
  }
  // Checked here, an FtpError, so the job fails at once (asJobFailure): from connect, or queue-jobs.ts's serverKey's new URL(), it was a
  // TypeError, which took every attempt. Neither the URL nor the parser's error is kept: either may hold a password.
  const unusable = unusableServer(data.server);
  if (unusable) throw new FtpError(`refusing the job's server: ${unusable}`, "ERR_FTP_BAD_JOB");
  const bad = (field: string, why: string): FtpError => new FtpError(`refusing the job's ${field}: ${why}`, "ERR_FTP_BAD_JOB");
  // A bound that is not one is refused, not read as none: the file would be downloaded without it.
  if ((data.v === 2 || data.maxFileSize !== undefined) && !isByteCount(data.maxFileSize))
    throw bad("maxFileSize", "not a whole number of bytes, 0 or more");
  // A size out of range turned off the check of the bytes against it (a cut download was put in place as whole).
  if (!isByteCount(data.size)) throw bad("size", "not a whole number of bytes, 0 or more");
  // An invalid time failed the job only once the file had come (setting it on the part file), on every attempt.
  if (data.modified !== null && !(typeof data.modified === "string" && !Number.isNaN(Date.parse(data.modified))))
    throw bad("time", "neither null nor a date");
  for (const [field, value] of [
    ["path", data.path],
    ["remote root", data.remote],
    ["local root", data.local],
  ] as const) {
    if (typeof value !== "string") throw bad(field, "not a string");
  }
  // Relative, it would be the worker's working directory's, not the one the enqueuer meant (enqueueTree writes it absolute).
  if (data.local.includes("\0") || !isAbsolute(data.local)) throw bad("local root", "not an absolute path without a NUL");
  // No FTP command can carry them (assertSafeArgument's TypeError, which took every attempt).
  for (const [field, value] of [
    ["path", data.path],
    ["remote root", data.remote],
  ] as const) {
    if (/[\r\n]/.test(value)) throw bad(field, "it holds a CR or LF, which no FTP command can carry");
  }
  assertNoClimb(data.remote, "in a job");
  for (const segment of data.path.split("/")) {
    const reason = unsafeNameReason(segment);
    if (reason) throw new FtpPathError(data.path, reason, `refusing the job's path ${JSON.stringify(data.path)} (${reason})`);
  }
  if (data.direction === "download") {
    // A name no local disk holds: refused before the pool is asked for a connection, not by lstat's ENAMETOOLONG.
    assertNameFits(data.path);
    // Nor one Node writes as another (an escaped byte the server's encoding did not decode, written as U+FFFD), as the
    // tree download's walk refuses it (enqueueTree's plan never holds one): two such names were one local file.
    const segments = data.path.split("/");
    const at = segments.findIndex((segment) => !isLocalName(segment));
    if (at >= 0) throw unwritableRemoteName(segments.slice(0, at).join("/"), segments[at]);
  }
}

/** What a processor's options confine jobs to (see TreeJobProcessorOptions), each made ready to compare. */
interface JobBounds {
  localRoots: readonly string[];
  remoteRoots?: ReadonlyArray<readonly string[]>;
  servers: readonly FtpUrl[];
}

/**
 * A remote path's segments, without empty ones and `.`, after where it
 * starts: "" for an absolute path, "." for one below the working
 * directory, none for one beginning with `~` (the home directory to
 * vsftpd, proftpd and inetutils ftpd, `~user` that user's: its first
 * segment is where it starts; blanks before it too). A path beginning
 * with `\` is absolute too. Without them a relative root (`.`, `pub`)
 * took in `/etc`, `~root/x` and `\etc` as below it.
 */
function remoteSegments(path: string): string[] {
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  // Where it starts as a server trimming its argument reads it too: ` /etc` is `/etc` there, ` ~root/x` `~root/x`.
  const start = path.trimStart();
  // And as a server taking `\` for a separator (IIS, FileZilla Server): `\etc` is its `/etc`.
  if (start.startsWith("/") || start.startsWith("\\")) return ["", ...segments];
  return start.startsWith("~") ? segments : [".", ...segments];
}

/** A bad option: a TypeError with Node's code, as the library's other option checks throw. */
function invalidOption(message: string, code: "ERR_INVALID_ARG_TYPE" | "ERR_INVALID_ARG_VALUE"): TypeError {
  return Object.assign(new TypeError(message), { code });
}

/**
 * Checks what a processor's options confine jobs to (`localRoots`,
 * `remoteRoots`, `servers`) as createTreeJobProcessor does, throwing the
 * same TypeError: for a caller (workerCommand) that must know them good
 * before it reaches for the queue.
 */
export function assertTreeJobBounds(options: Pick<TreeJobProcessorOptions, "localRoots" | "remoteRoots" | "servers">): void {
  boundsOf(options);
}

/**
 * The processor's bounds, ready to compare. Throws a TypeError for
 * `localRoots` or `servers` missing or no array (ERR_INVALID_ARG_TYPE),
 * either empty or any list holding an item empty or no string
 * (ERR_INVALID_ARG_VALUE): a processor without them would go wherever a
 * job from the queue says. A server that is no FTP URL throws as
 * parseFtpUrl does.
 */
function boundsOf(options: Pick<TreeJobProcessorOptions, "localRoots" | "remoteRoots" | "servers">): JobBounds {
  // For a required one, what a job would decide without it.
  const given = (list: readonly string[] | undefined, what: string, unbounded?: string): readonly string[] | undefined => {
    if (list === undefined && unbounded === undefined) return undefined;
    if (list === undefined)
      throw invalidOption(`${what} is required: without it a job from the queue decides ${unbounded}`, "ERR_INVALID_ARG_TYPE");
    const items: unknown = list;
    if (!Array.isArray(items)) throw invalidOption(`${what} takes a list of paths or URLs, none empty`, "ERR_INVALID_ARG_TYPE");
    if (unbounded !== undefined && items.length === 0)
      throw invalidOption(`${what} must hold at least one: without one a job from the queue decides ${unbounded}`, "ERR_INVALID_ARG_VALUE");
    if (items.some((item) => typeof item !== "string" || item === ""))
      throw invalidOption(`${what} takes a list of paths or URLs, none empty`, "ERR_INVALID_ARG_VALUE");
    return list;
  };
  const locals = given(options?.localRoots, "localRoots", "which local directory is written or read") ?? [];
  const remotes = given(options?.remoteRoots, "remoteRoots");
  const servers = given(options?.servers, "servers", "which server the worker connects to, and sends its login to") ?? [];
  for (const remote of remotes ?? []) assertNoClimb(remote, "as a remote root");
  return {
    localRoots: locals.map((root) => resolve(root)),
    remoteRoots: remotes?.map(remoteSegments),
    servers: servers.map((server) => parseFtpUrl(server)),
  };
}

/** Whether the job's server `server` (checked by unusableServer) is one of `allowed`: scheme, host and port, and user where it names one. */
function isAllowedServer(server: string, allowed: readonly FtpUrl[]): boolean {
  const url = parseFtpUrl(server);
  return allowed.some(
    (one) =>
      one.security === url.security &&
      one.host.toLowerCase() === url.host.toLowerCase() &&
      one.port === url.port &&
      (one.user === undefined || one.user === url.user),
  );
}

/** Where a job's file is on this machine: `path` below `root`, each level of `path` checked for links. */
interface LocalPlace {
  root: string;
  path: string;
  /** The levels of `path` from `root` down to the job's local root, `/`-separated ("" for none). */
  between: string;
}

/**
 * Where the job's file is on this machine, within `bounds`: refused
 * (ERR_FTP_BAD_JOB) when its server or a root is none the worker allows.
 * A local root below an allowed one is placed from that one down, its
 * levels between put before the path, so that every one of them is
 * checked for links as the path's own are. Of the allowed roots it is
 * below, the deepest places it, whatever their order: an allowed root
 * may itself be a link (`--local-root /var/run`), which is how a worker
 * given `/` too serves jobs through one. Before, the first in the list
 * did, and `/` given first refused them.
 */
function placeWithin(data: TreeJob, bounds: JobBounds): LocalPlace {
  const refused = (what: string): FtpError => new FtpError(`refusing the job's ${what}: the worker is not given it`, "ERR_FTP_BAD_JOB");
  if (!isAllowedServer(data.server, bounds.servers)) throw refused("server");
  if (bounds.remoteRoots) {
    const roots = bounds.remoteRoots;
    const within = (path: string): boolean => {
      const remote = remoteSegments(path);
      return roots.some((root) => root.length <= remote.length && root.every((segment, i) => remote[i] === segment));
    };
    // The file's path as it is sent too: a root of blanks alone (` `, below `.`) made ` /etc/passwd` of `etc/passwd`,
    // which a server trimming its argument opens as /etc/passwd.
    if (!within(data.remote) || !within(joinRemote(data.remote, data.path))) throw refused(`remote root ${JSON.stringify(data.remote)}`);
  }
  const local = resolve(data.local);
  let place: (LocalPlace & { depth: number }) | undefined;
  for (const root of bounds.localRoots) {
    const between = relative(root, local);
    const levels = between === "" ? [] : between.split(sep);
    if (isAbsolute(between)) continue;
    // `..` first: not below this root.
    if (levels.some((level) => unsafeNameReason(level) !== undefined)) continue;
    if (place === undefined || levels.length < place.depth)
      place = { root, path: [...levels, data.path].join("/"), between: levels.join("/"), depth: levels.length };
  }
  if (place === undefined) throw refused(`local root ${JSON.stringify(data.local)}`);
  return { root: place.root, path: place.path, between: place.between };
}

/** How many remote directories a processor remembers as made (see KnownDirs). */
export const MAX_KNOWN_DIRS = 1000;

/**
 * Remote directories an upload job made (ensureDir succeeded), `server dir`,
 * so later jobs there skip ensureDir's round trips. At most MAX_KNOWN_DIRS,
 * the oldest forgotten first: a worker runs for days, uploading to ever new
 * directories (dated ones), and a forgotten one only costs an MKD again.
 */
class KnownDirs {
  private readonly dirs = new Set<string>();

  has(key: string): boolean {
    return this.dirs.has(key);
  }

  add(key: string): void {
    this.dirs.add(key);
    if (this.dirs.size > MAX_KNOWN_DIRS) this.dirs.delete(this.dirs.values().next().value as string);
  }
}

/** A server's FtpPool in this process (one per poolKey), and the jobs running on it. */
interface PoolEntry {
  pool: FtpPool;
  /** Its endpointKey: what its connections count against in the leases. */
  endpoint: string;
  /** Whether to close the connection a job used, for another worker waiting for one (see ConnectionLeases.handBack). */
  handBack?: () => Promise<boolean>;
  running: number;
  idle?: NodeJS.Timeout;
}

/**
 * Makes the processor a queue worker runs for each job (with BullMQ:
 * `new Worker(name, (job) => processor.process(job), ...)`). One FtpPool
 * per server, user and credential (see poolKey), made at its first job
 * and closed when idle; the connection cap (`leases`) counts every pool
 * of one endpoint together (see endpointKey).
 */
export function createTreeJobProcessor(options: TreeJobProcessorOptions): TreeJobProcessor {
  const pools = new Map<string, PoolEntry>();
  const idleMs = options.idleMs ?? 5000;
  const progressMs = options.progressMs ?? 500;
  const madeDirs = new KnownDirs();
  const bounds = boundsOf(options);

  const closePool = async (key: string, entry: PoolEntry): Promise<void> => {
    if (pools.get(key) === entry) pools.delete(key);
    await entry.pool.close();
    await options.leases?.sweep();
  };

  const poolFor = (server: string): [string, PoolEntry] => {
    const url = parseFtpUrl(server);
    const key = poolKey(url);
    let entry = pools.get(key);
    if (!entry) {
      const endpoint = endpointKey(url);
      const connect = (): Promise<FTP> => options.connect(server);
      const leases = options.leases;
      const pool = new FtpPool({ size: options.poolSize ?? 4, connect: leases ? leases.wrap(endpoint, connect) : connect });
      entry = { pool, endpoint, running: 0, handBack: leases ? () => leases.handBack(endpoint) : undefined };
      pools.set(key, entry);
    }
    return [key, entry];
  };

  const process = async (job: TreeJobLike): Promise<TreeJobResult> => {
    try {
      return await run(job);
    } catch (error) {
      // Failures another attempt cannot cure (a refused login, a refused path) fail the job at once.
      throw asJobFailure(error);
    }
  };

  const run = async (job: TreeJobLike): Promise<TreeJobResult> => {
    const data = job.data;
    checkJob(data);
    const local = placeWithin(data, bounds);
    const [key, entry] = poolFor(data.server);
    entry.running++;
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    let last = 0;
    const report = (bytes: number, force = false): void => {
      const now = Date.now();
      if (!force && now - last < progressMs) return;
      last = now;
      job.updateProgress({ path: data.path, bytes, size: data.size }).catch(() => undefined);
    };
    try {
      const pool = handingBack(entry);
      const result =
        data.direction === "download"
          ? await downloadJob(pool, data, local, report)
          : await uploadJob(pool, data, local, report, options.allowHardLinks === true, {
              // Per pool, not per endpoint: its user as written (on most servers `Bob` and `bob` are two accounts, two homes).
              has: (dir) => madeDirs.has(`${key} ${dir}`),
              made: (dir) => madeDirs.add(`${key} ${dir}`),
            });
      report(result.bytes, true);
      return result;
    } catch (error) {
      throw withRootHint(error, local, data.local);
    } finally {
      await options.leases?.sweep();
      entry.running--;
      if (entry.running === 0 && pools.get(key) === entry) {
        entry.idle = setTimeout(() => void closePool(key, entry).catch(() => undefined), idleMs);
        entry.idle.unref();
      }
    }
  };

  const close = async (): Promise<void> => {
    const entries = [...pools];
    for (const [, entry] of entries) if (entry.idle) clearTimeout(entry.idle);
    await Promise.all(entries.map(([key, entry]) => closePool(key, entry)));
  };

  return { process, close };
}

/**
 * `error`, or, when it refuses a link on the levels between the worker's
 * local root and the job's (see placeWithin), the same refusal saying how
 * to serve such jobs: give that directory as a local root. Such a link is
 * not followed whoever made it (a system's /var/run -> /run too): the
 * check cannot tell it from one planted to send a job's writes elsewhere.
 */
function withRootHint(error: unknown, local: LocalPlace, jobLocal: string): unknown {
  if (!(error instanceof FtpPathError) || error.reason !== "link" || local.between === "") return error;
  if (local.between !== error.path && !local.between.startsWith(`${error.path}/`)) return error;
  return new FtpPathError(
    error.path,
    "link",
    `${error.message}, on the way from the worker's local root ${JSON.stringify(local.root)} to the job's ${JSON.stringify(jobLocal)}: ` +
      "a link there is not followed, whoever made it; to serve jobs through it, give it (or where it leads) as a local root (--local-root)",
  );
}

/**
 * The pool as a job uses it: when another worker waits for a connection to
 * this server, the client a task used is closed after it (the pool drops
 * it, and its lease is given back).
 */
function handingBack(entry: PoolEntry): Pick<FtpPool, "use"> {
  const handBack = entry.handBack;
  if (!handBack) return entry.pool;
  return {
    use: (task, options) =>
      entry.pool.use(async (client, taskOptions) => {
        const result = await task(client, taskOptions);
        if (await handBack().catch(() => false)) await client.quit().catch(() => client.close());
        return result;
      }, options),
  };
}

/** The remote time of `path`, or null when the server cannot tell (no MDTM, or not there). */
async function remoteTime(client: FTP, path: string): Promise<Date | null> {
  try {
    return await client.lastMod(path);
  } catch (error) {
    if (isRefusal(error)) return null;
    throw error;
  }
}

async function downloadJob(
  pool: Pick<FtpPool, "use">,
  data: TreeJob,
  local: LocalPlace,
  report: (bytes: number) => void,
): Promise<TreeJobResult> {
  const remotePath = joinRemote(data.remote, data.path);
  const target = join(local.root, local.path);
  await assertRealDirs(local.root, local.path);
  let modified = data.modified ? new Date(data.modified) : null;
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    throw new FtpPathError(data.path, "link", `refusing to replace ${JSON.stringify(data.path)}: it is a link in the target`);
  }
  // Refused before the transfer, not by the rename after it: a directory in the way failed only once the file had come.
  if (existing && !existing.isFile()) {
    const what = existing.isDirectory() ? "a directory" : "a special file";
    throw new FtpPathError(data.path, "special", `refusing to replace ${JSON.stringify(data.path)}: it is ${what} in the target`);
  }
  if (existing?.isFile() && existing.size === data.size) {
    modified ??= await pool.use((client) => remoteTime(client, remotePath));
    // mtimeMs, not mtime: Node rounds that to the millisecond, a copy written at x.9996 s (whose upload job stamped x) to x+1 s.
    if (modified && sameSecond(new Date(existing.mtimeMs), modified)) return { outcome: "skipped", bytes: 0 };
  }
  // The worker's root as given (it may be a link, and be made with what leads to it); below it level by level, each
  // checked once made: a recursive mkdir made every missing level through a link swapped in meanwhile.
  await mkdir(local.root, { recursive: true });
  await makeRealDirs(local.root, local.path);
  // The job's own levels (not those up to its root, the enqueuer's spelling): a file there under another spelling is another job's.
  const ownName = (found: { dev: bigint; ino: bigint }): Promise<void> =>
    assertOwnSpelling(join(local.root, local.between), data.path, found);
  // writeThroughPart checks again after mkdir: nothing on the way may be a link.
  const bytes = await writeThroughPart(
    local.root,
    local.path,
    (sink) =>
      pool.use(async (client) => {
        let bytes = 0;
        const onProgress = (p: TransferProgress): void => {
          bytes = p.bytes;
          report(p.bytes);
        };
        // With its EPSV (once the port is known reachable), as the tree transfers do: a round trip less per file.
        // maxFileSize (a v 2 job's): a file announced larger is not fetched, one that grows past it aborted (FtpLimitError).
        // A size of 0 is also what a listing without sizes enqueues: then SIZE is asked before the RETR
        // (verifySize), so a cut that ended in 226 with no size in its 150 is still caught; a refused SIZE
        // leaves the 226 as all there is, as in the tree downloads.
        const verifySize = data.size > 0 ? undefined : true;
        await client.retrbinary(`RETR ${remotePath}`, sink, {
          onProgress,
          commandWithEpsv: true,
          maxFileSize: data.maxFileSize,
          verifySize,
        });
        // A cut that ended in 226 (no size in the 150) must not be renamed into place as the file.
        await checkListedSize(client, remotePath, data.size > 0 ? data.size : null, bytes);
        return { bytes, modified: modified ?? (await remoteTime(client, remotePath)) };
      }),
    undefined,
    ownName,
  );
  return { outcome: "transferred", bytes };
}

async function uploadJob(
  pool: Pick<FtpPool, "use">,
  data: TreeJob,
  local: LocalPlace,
  report: (bytes: number) => void,
  allowHardLinks: boolean,
  dirs: { has(dir: string): boolean; made(dir: string): void },
): Promise<TreeJobResult> {
  await assertRealDirs(local.root, local.path);
  const info = await lstat(join(local.root, local.path));
  if (!info.isFile()) throw new FtpPathError(data.path, "special", `${JSON.stringify(data.path)} is no longer a file here`);
  // Opened now, and only if it is still that file (no link, FIFO or other
  // file put there since): the round trips below leave time to swap it.
  const file = await openWalkedFile(local.root, local.path, { dev: info.dev, ino: info.ino });
  try {
    // Of what was opened: a link made after the lstat above counts too.
    if (file.opened.nlink > 1 && !allowHardLinks) {
      throw new FtpPathError(
        data.path,
        "link",
        `refusing to upload ${JSON.stringify(data.path)}: it has ${file.opened.nlink} hard links, and one may be a file outside ` +
          "the local roots (allowHardLinks, worker --allow-hard-links, to send it)",
      );
    }
    return await pool.use((client) => sendJobFile(client, data, file, report, dirs));
  } finally {
    await file.handle.close();
  }
}

/** uploadJob's part on a connection: skipped when the target matches, else STOR to the part name, checked, stamped and renamed. */
async function sendJobFile(
  client: FTP,
  data: TreeJob,
  file: OpenedFile,
  report: (bytes: number) => void,
  dirs: { has(dir: string): boolean; made(dir: string): void },
): Promise<TreeJobResult> {
  const size = file.opened.size;
  const modified = floorSecond(new Date(file.opened.mtimeMs));
  const remotePath = joinRemote(data.remote, data.path);
  const part = remotePartName(remotePath);
  if ((await remoteSize(client, remotePath)) === size) {
    const time = await remoteTime(client, remotePath);
    if (time && sameSecond(time, modified)) return { outcome: "skipped", bytes: 0 };
  }
  const dir = posix.dirname(remotePath);
  if (!dirs.has(dir)) {
    await client.ensureDir(dir);
    // Only now: an ensureDir cut off (a dropped connection) must run again in the job's retry.
    dirs.made(dir);
  }
  // Renamed only while the part holds what was sent (SIZE, written with the RNFR): a worker running this
  // job too at once (a stalled lock) may be writing it. Then it is that worker's, left alone (part-upload.ts).
  try {
    const bytes = await uploadThroughPart(client, {
      name: data.path,
      part,
      target: remotePath,
      send: async () => {
        // STOR, never APPE: a part left by a killed run is truncated, so nothing is appended twice.
        const upload = client.storbinary(`STOR ${part}`, { commandWithEpsv: true });
        upload.on("progress", (p: TransferProgress) => report(p.bytes));
        await pipeSettled(file.handle.createReadStream({ autoClose: false }), upload);
        // Read whole and unchanged, or the job fails (and runs again).
        await assertReadWhole(file, upload.bytes, data.path);
        // Set on the part: the rename keeps it, so the target appears complete with its time.
        await client.setLastMod(part, modified).catch(() => undefined);
        return upload.bytes;
      },
      // Servers that refuse to rename over a file (550 exists): the target is deleted, then renamed, where MLST or SIZE shows a file.
      targetIsFile: () => isPlainFile(client, remotePath),
      pipelining: true,
      deletePart: async () => {
        if (!client.closed) await client.delete(part).catch(() => undefined);
      },
    });
    return { outcome: "transferred", bytes };
  } catch (error) {
    // The target is gone and the part is the only copy: another attempt would STOR over it. The job fails at once.
    if (keptAtPart(error)) throw new FtpUnrecoverableJobError(error);
    throw error;
  }
}
