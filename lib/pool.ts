/**
 * A small pool of logged-in clients for parallel transfers, and a
 * segmented download of one big file over several connections (each
 * segment starts with REST and is cut off with ABOR at its end).
 */
import "./dispose.js";
import { MAX_TIMER_MS } from "./timeout-option.js";
import { FileHandle, rename, rm } from "node:fs/promises";
import { Stream } from "node:stream";
import type { FTP } from "./client.js";
import { notePool, tagPoolClient } from "./debug.js";
import { abortError, onAbortOf } from "./abort-signal.js";
import { FtpError, FtpPathError, FtpSizeMismatchError } from "./errors.js";
import { QUEUE_SETTLED } from "./keepalive.js";
import { EPSV_REACHED } from "./passive-hint.js";
import { WRITES_AHEAD } from "./transfer-ahead.js";
import { assertNotLink, createPart, keepModeOf, partName } from "./part-file.js";
import { PoolConnect, poolConnect, Reconnector } from "./reconnect.js";
import { LossesInRow, type LeaseEnd } from "./pool-losses.js";
import { DirTransferOptions, DirTransferResult, downloadDir, TreeWorkers, uploadDir } from "./sync.js";
import { ignore } from "./ignore.js";
import { isSecurityFailure } from "./security-verbs.js";
import { SOURCE_STAMP, stampChange } from "./segment-source.js";

export interface FtpPoolOptions {
  /**
   * Makes one connected, logged-in client (e.g. `() => FTP.connect(url)`).
   * When it rejects, the use() that asked for the client rejects with its
   * error, and so does every use() waiting for a client while the pool has
   * none, connected or connecting: an outage fails the calls, it does not
   * leave them waiting.
   *
   * A refusal that says the server allows no more connections (a 421, or
   * a 4xx/5xx such as proftpd's `530 Sorry, the maximum number of clients
   * ... are already connected`: see {@link isConnectionLimit}) while the
   * pool has other clients, connected or connecting, is not a failure: the
   * pool shrinks to the clients it has (its `capacity`, for the rest of its
   * life; a debug line on the clients' output says so) and the use() waits
   * for one of them. With no other client, the refusal is the error.
   *
   * Clients made here with `retry` do not retry that refusal while the pool
   * has other clients (the pool shrinks at once instead; its first
   * connection and later reconnects retry it as usual), and stop retrying
   * when the pool closes first. The pool knows them by the async context
   * of this call: nothing needs passing on.
   *
   * A client that failed to secure its connection (FTP_TLS: a refused
   * certificate, AUTH TLS answered 234 and no TLS after it, AUTH TLS, PBSZ
   * or PROT P refused with a 5xx) is never passed over as a transient failure, since
   * a downgrade looks like that: a client made here with `retry` does not
   * try it again on a new connection, and when no call was waiting on
   * that connect (a tree transfer's warm-up opens every client at once)
   * the next call that asks the pool for a client rejects with it (a tree
   * transfer records it against the path whose task asked), instead of
   * the work going on in silence on the other clients.
   */
  connect: () => Promise<FTP>;
  /** Most clients at once. Default 4. Fewer once the server refuses more (see `connect`). */
  size?: number;
  /**
   * Milliseconds a transfer stream that a task returned (`use(client =>
   * client.retrbinary(...))`) may hold its client's connection without
   * moving a byte (its `bytes`) while a call waits for a client, before the
   * pool closes that client: the stream then errors with FtpClosedError
   * and the waiting call gets a new client. Nothing is closed while no
   * call waits, nor while the stream moves (a slow reader is no reader
   * gone). Without it, a pool of one whose task returned a download that
   * is read only after the next use() waited for ever. Work left by a task
   * that rejected (a download it started, then threw) has nobody to read
   * it: closed the same way once a call has waited that long. Work a task
   * that resolved left without returning it as its value (a stream inside
   * an object) is not watched: the pool cannot see it move, and would cut
   * it while it is read; it holds its client until it settles, or
   * close(). Default 30000 (the clients' own default `timeout`);
   * `Infinity` waits as long as the work takes. A value that is no number
   * throws a TypeError (`code` ERR_INVALID_ARG_TYPE), one below 0 or NaN a
   * RangeError (ERR_OUT_OF_RANGE).
   */
  leftoverTimeout?: number;
}

export interface SegmentedDownloadOptions {
  /**
   * Connections to use at once, a whole number from 1 up. Default: the
   * pool's `capacity` (its size, or fewer once the server refused more).
   */
  segments?: number;
  /** Smallest segment worth a connection, in bytes, above 0. Default 8 MiB. */
  minSegmentSize?: number;
  /**
   * Aborting it cancels the call's waits for a client (see
   * {@link PoolUseOptions.signal}), its SIZE and FEAT (their client is
   * closed: a command has no ABOR, and a server that stopped answering
   * would hold it) and the segments under way (ABOR);
   * the part file is removed and the call rejects with an AbortError
   * (`code` ABORT_ERR, the signal's reason as its `cause`).
   */
  signal?: AbortSignal;
}

/** Options of {@link FtpPool.use}; the second argument its task is called with. */
export interface PoolUseOptions {
  /**
   * Cancels the call while it waits for a client: it leaves the line at
   * once (nothing runs, no client is held or connected for it) and
   * rejects with an AbortError (`code` ABORT_ERR, the signal's reason as
   * its `cause`), as it does at once when the signal is already aborted.
   * Once the task has its client, the signal is the task's to honour: it
   * gets it as `options.signal` (pass it on to transfers, as
   * `retrbinary(cmd, { signal })`), and the call settles with the task.
   * A value that is no AbortSignal rejects the call with a TypeError
   * (`code` ERR_INVALID_ARG_TYPE), as Node's own calls do.
   */
  signal?: AbortSignal;
}

