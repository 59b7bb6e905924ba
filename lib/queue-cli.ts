/**
 * The CLI's queue commands on BullMQ: `mirror … --queue redis://host:port/name`
 * enqueues a tree transfer, `worker redis://host:port/name` runs its jobs.
 * Redis's password comes from the URL or, kept off the command line, from
 * `REDISCLI_AUTH` (see parseQueueUrl).
 *
 * bullmq (and the ioredis it brings) is an optional peer dependency,
 * loaded with import() only when one of these commands runs: the library
 * core (lib/index.ts) never reaches this module.
 */
import type { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { onAbortOf } from "./abort-signal.js";
import { StoppedBySignal } from "./cli-signals.js";
import type { FTP } from "./client.js";
import { FtpError } from "./errors.js";
import { failsAtOnce } from "./queue-failure.js";
import { enqueueTree, EnqueueTreeOptions, EnqueueTreeResult, TreeJob, TreeJobResult, TreePlanner } from "./queue-jobs.js";
import { ConnectionLeases, LeaseRedis } from "./queue-limit.js";
import { assertTreeJobBounds, createTreeJobProcessor, TreeJobLike } from "./queue-worker.js";
import type { FtpUrl } from "./url.js";

/** bullmq is not installed: `npm install bullmq` where the queue commands run. */
export class FtpQueueModuleError extends FtpError {
  constructor(cause: unknown) {
    super(
      "the queue commands need the bullmq package (an optional peer dependency of ftpstream): run `npm install bullmq`",
      "ERR_FTP_QUEUE_MODULE_MISSING",
      "",
      { cause },
    );
  }
}

/**
 * Redis refused the queue's login: it wants a password and got none
 * (`NOAUTH`), or not the one given (`WRONGPASS`). The message names the
 * server, never a password, and says where the password goes.
 */
export class FtpQueueAuthError extends FtpError {
  constructor(host: string, port: number, refusal: string) {
    super(
      `Redis at ${host.includes(":") ? `[${host}]` : host}:${port} refused the queue's login (${refusal}): ` +
        "give its password in REDISCLI_AUTH (or in the queue URL, redis://[user]:password@host/name)",
      "ERR_FTP_QUEUE_AUTH",
    );
  }
}

/** Redis's refusals of a login: NOAUTH (no password given), WRONGPASS (Redis 6 on), "ERR invalid password" (before 6). */
function isLoginRefusal(error: unknown): error is Error {
  return error instanceof Error && /^(NOAUTH|WRONGPASS)\b|^ERR invalid password/.test(error.message);
}

/** What readyClient uses of a BullMQ Queue; `connection` is its protected RedisConnection (an EventEmitter). */
interface ConnectingQueue {
  client: Promise<unknown>;
  on(event: "error", listener: (error: Error) => void): unknown;
  off(event: "error", listener: (error: Error) => void): unknown;
  close(): Promise<void>;
}

/**
 * The queue's Redis connection once it is ready. When Redis refuses the
 * login, the queue is closed and FtpQueueAuthError thrown: ioredis would
 * try again for ever, and the command wait without a word (a worker with
 * a wrong REDISCLI_AUTH ran nothing, printed nothing and never ended).
 * The refusal's own error is not kept as the cause: ioredis puts the AUTH
 * command and its arguments, the password, in it.
 */
async function readyClient(queue: ConnectingQueue, address: QueueAddress): Promise<RedisLike> {
  let refused: (error: Error) => void = () => undefined;
  const refusal = new Promise<never>((_, reject) => {
    refused = (error) => {
      if (isLoginRefusal(error))
        reject(new FtpQueueAuthError(address.connection.host, address.connection.port, error.message.split("\n")[0]));
    };
  });
  // Kept on after a refusal: each new attempt of ioredis's is refused again until the queue is closed.
  queue.on("error", refused);
  let client: RedisLike;
  try {
    client = (await Promise.race([queue.client, refusal])) as RedisLike;
  } catch (error) {
    await queue.close();
    // BullMQ (5.81) emits the refusal once more on the connection after close() took its listeners
    // away, as an 'error' nobody hears: it ended the process, printing the AUTH command's arguments.
    (queue as unknown as { connection?: EventEmitter }).connection?.on("error", () => undefined);
    throw error;
  }
  queue.off("error", refused);
  return client;
}

/** The part of bullmq used here, typed where it is used so no type of it leaks into ftpstream's own. */
type Bullmq = typeof import("bullmq");

/** Loads bullmq, or throws FtpQueueModuleError when it is not installed. */
export async function loadBullmq(load: () => Promise<unknown> = () => import("bullmq")): Promise<Bullmq> {
  try {
    return (await load()) as Bullmq;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") throw new FtpQueueModuleError(error);
    throw error;
  }
}

/** A queue URL: `redis://[user:password@]host[:port]/name` (rediss:// for TLS). */
export interface QueueAddress {
  name: string;
  connection: { host: string; port: number; username?: string; password?: string; tls?: object; maxRetriesPerRequest: null };
}

/**
 * The environment variable redis-cli takes its password from: read here
 * too, for a queue URL without a password, so that the password need not
 * be on the command line (where `ps` shows it to every user).
 */
export const REDIS_PASSWORD_VARIABLE = "REDISCLI_AUTH";

/**
 * Parses a queue URL; throws TypeError saying what it must look like. A
 * URL without a password takes `REDISCLI_AUTH` from `env` when it is set
 * and not empty, as redis-cli does; a password in the URL wins.
 */
export function parseQueueUrl(text: string, env: NodeJS.ProcessEnv = process.env): QueueAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not shown: what failed to parse may still hold a password.
    throw new TypeError("expected a queue URL redis://[user[:password]@]host[:port]/name; what was given is not a URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new TypeError(`a queue URL is redis:// or rediss://, got ${url.protocol}`);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!name || name.includes(":") || name.includes("/"))
    throw new TypeError("a queue URL names its queue: redis://host:port/name (no ':' or '/' in the name)");
  return {
    name,
    connection: {
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port ? Number(url.port) : 6379,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password
        ? { password: decodeURIComponent(url.password) }
        : env[REDIS_PASSWORD_VARIABLE]
          ? { password: env[REDIS_PASSWORD_VARIABLE] }
          : {}),
      ...(url.protocol === "rediss:" ? { tls: {} } : {}),
      // BullMQ's workers need it: a blocked command must wait, not fail.
      maxRetriesPerRequest: null,
    },
  };
}