/** Options of {@link FtpPool.close}. */
export interface PoolCloseOptions {
  /**
   * Milliseconds close() gives the work under way on its clients (what a
   * running task has started, and each client's QUIT) to end before it
   * closes every connection still open at once: their calls reject with
   * FtpClosedError, and close() resolves. Default 30000 (the clients' own
   * default `timeout`). 0 closes them at once, without waiting for
   * anything; `Infinity` (or more than a timer holds, 2^31 - 1) waits as
   * long as the work takes. Unlike
   * FtpOptions.timeout, 0 is not "none": this is a grace period, not a
   * wait for a server to answer.
   */
  timeout?: number;
}

/** close()'s default grace period (see PoolCloseOptions.timeout). */
const CLOSE_TIMEOUT = 30_000;

/** FtpPoolOptions.leftoverTimeout's default. */
const LEFTOVER_TIMEOUT = 30_000;

/** How many times per leftoverTimeout the pool looks at the clients held back by leftover work. */
const LEFTOVER_LOOKS = 4;

/** How a task ended: what it returned, or that it rejected. */
type TaskEnd = { failed: false; returned: unknown } | { failed: true };

/** A client held back by work its task left (see FtpPool.release): what its task returned, and when that last moved. */
interface Leftover {
  /** What the task returned (nothing when it rejected): a transfer stream's `bytes` say whether the work moves. */
  returned: unknown;
  bytes: number | undefined;
  /** When it last moved, or when a call began to wait for a client: the clock runs only while one waits. */
  since: number;
}

/** Pools made so far in this process; numbers their debug tags. */
let poolsMade = 0;

/** A use() waiting for a client: handed one, or rejected (the connect failed, the pool closed). */
interface Waiter {
  resolve: (client: FTP) => void;
  reject: (error: unknown) => void;
  /** A tree task that may share its client (see lease). */
  shared: boolean;
  /** What cancels the wait (see PoolUseOptions.signal): also the wait for a replacement client once the waiter has left the line. */
  signal: AbortSignal | undefined;
}

export class FtpPool {
  private readonly connect: () => Promise<FTP>;
  private readonly size: number;
  /** Most clients at once now: `size`, or what the server allowed once it refused more (see FtpPoolOptions.connect). */
  private limit: number;
  private readonly idle: FTP[] = [];
  private readonly all = new Set<FTP>();
  private readonly waiting: Waiter[] = [];
  private opening = 0;
  /** Clients opened so far: a client's index in its debug tag (`ftp#3@pool#1[0]`). */
  private opened = 0;
  private readonly debugTag = `pool#${++poolsMade}`;
  private isClosed = false;
  /** A debug note that came while no client was there to say it on (see open()). */
  private unsaid: string | undefined;
  /** A client of this pool got through to one of the server's EPSV ports (see passive-hint.ts). */
  private epsvReached = false;
  /** The `retry` clients the `connect` function is making now (see open()): close() abandons them. */
  private readonly connecting = new Set<Reconnector>();
  /** What closes each client the `connect` function is making now (see open()): close() calls them. */
  private readonly clientsConnecting = new Set<() => void>();
  /** Rejects each open() still waiting on the `connect` function: close() calls them (see untilClosed). */
  private readonly abandonOpens = new Set<(error: Error) => void>();
  /** Clients held by tree tasks that may share them (see lease), each with how many hold it: 1 or 2. */
  private readonly shares = new Map<FTP, number>();
  /**
   * Clients given back with work still on their queue (see release): held
   * back until it has settled; close() closes them instead of quitting
   * behind it.
   */
  private readonly settling = new Set<FTP>();
  /** close()'s promise, once called: later calls get it too. */
  private closing: Promise<void> | undefined;
  /** The clients close() is ending (quitting, or closing): it resolves once none is left. */
  private readonly ending = new Set<FTP>();
  /**
   * Clients a task held when close() came, with a promise that settles once
   * what was on the client's queue then has run (undefined: nothing was):
   * what is still there when the task gives the client back was left
   * behind (see retire).
   */
  private readonly heldAtClose = new Map<FTP, Promise<void> | undefined>();
  /** When close() closes every connection still open (ms since the epoch), and the timer that does it. */
  private deadline = Infinity;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Resolves close() once `ending` is empty. */
  private ended: () => void = ignore;
  /**
   * Failures to secure a connection that no call was waiting on (see
   * FtpPoolOptions.connect): each rejects the next call that asks for a
   * client, in turn.
   */
  private readonly unreported: unknown[] = [];
  /** See FtpPoolOptions.leftoverTimeout. */
  private readonly leftoverTimeout: number;
  /** The clients in `settling`, watched for progress (see lookAtLeftovers). */
  private readonly leftovers = new Map<FTP, Leftover>();
  private leftoverTimer: NodeJS.Timeout | undefined;
  /** The `retry` of each client made with it (see open()): how many connections it lost (see connectionsLost). */
  private readonly retries = new WeakMap<FTP, readonly Reconnector[]>();

  constructor(options: FtpPoolOptions) {
    if (typeof options?.connect !== "function") {
      throw Object.assign(new TypeError(`connect must be a function that makes a client, got ${typeof options?.connect}`), {
        code: "ERR_INVALID_ARG_TYPE",
      });
    }
    this.connect = options.connect;
    this.size = options.size ?? 4;
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw Object.assign(new RangeError(`size must be a positive integer, got ${this.size}`), { code: "ERR_OUT_OF_RANGE" });
    }
    this.limit = this.size;
    this.leftoverTimeout = options.leftoverTimeout ?? LEFTOVER_TIMEOUT;
    checkNumber("leftoverTimeout", this.leftoverTimeout, this.leftoverTimeout >= 0, "a number of milliseconds from 0 up");
  }

  /** How many clients the pool may hold: its size, or fewer once the server refused more connections (see FtpPoolOptions.connect). */
  get capacity(): number {
    return this.limit;
  }

  /**
   * Runs `task` with a client of its own, then returns the client to the
   * pool. A client that ended closed (timeout, dropped connection), or was
   * found closed while idle (its `keepAlive` NOOP failed, the server hung
   * up), is dropped and a new one made instead: a dead client is never
   * handed out. Clients made with `keepAlive` keep their NOOPs going while
   * idle in the pool. A client the task left work on (a transfer it never
   * read to its end) goes to no other task until that work has settled,
   * and close() closes it; a transfer stream the task returned that moves
   * no byte while a call waits gets it closed after
   * {@link FtpPoolOptions.leftoverTimeout}.
   *
   * With `signal`, a call waiting for a client (all busy, or its client
   * still connecting) leaves the line as soon as the signal aborts and
   * rejects with an AbortError, and one whose signal is already aborted
   * rejects at once: `task` never runs, and a client connected for it goes
   * to the next call. Once `task` runs, it is called with `{ signal }` and
   * the signal is its to honour (see {@link PoolUseOptions.signal}).
   *
   * A task keeps its client until it returns. One that calls use(),
   * downloadDir(), uploadDir() or downloadSegmented() of the same pool and
   * waits for it waits for a client while holding one: when every client
   * the pool may have is held that way (a pool of one, or as many nested
   * tasks as clients), nothing is ever given back and the calls wait until
   * close() or their signal. Use the client the task was given instead, or
   * another pool.
   */
  use<T>(task: (client: FTP, options: PoolUseOptions) => Promise<T>, options: PoolUseOptions = {}): Promise<T> {
    return this.lease(task, false, options.signal, abortError);
  }

  /**
   * use(), and with `shared` a tree task whose download may be written
   * ahead of its turn (transfer-ahead.ts): when no client is free it may
   * get one that another such task holds, on a server where that works
   * (WRITES_AHEAD), and its download goes out while the other's runs.
   * `signal` cancels the wait for a client, rejecting with `aborted`'s
   * error (see PoolUseOptions.signal). `ended` is told how the task ended,
   * once it ran.
   */
  private async lease<T>(
    task: (client: FTP, options: PoolUseOptions) => Promise<T>,
    shared: boolean,
    signal: AbortSignal | undefined,
    aborted: (signal: AbortSignal) => unknown,
    ended?: LeaseEnd,
  ): Promise<T> {
    checkSignal(signal);
    if (signal?.aborted) throw aborted(signal);
    let client: FTP;
    try {
      client = await this.acquire(shared, signal);
    } catch (error) {
      if (signal?.aborted && isAbortError(error)) throw aborted(signal);
      throw error;
    }
    // Once one client reached an EPSV port, the others need not connect first to find out.
    if (this.epsvReached) client[EPSV_REACHED](true);
    const lostBefore = this.connectionsLost(client);
    let end: TaskEnd = { failed: true };
    try {
      const returned = await task(client, { signal });
      end = { failed: false, returned };
      return returned;
    } finally {
      if (!this.epsvReached && client[EPSV_REACHED]()) this.epsvReached = true;
      ended?.(client, end.failed, this.connectionsLost(client) - lostBefore);
      if (shared) this.releaseShare(client);
      else this.release(client, end);
    }
  }

  /**
   * Downloads `remotePath` into the local file `localPath` over several
   * connections at once, each writing its byte range in place. Needs SIZE;
   * without REST STREAM in FEAT it downloads over one connection. Resolves
   * to the number of bytes written.
   *
   * The bytes go to a part file beside `localPath` (`.<name>.ftpstream-part`,
   * created exclusively), renamed over `localPath` only once every segment
   * is complete. When a segment fails, the others are aborted, the part
   * file is removed and the call rejects with the first failure: no file
   * of the full size with holes in it is left to look complete, and a file
   * already at `localPath` is left as it was (replaced, it keeps its
   * permission bits, see keepModeOf). `signal` cancels it the same
   * way (see {@link SegmentedDownloadOptions.signal}). A symbolic link at
   * `localPath` is not replaced, as `get` and the tree downloads refuse one:
   * FtpPathError (`reason: "link"`) before anything is fetched, or before
   * the rename for a link put there meanwhile.
   *
   * The segments start at different times on different connections, so
   * SIZE and MDTM are asked (in one write, on one of the pool's clients)
   * before the first starts and again after the last ended: when either
   * moved, the file was replaced or changed meanwhile and what the
   * segments read may be two versions spliced; the call rejects with
   * FtpSourceChangedError (`reason` `"changed"`), leaving no part file and
   * a file already at `localPath` as it was. It costs one MDTM with the
   * first SIZE (same round trip) and one SIZE + MDTM round trip at the
   * end. Where the server refuses MDTM, the size alone is compared: a
   * replacement of the same size is then not seen. SIZE is needed anyway
   * (no SIZE: FtpError `ERR_FTP_NO_SIZE`), so there is always that. MDTM
   * has the server's precision (often a second) and a replacement that
   * keeps the old time and size (a copy preserving times) is not seen
   * either; neither is a file rewritten in place and back before the end.
   */
  async downloadSegmented(remotePath: string, localPath: string, options: SegmentedDownloadOptions = {}): Promise<number> {
    const { signal, segments } = options;
    // Checked before anything is sent: a count that is no whole number made ranges that left the
    // file's end (or all of it) unwritten, renamed into place as complete.
    if (segments !== undefined) checkNumber("segments", segments, Number.isInteger(segments) && segments >= 1, "a whole number from 1 up");
    const minimum = options.minSegmentSize ?? 8 * 1024 * 1024;
    checkNumber("minSegmentSize", minimum, minimum > 0, "a number of bytes above 0");
    const [before, features] = await this.use(
      (client) => untilAborted(client, signal, async () => [await client[SOURCE_STAMP](remotePath), await client.features()] as const),
      { signal },
    );
    const size = before.size;
    if (size instanceof FtpError) throw size;
    if (size === null) throw new FtpError(`the server gave no SIZE for ${remotePath}`, "ERR_FTP_NO_SIZE");
    // Segments start with REST: a server whose FEAT lists no REST STREAM gets one connection.
    const restless = features.size > 0 && features.get("REST")?.toUpperCase() !== "STREAM";
    const count = restless ? 1 : Math.max(1, Math.min(segments ?? this.limit, Math.ceil(size / minimum)));
    const step = Math.ceil(size / count);
    // A file of fewer bytes than count × (count - 1) leaves the last ranges
    // empty, or starting past its end (5 bytes in 4: 0-2, 2-4, 4-5, 6-5): no
    // connection for them, nor a REST the server would answer past the end.
    const ranges = Array.from({ length: count }, (_, i) => ({ start: i * step, end: Math.min(size, (i + 1) * step) })).filter(
      (range, i) => i === 0 || range.start < range.end,
    );
    const part = partName(localPath);
    // As get and the tree downloads: the rename would put the file in the link's place, and the link is the user's.
    const replaced = await assertNotLink(localPath, localPath);
    // The rename cannot put a file in a directory's place (EISDIR): the whole file was fetched and thrown away, call after call.
    if (replaced?.isDirectory()) {
      throw new FtpPathError(localPath, "directory", `refusing to replace ${JSON.stringify(localPath)}: it is a directory`);
    }
    const file = await createPart(part, undefined, localPath, replaced);
    let complete = false;
    try {
      try {
        await keepModeOf(file, replaced);
        await file.truncate(size);
        await allOrAbort(
          ranges,
          (range, segment) => this.use((client) => downloadRange(client, remotePath, range, size, file, segment), { signal }),
          signal,
        );
        // Segments started at different times: the file may have been replaced between them.
        const after = await this.use((client) => untilAborted(client, signal, () => client[SOURCE_STAMP](remotePath)), { signal });
        const change = stampChange(remotePath, before, after);
        if (change) throw change;
      } finally {
        await file.close();
      }
      // A link put there while the segments ran is not replaced either.
      await assertNotLink(localPath, localPath);
      await rename(part, localPath);
      complete = true;
    } finally {
      if (!complete) await rm(part, { force: true });
    }
    return size;
  }

  /**
   * FTP.downloadDir over the pool: directories are listed and files
   * fetched on all of its connections at once. See {@link FTP.downloadDir}.
   * A client whose connection is lost is replaced, but once twice as many
   * tasks as the pool's size lost their connection in a row (or failed to
   * connect) with no task ending well between, the files and directories
   * left fail at once with the last loss's error, without connecting: a
   * server that drops every connection is not logged into once per file.
   * A task whose client has `retry` and reconnected in it is one such loss
   * when it fails, however many connections it lost: each costs the
   * retry's attempts + 1 logins.
   */
  downloadDir(remote: string, local: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return downloadDir(this.treeWorkers(options.signal), remote, local, options);
  }

  /**
   * FTP.uploadDir over the pool: directories are listed and files sent on
   * all of its connections at once. See {@link FTP.uploadDir}. Lost
   * connections end it as they end downloadDir().
   */
  uploadDir(local: string, remote: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return uploadDir(this.treeWorkers(options.signal), local, remote, options);
  }

  /**
   * Tree transfers on the pool: two files per client at once, so a client
   * given back while its last file's local steps (utimes, rename) run is
   * taken by the next file at once. The call's `signal` cancels each
   * task's wait for a client, which then rejects with the signal's reason
   * (as the tree call does, see DirTransferOptions.signal). Once twice as
   * many tasks as the pool holds lost their connection in a row (a task's
   * client ended closed, or its retry saw a connection lost while it ran,
   * or a connect failed) with no task ending well between, the remaining
   * tasks fail at once with the last loss's error instead of each
   * connecting again, and so does a task that waited for a client
   * meanwhile (see pool-losses.ts).
   */
  private treeWorkers(signal: AbortSignal | undefined): TreeWorkers {
    const losses = new LossesInRow(2 * this.limit);
    return {
      run: (task, options) =>
        losses.run(
          (ended, admit) =>
            this.lease(
              (client) => {
                admit();
                return task(client);
              },
              options?.shared === true,
              signal,
              (aborted) => aborted.reason,
              ended,
            ),
          () => signal?.aborted === true,
        ),
      concurrency: 2 * this.limit,
      warm: () => this.warm(),
      writeAhead: true,
    };
  }

  /**
   * Starts connecting every client the pool lacks, into `idle` (or to a
   * waiting use()), each with FEAT read: a tree transfer will want them
   * all, and its walk asks for one at a time at first, so each login and
   * FEAT (five round trips or more) would otherwise wait for a listing to
   * end. A failed connect is the
   * waiting calls' error as in use(); with none waiting it is dropped.
   */
  private warm(): void {
    if (this.isClosed) return;
    while (this.all.size + this.opening < this.limit) {
      this.open(undefined, true).then(
        // The walk's first listing on each client needs FEAT (MLSD or LIST?): asked while the client waits for work.
        (client) =>
          void client.features().then(
            () => this.release(client),
            () => this.release(client),
          ),
        () => undefined,
      );
    }
  }

  /**
   * Quits every client; later use() rejects, and so do the calls waiting
   * for a client. A task running on a client may finish what it has
   * started on its connection (what it asks after close() fails with
   * FtpClosedError); nothing reconnects after close() (see FTP.quit() under
   * `retry`), so a task whose connection drops fails instead of waiting
   * out a backoff. A client given back with work still on its queue (a
   * download the task started and never read to its end, before or after
   * close() came) is closed instead of quitting behind that work. A
   * `retry` client still being made by `connect` stops retrying and its
   * connection is closed, so that connect rejects; so is any client made
   * there and still connecting or waiting for its welcome (it would hold
   * the process until its timeout, for ever with `timeout: 0`). Any other
   * client whose connect completes after close() is closed at once, never
   * handed out.
   *
   * Resolves once every client is closed, within `timeout` (default 30 s;
   * 0 closes them at once, `Infinity` waits as long as the work takes: see
   * {@link PoolCloseOptions.timeout}): when it passes, every connection
   * still open is closed at once, whatever its task is doing, and the
   * calls on it reject with FtpClosedError. Calling it again returns the
   * same promise; a shorter `timeout` brings the deadline forward. A
   * `timeout` that is no number rejects with a TypeError (`code`
   * ERR_INVALID_ARG_TYPE), one below 0 or NaN with a RangeError
   * (ERR_OUT_OF_RANGE), the pool left open.
   */
  close(options: PoolCloseOptions = {}): Promise<void> {
    const timeout = options?.timeout ?? CLOSE_TIMEOUT;
    if (typeof timeout !== "number") {
      const error = new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`);
      return Promise.reject(Object.assign(error, { code: "ERR_INVALID_ARG_TYPE" }));
    }
    if (!(timeout >= 0)) {
      const error = new RangeError(`timeout must be a number of milliseconds from 0 up, got ${timeout}`);
      return Promise.reject(Object.assign(error, { code: "ERR_OUT_OF_RANGE" }));
    }
    this.closing ??= this.closeClients();
    this.closeWithin(timeout);
    return this.closing;
  }

  /** `await using pool = new FtpPool(...)`: close() (with its default timeout) when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** close()'s work: every client on its way out, and a promise for when none is left. */
  private closeClients(): Promise<void> {
    this.isClosed = true;
    clearTimeout(this.leftoverTimer);
    this.leftoverTimer = undefined;
    this.leftovers.clear();
    for (const waiter of this.waiting.splice(0)) waiter.reject(poolClosed());
    for (const reconnector of this.connecting) reconnector.abandon(poolClosed());
    this.connecting.clear();
    for (const closeClient of [...this.clientsConnecting]) closeClient();
    this.clientsConnecting.clear();
    for (const abandon of [...this.abandonOpens]) abandon(poolClosed());
    const idle = new Set(this.idle);
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    const allEnded = new Promise<void>((resolve) => (this.ended = resolve));
    for (const client of clients) this.ending.add(client);
    // No task holds a settling client: what is on its queue was left
    // behind (a download nobody reads), and QUIT would wait behind it.
    const settling = [...this.settling];
    this.settling.clear();
    for (const client of settling) this.closeNow(client);
    for (const client of clients) {
      if (!this.ending.has(client)) continue;
      // Held by a task: what is on its queue now is the task's to finish
      // (QUIT goes behind it); what is still there once the task gives the
      // client back was left behind (see retire).
      if (!idle.has(client)) this.heldAtClose.set(client, client[QUEUE_SETTLED]());
      this.quitNow(client);
    }
    if (this.ending.size === 0) this.ended();
    return allEnded.then(() => {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    });
  }

  /** Brings close()'s deadline to `timeout` ms from now, if that is sooner: every client still open is closed then. */
  private closeWithin(timeout: number): void {
    // Nothing left to close (a close() called again after the first one ended): no timer to keep the process alive.
    // Past what a timer holds (about 24.8 days) Node fires it after 1 ms: as long as it takes, rather.
    if (timeout > MAX_TIMER_MS || this.ending.size === 0) return;
    const deadline = Date.now() + timeout;
    if (deadline >= this.deadline) return;
    this.deadline = deadline;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (timeout === 0) {
      for (const client of [...this.ending]) this.closeNow(client);
      return;
    }
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      for (const client of [...this.ending]) this.closeNow(client);
    }, timeout);
  }

  /** QUIT, then the client closed whatever the reply; close() stops waiting for it then. */
  private quitNow(client: FTP): void {
    if (client.closed) {
      this.endedWith(client);
      return;
    }
    client.quit().then(
      () => this.endedWith(client),
      () => this.closeNow(client),
    );
  }

  /** Closes `client` at once; close() stops waiting for it, even if its close() throws (a subclass's). */
  private closeNow(client: FTP): void {
    try {
      client.close();
    } catch {
      // Closed as far as it goes: nothing more the pool can do for it.
    } finally {
      this.endedWith(client);
    }
  }

  /** close() waits for `client` no more; it resolves once it waits for none. */
  private endedWith(client: FTP): void {
    this.heldAtClose.delete(client);
    if (!this.ending.delete(client) || this.ending.size > 0) return;
    this.ended();
  }

  /**
   * A task gave back a client it held when close() came. Work still on its
   * queue from before close() that has not run by the next turn of the
   * event loop was left behind (a download nobody reads: QUIT would wait
   * behind it for ever), so the client is closed; work that ends within
   * the turn (a callback-form transfer's queue task ends a few microtasks
   * after its promise resolved) lets QUIT go as usual.
   */
  private retire(client: FTP): void {
    if (!this.heldAtClose.has(client)) return;
    const before = this.heldAtClose.get(client);
    this.heldAtClose.delete(client);
    if (!before || client.closed) return;
    let ran = false;
    void before.then(() => void (ran = true));
    setImmediate(() => {
      if (!ran && this.ending.has(client)) this.closeNow(client);
    });
  }

  /** A client for a task; `signal` cancels the wait for it (see PoolUseOptions.signal). */
  private async acquire(shared = false, signal?: AbortSignal): Promise<FTP> {
    if (this.isClosed) throw poolClosed();
    if (signal?.aborted) throw abortError(signal);
    if (this.unreported.length > 0) throw this.unreported.shift();
    for (;;) {
      const client = this.idle.pop();
      if (!client) break;
      if (!client.closed) return this.heldBy(client, shared);
      // Found dead while idle (a failed keepalive NOOP, a timeout, the
      // server hung up): replaced, never handed out.
      this.all.delete(client);
      client.close();
    }
    if (this.all.size + this.opening < this.limit) return this.heldBy(await this.openFor(signal), shared);
    // Shared only with nobody waiting: a use() that waits for a client of its own is not passed over.
    if (shared && this.waiting.length === 0) {
      for (const [client, holders] of this.shares) {
        if (holders === 1 && client[WRITES_AHEAD]()) return this.heldBy(client, true);
      }
    }
    return this.waitForClient(shared, signal);
  }

  /** `client`, counted as held once more when a shared task takes it. */
  private heldBy(client: FTP, shared: boolean): FTP {
    if (shared) this.shares.set(client, (this.shares.get(client) ?? 0) + 1);
    return client;
  }

  /**
   * A place in line for a client. When `signal` aborts, the place is
   * freed and the wait rejects at once; a client connected for it after
   * that (see handBack) goes back to the pool. Its listener goes once the
   * wait settles either way.
   */
  private waitForClient(shared = false, signal?: AbortSignal): Promise<FTP> {
    let left = false;
    let stop = ignore;
    const waited = new Promise<FTP>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (client) => {
          if (left) this.release(client);
          else resolve(shared ? this.heldBy(client, true) : client);
        },
        reject,
        shared,
        signal,
      };
      // Watched before it takes its place: a signal that cannot be watched must not leave a place nobody holds.
      if (signal) {
        stop = onAbortOf(signal, (error) => {
          left = true;
          const place = this.waiting.indexOf(waiter);
          if (place >= 0) this.waiting.splice(place, 1);
          reject(error);
        });
      }
      if (!left) this.waiting.push(waiter);
    });
    return signal ? waited.finally(() => stop()) : waited;
  }

  /**
   * open(), for a call whose `signal` may abort while it connects: the call
   * rejects at once, and the client, once connected, goes to the next
   * waiter or the idle list (a failed connect is open()'s to report).
   */
  private openFor(signal: AbortSignal | undefined): Promise<FTP> {
    const opening = this.open(signal);
    if (!signal) return opening;
    let left = false;
    let stop = ignore;
    const aborted = new Promise<never>((_, reject) => {
      stop = onAbortOf(signal, (error) => {
        left = true;
        reject(error);
      });
    });
    // Whichever comes first; the listener goes once the connect has settled either way.
    const connected = opening.finally(() => stop());
    connected.then(
      (client) => void (left && this.release(client)),
      () => undefined,
    );
    aborted.catch(() => undefined);
    return Promise.race([connected, aborted]);
  }

  /**
   * A shared task gave `client` back: to the pool once no task holds it,
   * else to the first waiting task if that one may share it. A use() that
   * waits for a client of its own (first in line) gets the next one that
   * no task holds, never passed over by shared tasks behind it.
   */
  private releaseShare(client: FTP): void {
    const holders = (this.shares.get(client) ?? 1) - 1;
    if (holders === 0) {
      this.shares.delete(client);
      this.release(client);
      return;
    }
    this.shares.set(client, holders);
    if (client.closed || this.isClosed || !client[WRITES_AHEAD]()) return;
    if (this.waiting[0]?.shared) this.waiting.shift()!.resolve(client);
  }

  /**
   * Connects a new client into a free place. When the connect fails and
   * the pool has no client left nor one connecting, every waiter rejects
   * with that error: nothing would ever hand them one. When the server refused it for its
   * connection limit while other clients are there or on their way, the
   * pool shrinks to those and the caller waits for one of them (until
   * `signal` aborts). `unclaimed`: no call waits on this connect (warm()),
   * so a failure to secure it that no waiter got is kept for the next call
   * (see unreported).
   */
  private async open(signal?: AbortSignal, unclaimed = false): Promise<FTP> {
    this.opening++;
    const index = this.opened++;
    let client: FTP;
    // The `retry` clients made in this call: while it runs, a refusal for the
    // connection limit is not retried (the pool shrinks at once instead)
    // when the pool has other clients, and close() stops their retrying.
    const made: Reconnector[] = [];
    // And what closes each client made in it, while it runs.
    const clients: Array<() => void> = [];
    let settled = false;
    // The connect function's promise settled: a client made in its context after that is not the pool's.
    // Not `settled`, which close() may bring first (see untilClosed): a client made after that never connects.
    let returned = false;
    const context: PoolConnect = {
      adopt: (reconnector) => {
        if (returned) return;
        made.push(reconnector);
        if (this.isClosed) reconnector.abandon(poolClosed());
        else this.connecting.add(reconnector);
      },
      adoptClient: (closeClient) => {
        if (returned) return;
        clients.push(closeClient);
        // Not inside the client's constructor (a subclass's is still to run).
        if (this.isClosed) queueMicrotask(closeClient);
        else this.clientsConnecting.add(closeClient);
      },
      handles: (error) => !settled && this.all.size + this.opening > 1 && isConnectionLimit(error),
    };
    try {
      const connecting = poolConnect.run(context, () => this.connect());
      const noteReturn = (): void => void (returned = true);
      connecting.then(noteReturn, noteReturn);
      client = await this.untilClosed(connecting);
    } catch (error) {
      this.opening--;
      const others = this.all.size + this.opening;
      if (others > 0 && !this.isClosed && isConnectionLimit(error)) {
        if (others < this.limit) {
          this.limit = others;
          const note = `${this.debugTag}: the server allows no more connections (${(error as FtpError).response}): ${others} from now on`;
          const [some] = this.all;
          // With every client still logging in (the warm-up starts them all at once), the first one in says it.
          if (some) notePool(some, note);
          else this.unsaid = note;
        }
        // An idle client (given back while this one connected) is taken at once; else the next one given back.
        return this.acquire(false, signal);
      }
      // Only with no client left and none on its way: while another connect may still succeed (a tree
      // transfer's warm-up starts them all at once), the calls waiting wait for it, as its own failure
      // tells them if it comes to that.
      const told = this.all.size === 0 && this.opening === 0 ? this.waiting.splice(0) : [];
      for (const waiter of told) waiter.reject(error);
      // Dropped, the work would go on on the other clients and the user never learn of what may be a downgrade.
      if (unclaimed && told.length === 0 && !this.isClosed && isSecurityFailure(error)) this.reportLater(error);
      throw error;
    } finally {
      settled = true;
      for (const reconnector of made) this.connecting.delete(reconnector);
      for (const closeClient of clients) this.clientsConnecting.delete(closeClient);
    }
    this.opening--;
    if (this.isClosed) {
      // close() came while it connected: nobody will quit it later, and an
      // open socket would keep the process alive.
      client.close();
      throw poolClosed();
    }
    tagPoolClient(client, `${this.debugTag}[${index}]`);
    this.all.add(client);
    // Its own if it made one; another made in the same call (and not returned) is closed or idle, and loses none.
    if (made.length > 0) this.retries.set(client, made);
    if (this.unsaid !== undefined) {
      notePool(client, this.unsaid);
      this.unsaid = undefined;
    }
    return client;
  }

  /**
   * How many connections `client`'s retry saw lost so far (the losses it
   * absorbed by reconnecting included): 0 for a client made without `retry`,
   * which a lost connection closes instead.
   */
  private connectionsLost(client: FTP): number {
    let lost = 0;
    for (const reconnector of this.retries.get(client) ?? []) lost += reconnector.lostConnections;
    return lost;
  }

  /** A failure to secure a connection nobody waited on: to the first call in line, else to the next one to ask (see acquire). */
  private reportLater(error: unknown): void {
    const next = this.waiting.shift();
    if (next) next.reject(error);
    else this.unreported.push(error);
  }

  /**
   * `connecting`, or a rejection with close()'s error once the pool is
   * closed first: a `connect` function that never settles (its client made
   * with `timeout: 0`, or code of the user's that hangs) must not hold the
   * use() calls waiting on it past close(). A client it makes later is
   * closed as it comes.
   */
  private untilClosed(connecting: Promise<FTP>): Promise<FTP> {
    return new Promise<FTP>((resolve, reject) => {
      const abandon = (error: Error): void => {
        this.abandonOpens.delete(abandon);
        reject(error);
        connecting.then(
          (client) => client.close(),
          () => undefined,
        );
      };
      this.abandonOpens.add(abandon);
      connecting.then(resolve, reject).finally(() => this.abandonOpens.delete(abandon));
    });
  }

  /**
   * A task gave `client` back. Work still on its queue (a transfer the task
   * started and never read to its end, or a call it did not wait for) is
   * not the next task's to wait behind: the client is held back until that
   * has settled, and close() closes it meanwhile. A callback-form transfer
   * resolves a few microtasks before its queue task ends, so most clients
   * wait that long. `ended`, how the task ended: a transfer stream it
   * returned that moves no byte for `leftoverTimeout` while a call waits,
   * or work a rejected task left, gets the client closed (see
   * lookAtLeftovers).
   */
  private release(client: FTP, ended?: TaskEnd): void {
    if (this.isClosed) {
      this.retire(client);
      return;
    }
    if (!client.closed) {
      const settled = client[QUEUE_SETTLED]();
      if (settled) {
        this.settling.add(client);
        if (ended) this.watchLeftover(client, ended);
        void settled.then(() => {
          this.unwatchLeftover(client);
          if (this.settling.delete(client)) this.handBack(client);
        });
        return;
      }
    }
    this.handBack(client);
  }

  /**
   * Starts watching a client held back by a transfer stream its task
   * returned, or by work a rejected task left (see
   * FtpPoolOptions.leftoverTimeout).
   */
  private watchLeftover(client: FTP, ended: TaskEnd): void {
    const returned = ended.failed ? undefined : ended.returned;
    const bytes = bytesOf(returned);
    // Past what a timer holds: as long as the work takes. Work a resolved task left that is not the stream it
    // returned cannot be seen to move: a stream handed back inside an object, still being read, would be cut.
    if (this.leftoverTimeout > MAX_TIMER_MS || (!ended.failed && bytes === undefined)) return;
    this.leftovers.set(client, { returned, bytes, since: Date.now() });
    this.leftoverTimer ??= this.nextLook();
  }

  /** Stops watching `client`: its leftover work has settled. The timer goes with the last one (it would hold the process). */
  private unwatchLeftover(client: FTP): void {
    this.leftovers.delete(client);
    if (this.leftovers.size > 0) return;
    clearTimeout(this.leftoverTimer);
    this.leftoverTimer = undefined;
  }

  /** The timer of the next look at the leftovers: unref'd, their sockets hold the process while they are open. */
  private nextLook(): NodeJS.Timeout {
    return setTimeout(() => this.lookAtLeftovers(), this.leftoverTimeout / LEFTOVER_LOOKS).unref();
  }

  /**
   * Closes each client held back by a returned transfer stream that moved
   * no byte for `leftoverTimeout` while a call waited for a client, or by
   * a rejected task's work (never seen to move): that work fails with
   * FtpClosedError, and the client, once its queue has settled, is
   * replaced for the call in line (see handBack). Nobody may ever read it
   * (the caller may itself wait for that call); while nobody waits it may
   * sit. Looks again while any is left.
   */
  private lookAtLeftovers(): void {
    this.leftoverTimer = undefined;
    const now = Date.now();
    for (const [client, leftover] of this.leftovers) {
      const bytes = bytesOf(leftover.returned);
      if (bytes !== leftover.bytes || this.waiting.length === 0) {
        leftover.bytes = bytes;
        leftover.since = now;
      } else if (now - leftover.since >= this.leftoverTimeout) {
        this.leftovers.delete(client);
        client.close();
      }
    }
    if (this.leftovers.size > 0) this.leftoverTimer = this.nextLook();
  }

  /** `client`, with nothing on its queue, to the first waiter or the idle list; a closed one replaced. */
  private handBack(client: FTP): void {
    if (client.closed) {
      this.all.delete(client);
      // A waiter gets a fresh client instead of the dead one (or the error of its connect).
      const next = this.waiting.shift();
      if (next) this.open(next.signal).then(next.resolve, next.reject);
      return;
    }
    // Given back after close(), which is quitting it (see retire).
    if (this.isClosed) return;
    const next = this.waiting.shift();
    if (next) next.resolve(client);
    else this.idle.push(client);
  }
}

/**
 * Whether `error` is a server's refusal of one more connection: a 421 at
 * connect or login (vsftpd's "There are too many connected users",
 * pure-ftpd's "Too many connections (3) from this IP"), or another 4xx/5xx
 * whose text says so (proftpd's `530 Sorry, the maximum number of clients
 * (3) for this user are already connected`, "too many users", "connection
 * limit").
 */
export function isConnectionLimit(error: unknown): boolean {
  if (!(error instanceof FtpError) || error.replyCode === null || error.replyCode < 400) return false;
  if (error.replyCode === 421) return true;
  return /too many|maximum number of|(connection|client|user|session|login)s? limit|limit of \d+|already (logged in|connected)/i.test(
    error.response,
  );
}

/**
 * Refuses a `signal` that is no AbortSignal, as Node's own calls do
 * (TypeError, code ERR_INVALID_ARG_TYPE): watched while its call waits
 * for a client, it failed there and left a place in line nobody held,
 * which took the next client given back, so every later call waited.
 */
function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const watchable =
    typeof signal === "object" && signal !== null && "aborted" in signal && typeof (signal as AbortSignal).addEventListener === "function";
  if (watchable) return;
  const got = signal === null ? "null" : typeof signal;
  throw Object.assign(new TypeError(`The "signal" option must be an AbortSignal, got ${got}`), { code: "ERR_INVALID_ARG_TYPE" });
}

/**
 * Refuses an option that is no number (TypeError, ERR_INVALID_ARG_TYPE) or
 * one outside its range (RangeError, ERR_OUT_OF_RANGE), as Node's calls do.
 */
function checkNumber(name: string, value: unknown, inRange: boolean, wanted: string): void {
  if (typeof value !== "number") {
    throw Object.assign(new TypeError(`${name} must be ${wanted}, got ${typeof value}`), { code: "ERR_INVALID_ARG_TYPE" });
  }
  if (!inRange) throw Object.assign(new RangeError(`${name} must be ${wanted}, got ${value}`), { code: "ERR_OUT_OF_RANGE" });
}

/** A transfer stream's `bytes` (see DownloadStream.bytes), or undefined for anything else a task returned. */
function bytesOf(value: unknown): number | undefined {
  if (!(value instanceof Stream)) return undefined;
  const bytes = (value as { bytes?: unknown }).bytes;
  return typeof bytes === "number" ? bytes : undefined;
}

/** The error abortError() makes (see lib/abort-signal.ts). */
function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

function poolClosed(): FtpError {
  return new FtpError("the pool is closed", "ERR_FTP_POOL_CLOSED");
}

/**
 * `work` on `client`, or a rejection with the AbortError as soon as
 * `signal` aborts. A command has no ABOR, and the reply of a server that
 * stopped answering would hold the client for its timeout (for ever with
 * `timeout: 0`), so the client is closed: its pool replaces it.
 */
async function untilAborted<T>(client: FTP, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  let stop = ignore;
  const aborted = new Promise<never>((_, reject) => {
    stop = onAbortOf(signal, (error) => {
      // Rejected first: the race settles with the abort, not with the closed client's error.
      reject(error);
      client.close();
    });
  });
  const working = work();
  working.catch(ignore);
  try {
    return await Promise.race([working, aborted]);
  } finally {
    stop();
  }
}

/**
 * Runs `task` on every item at once; on the first failure, or when
 * `outer` aborts (its AbortError then being the failure), aborts the
 * others through their signal, waits for all of them to settle (none may
 * still write to a file that is about to be closed and removed), then
 * rejects with that first failure.
 */
async function allOrAbort<T>(
  items: readonly T[],
  task: (item: T, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    controller.abort(error);
  };
  const stop = outer ? onAbortOf(outer, fail) : ignore;
  try {
    await Promise.all(items.map((item) => task(item, controller.signal).catch(fail)));
  } finally {
    stop();
  }
  if (failure) throw failure.error;
}

async function downloadRange(
  client: FTP,
  remotePath: string,
  range: { start: number; end: number },
  size: number,
  file: FileHandle,
  signal: AbortSignal,
): Promise<void> {
  const stream = client.retrbinary(`RETR ${remotePath}`, { rest: range.start || undefined, signal });
  let position = range.start;
  let received = 0;
  const left = size - range.start;
  const tooMuch = (): FtpSizeMismatchError =>
    new FtpSizeMismatchError(
      left,
      received,
      "",
      `segment ${range.start}-${range.end} of ${size}: ${received} bytes came after REST ${range.start}, not ${left}`,
    );
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    received += chunk.length;
    // More than the file holds from REST on (only the last range reads that
    // far): refused now, the download aborted, not read for as long as the
    // server sends (its 150 may announce no size to stop it).
    if (received > left) throw tooMuch();
    const wanted = Math.min(chunk.length, range.end - position);
    await file.write(chunk, 0, wanted, position);
    position += wanted;
    // The server sends to the end of the file; stop (ABOR) at the range's
    // end. The last range runs to the end and gets the server's 226.
    if (position >= range.end && range.end < size) break;
  }
  if (position < range.end) {
    throw new FtpError(`segment ${range.start}-${range.end} of ${size} ended at ${position}`, "ERR_FTP_SHORT_SEGMENT");
  }
  // The last range got the server's whole answer: from its REST to the end,
  // exactly. More is a server that took REST (350) and sent from byte 0
  // anyway, and wrote the file's start into every segment.
  if (range.end === size && received !== left) throw tooMuch();
}