/**
 * The Redis hash of a queue's summary (bullmq's default prefix "bull"):
 * one field per settled job, its id, holding `<outcome> <bytes>`. Written
 * with HSETNX inside the job, before BullMQ marks it done: a worker killed
 * between the two leaves the job to be run again, and the first outcome
 * stays the one counted, so every job counts once however often it ran.
 */
function summaryKey(name: string): string {
  return `bull:${name}:ftpstream-summary`;
}

export interface QueueSummary {
  transferred: number;
  skipped: number;
  failed: number;
  bytes: number;
}

/** The commands used of the queue's own Redis connection (an ioredis client under bullmq 5). */
interface RedisLike extends LeaseRedis {
  hsetnx(key: string, field: string, value: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  del(key: string): Promise<number>;
}

/** Counts of jobs not yet settled: waiting, active (a dead worker's too, until taken over), delayed for a retry. */
const PENDING = ["waiting", "active", "delayed", "prioritized", "paused", "waiting-children"] as const;

async function readSummary(redis: { hgetall(key: string): Promise<Record<string, string>> }, name: string): Promise<QueueSummary> {
  const summary: QueueSummary = { transferred: 0, skipped: 0, failed: 0, bytes: 0 };
  for (const value of Object.values(await redis.hgetall(summaryKey(name)))) {
    const [outcome, bytes] = value.split(" ");
    if (outcome === "transferred" || outcome === "skipped" || outcome === "failed") summary[outcome]++;
    summary.bytes += Number(bytes) || 0;
  }
  return summary;
}

export function formatSummary(summary: QueueSummary): string {
  return `${summary.transferred} transferred, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.bytes} bytes`;
}

export interface EnqueueCommand {
  queue: string;
  direction: "download" | "upload";
  server: string | FtpUrl;
  remote: string;
  local: string;
  planner: TreePlanner;
  attempts?: number;
  /** Wait until the queue drains and print its summary. */
  wait?: boolean;
  /**
   * Aborting it (the CLI's SIGINT or SIGTERM) stops the walk, adds no more
   * jobs and ends the wait; the call rejects with its reason. Jobs already
   * added stay in the queue.
   */
  signal?: AbortSignal;
  /** Downloads: see EnqueueTreeOptions.maxFileSize. */
  maxFileSize?: number;
  /** Which entries of both trees take part (DirTransferOptions.filter): what it leaves out gets no job. */
  filter?: EnqueueTreeOptions["filter"];
  log: (line: string) => void;
}

/** `mirror … --queue`: enqueues the jobs; with `wait`, waits for the queue to drain. */
export async function enqueueCommand(command: EnqueueCommand): Promise<EnqueueTreeResult & { summary?: QueueSummary }> {
  const { Queue } = await loadBullmq();
  const address = parseQueueUrl(command.queue);
  const queue = new Queue<TreeJob, TreeJobResult>(address.name, { connection: address.connection });
  try {
    const client = await readyClient(queue, address);
    const counts = await queue.getJobCounts(...PENDING);
    // A queue with nothing pending starts a new run: its summary counts from zero.
    if (Object.values(counts).every((n) => n === 0)) await client.del(summaryKey(address.name));
    const result = await enqueueTree(queue, command.planner, {
      direction: command.direction,
      server: command.server,
      remote: command.remote,
      local: command.local,
      attempts: command.attempts,
      signal: command.signal,
      maxFileSize: command.maxFileSize,
      filter: command.filter,
    });
    command.log(`enqueued ${result.enqueued} files (${result.bytes} bytes), ${result.unchanged} unchanged, on ${address.name}`);
    if (!command.wait) return result;
    // A failed read fails the command, as without a signal; the signal only ends the wait.
    await waitForDrain(queue, command.signal, { retryReads: false });
    command.signal?.throwIfAborted();
    const summary = await readSummary(client, address.name);
    command.log(`queue ${address.name} drained: ${formatSummary(summary)}`);
    return { ...result, summary };
  } finally {
    await queue.close();
  }
}

/**
 * `read`'s value, or undefined when `stop` aborts first, or when it fails
 * and `retry` (else its failure): a read still waiting at the abort (on a
 * Redis that is gone, ioredis holds it until it reconnects) must not hold
 * the shutdown, and its late failure is handled here.
 */
function unlessStopped<T>(read: Promise<T>, stop: AbortSignal, retry: boolean): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const stopWatching = onAbortOf(stop, () => resolve(undefined));
    read.then(resolve, (error: Error) => (retry ? resolve(undefined) : reject(error))).finally(stopWatching);
  });
}

/** What waitForDrain asks of a queue (BullMQ's Queue has it). */
export interface DrainingQueue {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/**
 * Resolves once `queue` has nothing pending, asking every 500 ms. With
 * `stop` (a worker's --until-drained): also once it aborts, with no request
 * or timer left behind, and a failed read is asked again rather than
 * rejected (with `retryReads: false`, mirror --queue --wait's, it
 * rejects). Before, a worker stopped by a signal left this loop running:
 * its next read came after the queue was closed and rejected unhandled
 * ("Connection is closed"), which ended the process with a stack trace.
 */
export async function waitForDrain(queue: DrainingQueue, stop?: AbortSignal, { retryReads = true } = {}): Promise<void> {
  for (;;) {
    if (stop?.aborted) return;
    const counts = stop ? await unlessStopped(queue.getJobCounts(...PENDING), stop, retryReads) : await queue.getJobCounts(...PENDING);
    if (counts && Object.values(counts).every((n) => n === 0)) return;
    await sleep(500, undefined, { signal: stop }).catch(() => undefined);
  }
}

/**
 * A job's path as a worker's line shows it: its data is whatever was
 * written to Redis (null, a string, a path that is no string). Read as
 * `job.data.path`, a job whose data was null threw in the line's
 * listener: the job failed without a line saying so.
 */
function pathOf(data: unknown): string {
  const path = typeof data === "object" && data !== null ? (data as { path?: unknown }).path : undefined;
  // The type alone: data that is a string may hold a server's URL, password and all.
  return typeof path === "string" ? path : `(no path: ${data === null ? "null" : typeof data})`;
}

/** What `worker` resolves to: the queue's summary (every worker's jobs), and what this worker failed. */
export interface WorkerSummary extends QueueSummary {
  /**
   * Jobs this worker failed for good: on their last attempt, or at once
   * (FtpUnrecoverableJobError, a job stalled too often). `worker` exits 3
   * when it is not 0, as `mirror --queue --wait` does for the queue's.
   */
  failedHere: number;
}

export interface WorkerCommand {
  queue: string;
  connect: (server: string) => Promise<FTP>;
  /** Jobs at once in this process. Default 4. */
  concurrency?: number;
  /** Most connections to one server across every worker (a lease in Redis per connection). */
  maxConnections?: number;
  /** BullMQ's lockDuration: a killed worker's job is taken over this long after it last renewed its lock. Default 30000. */
  lockMs?: number;
  /** Exit once the queue has nothing pending (else run until SIGINT, SIGTERM or SIGHUP). */
  untilDrained?: boolean;
  /** What the jobs may name: see TreeJobProcessorOptions (localRoots and servers required, not empty; remoteRoots: any when not given). */
  localRoots: readonly string[];
  remoteRoots?: readonly string[];
  servers: readonly string[];
  /** See TreeJobProcessorOptions.allowHardLinks. Default false. */
  allowHardLinks?: boolean;
  log: (line: string) => void;
}

/** A RangeError unless `value` (when given) is a whole number, 1 or more. */
function assertPositive(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1))
    throw new RangeError(`${what} must be a whole number, 1 or more, got ${String(value)}`);
}

/**
 * `worker <queue>`: runs the jobs until stopped (or, with untilDrained,
 * until the queue is empty). Resolves to the queue's summary and how many
 * jobs this worker failed for good (see WorkerSummary). Its bounds
 * (localRoots, remoteRoots, servers: TypeError) and counts (concurrency,
 * maxConnections, lockMs: RangeError) are checked before bullmq is
 * loaded or Redis reached: before, a worker with none reached Redis first
 * (and with Redis down, waited for it for ever) before saying so.
 * SIGINT, SIGTERM and SIGHUP stop it: it takes no more jobs, lets the
 * running ones finish, and resolves; on SIGHUP (nobody asked it to stop)
 * it then rejects with a StoppedBySignal instead.
 */
export async function workerCommand(command: WorkerCommand): Promise<WorkerSummary> {
  assertTreeJobBounds(command);
  assertPositive(command.concurrency, "concurrency");
  assertPositive(command.maxConnections, "maxConnections");
  assertPositive(command.lockMs, "lockMs");
  const address = parseQueueUrl(command.queue);
  const { Worker, Queue } = await loadBullmq();
  const concurrency = command.concurrency ?? 4;
  const lockDuration = command.lockMs ?? 30_000;
  const queue = new Queue<TreeJob, TreeJobResult>(address.name, { connection: address.connection });
  const redis = await readyClient(queue, address);
  const leases = command.maxConnections
    ? new ConnectionLeases(redis, {
        limit: command.maxConnections,
        prefix: `bull:${address.name}:ftpstream-connections`,
        ttlMs: lockDuration,
      })
    : undefined;
  let processor: ReturnType<typeof createTreeJobProcessor>;
  try {
    processor = createTreeJobProcessor({
      connect: command.connect,
      poolSize: concurrency,
      leases,
      localRoots: command.localRoots,
      remoteRoots: command.remoteRoots,
      servers: command.servers,
      allowHardLinks: command.allowHardLinks,
    });
  } catch (error) {
    // A root or server that is none (TypeError): the queue's connection must not hold the process open.
    await queue.close();
    throw error;
  }
  const key = summaryKey(address.name);
  // The outcome is counted inside the job, before BullMQ marks it done (see summaryKey).
  const counted = async (job: TreeJobLike & { id?: string; attemptsMade: number; opts: { attempts?: number } }): Promise<TreeJobResult> => {
    try {
      const result = await processor.process(job);
      await redis.hsetnx(key, String(job.id), `${result.outcome} ${result.bytes}`);
      return result;
    } catch (error) {
      // Its last attempt, or one the job fails with at once (attempts left or not): BullMQ will not run it again.
      if (failsAtOnce(error) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await redis.hsetnx(key, String(job.id), "failed 0");
      throw error;
    }
  };
  const worker = new Worker<TreeJob, TreeJobResult>(address.name, counted, {
    connection: address.connection,
    concurrency,
    lockDuration,
    stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
    // A job whose worker died is taken over this many times, then failed.
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on("active", (job) => {
    command.log(`start ${job.id} ${pathOf(job.data)}`);
    // A job stalled too often (its worker killed or blocked that many times) is failed by BullMQ as it is taken, without the
    // processor, so `counted` never sees it: counted here, before BullMQ marks it failed (see summaryKey).
    if (job.deferredFailure) void redis.hsetnx(key, String(job.id), "failed 0").catch(() => undefined);
  });
  worker.on("completed", (job, result) => command.log(`${result.outcome} ${job.id} ${pathOf(job.data)} ${result.bytes}`));
  // Counted from BullMQ's own report, once the job is marked failed: also a job it failed without running it (stalled too often).
  let failedHere = 0;
  worker.on("failed", (job, error) => {
    if (!job) return;
    // BullMQ has counted this attempt in attemptsMade by now.
    const final = failsAtOnce(error) || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) failedHere++;
    command.log(`${final ? "failed" : "retry"} ${job.id} ${pathOf(job.data)}: ${error.message.split("\n")[0]}`);
  });
  worker.on("error", (error) => command.log(`worker error: ${error.message}`));
  let done: () => void = () => undefined;
  const stop = new Promise<void>((resolve) => (done = () => resolve()));
  // SIGHUP too (a closed terminal, a dropped ssh session): left to Node's default it killed the worker at once, its
  // running jobs cut mid-file (their part files left, taken over only once their locks ran out). It ends as SIGTERM does.
  let hungUp = false;
  // Said at once: the running jobs may take long to finish, and whoever sent the signal sees it was taken.
  const stopOn = (signal: "SIGINT" | "SIGTERM" | "SIGHUP") => (): void => {
    if (signal === "SIGHUP") hungUp = true;
    command.log(`stopping on ${signal}: no more jobs taken, the running ones finish`);
    done();
  };
  const onInt = stopOn("SIGINT");
  const onTerm = stopOn("SIGTERM");
  const hangUp = stopOn("SIGHUP");
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);
  process.once("SIGHUP", hangUp);
  const stopDraining = new AbortController();
  // A signal also ends a read of the queue still waiting (on a Redis that is gone, ioredis holds it until it reconnects).
  void stop.then(() => stopDraining.abort());
  let drained: Promise<void> | undefined;
  let running: Promise<void> = Promise.resolve();
  try {
    // --until-drained with nothing pending ends before the worker runs. Run and closed at once, BullMQ's worker (5.81,
    // and upstream still) set its stalled-jobs timer after close() when its first check was still under way, and the
    // process stayed up that long after its summary: lockMs / 2, 15 s by default. A failed read runs it as before.
    const first = command.untilDrained ? await unlessStopped(queue.getJobCounts(...PENDING), stopDraining.signal, true) : undefined;
    if (stopDraining.signal.aborted || (first && Object.values(first).every((n) => n === 0))) done();
    else {
      drained = command.untilDrained ? waitForDrain(queue, stopDraining.signal).then(done) : undefined;
      running = worker.run();
    }
    await stop;
  } finally {
    // Stopped by a signal: the drain loop ends before the queue closes under it.
    stopDraining.abort();
    await drained;
    // Stopped by a drained queue (or one signal): the other listener would stay on the process, one more
    // per call, and a SIGINT or SIGTERM later would do nothing instead of ending the process.
    process.removeListener("SIGINT", onInt);
    process.removeListener("SIGTERM", onTerm);
    process.removeListener("SIGHUP", hangUp);
    await worker.close();
    await running.catch(() => undefined);
    await processor.close();
    await leases?.close();
  }
  const summary = await readSummary(redis, address.name);
  command.log(`summary: ${formatSummary(summary)}`);
  await queue.close();
  // Not asked to stop (SIGINT, SIGTERM: exit 0), a hung-up worker says so: the CLI exits 129.
  if (hungUp) throw new StoppedBySignal("SIGHUP", "its running jobs finished, no more taken");
  return { ...summary, failedHere };
}
