/**
 * A tree transfer as jobs on a job queue (BullMQ on Redis, or any queue
 * with an `addBulk`): enqueueTree walks and compares both trees as
 * downloadDir/uploadDir do, and adds one job per file that differs, with
 * its size and time. A job processor (queue-worker.ts) moves each file.
 *
 * This module imports no queue library: the caller hands in its own queue,
 * so the library core keeps no runtime dependency.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { assertMaxFileSize } from "./download.js";
import { FtpDirTransferError } from "./errors.js";
import type { FtpPathFailure } from "./errors.js";
import { PART_SUFFIX } from "./part-file.js";
import type { DirTransferOptions, DirTransferResult, PlannedFile } from "./sync.js";
import type { FtpUrl } from "./url.js";

/** The data of one job: one file to move, and where. Plain JSON, as a queue stores it. */
export interface TreeJob {
  /**
   * Version of this shape: 2 for a job that carries `maxFileSize`, which a
   * worker of an earlier version (it runs only 1) fails at once instead of
   * downloading the file without the limit; else 1.
   */
  v: 1 | 2;
  direction: "download" | "upload";
  /**
   * The server, as an FTP URL without a path (`ftp://user@host:21`).
   * It is stored in the queue as given: with a password when the URL had one.
   * The CLI's `mirror --queue` leaves the password out when it came from a
   * netrc file or the environment, and its workers find their own.
   */
  server: string;
  /** The remote tree's root. */
  remote: string;
  /** The local tree's root, as every worker sees it: an absolute path (enqueueTree resolves a relative one where it runs). */
  local: string;
  /** The file, below both roots, `/`-separated. */
  path: string;
  /** The source's size when enqueued. */
  size: number;
  /** The source's time to the second (ISO 8601) when known, else null (a download asks MDTM). */
  modified: string | null;
  /**
   * A download job's bound (EnqueueTreeOptions.maxFileSize): a file the
   * server announces larger is not fetched, and one that grows past it is
   * aborted (FtpLimitError, failing the job at once). Only in v 2 jobs.
   */
  maxFileSize?: number;
}

/** What a job resolves to: `skipped` when the target already matched the source (an earlier run of the same job did it). */
export interface TreeJobResult {
  outcome: "transferred" | "skipped";
  bytes: number;
}

/** What enqueueTree needs of a queue (BullMQ's Queue has it). */
export interface TreeJobQueue {
  addBulk(jobs: Array<{ name: string; data: TreeJob; opts?: TreeJobOptions }>): Promise<unknown>;
}

/** The per-job options enqueueTree sets (BullMQ's JobsOptions, the part used here). */
export interface TreeJobOptions {
  /** Derived from the job's data: adding the same file twice while the first is pending adds it once. */
  jobId: string;
  attempts: number;
  backoff: { type: "exponential"; delay: number };
  /** Completed jobs are removed (the queue does not grow with every file ever moved); failed ones stay, with their error. */
  removeOnComplete: boolean;
  removeOnFail: boolean;
}

/** What enqueueTree walks the trees with: an FTP client or an FtpPool. */
export interface TreePlanner {
  downloadDir(remote: string, local: string, options?: DirTransferOptions): Promise<DirTransferResult>;
  uploadDir(local: string, remote: string, options?: DirTransferOptions): Promise<DirTransferResult>;
}

export interface EnqueueTreeOptions {
  direction: "download" | "upload";
  /** The server's URL (its path is ignored), as workers will connect to it. */
  server: string | FtpUrl;
  remote: string;
  local: string;
  /** Attempts of each job before it fails for good. Default 3. */
  attempts?: number;
  /** First retry's delay in ms, doubled each time. Default 1000. */
  backoffMs?: number;
  /** Jobs added per addBulk call. Default 500. */
  batch?: number;
  filter?: DirTransferOptions["filter"];
  maxEntries?: number;
  /**
   * Downloads only, as downloadDir's: a file listed larger gets no job (it
   * is in `failures`, an FtpLimitError), and every job carries the bound
   * for its worker (TreeJob.maxFileSize), which aborts a file that grew
   * past it since.
   */
  maxFileSize?: number;
  signal?: AbortSignal;
}

export interface EnqueueTreeResult {
  /** Jobs added (files that differ). */
  enqueued: number;
  /** Bytes of those files. */
  bytes: number;
  /** Files the target already has with the same size and time: no job. */
  unchanged: number;
  /** Paths that could not be compared (a directory not listed, ...): not enqueued. */
  failures: readonly FtpPathFailure[];
  links: string[];
}

/** The job name enqueueTree gives every job. */
export const TREE_JOB_NAME = "ftpstream-file";

/** An FTP URL of the server alone (no path), credentials kept. */
export function serverUrl(server: string | FtpUrl): string {
  if (typeof server === "string") {
    const url = new URL(server);
    url.pathname = "";
    url.search = "";
    url.hash = "";
    return url.toString().replace(/\/$/, "");
  }
  const scheme = { none: "ftp", explicit: "ftpes", implicit: "ftps" }[server.security];
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  const login =
    server.user === undefined
      ? ""
      : `${encodeURIComponent(server.user)}${server.password === undefined ? "" : `:${encodeURIComponent(server.password)}`}@`;
  return `${scheme}://${login}${host}:${server.port}`;
}

/** The server's URL without its password: what names it in job ids (the worker's pools and connection caps use queue-worker.ts's endpointKey). */
export function serverKey(server: string): string {
  const url = new URL(server);
  url.password = "";
  return url.toString().replace(/\/$/, "");
}

/** A job id from what the job moves: the same file in the same state gets the same id. */
export function treeJobId(job: TreeJob): string {
  const fields: unknown[] = [job.direction, serverKey(job.server), job.remote, job.local, job.path, job.size, job.modified];
  // Only where there is one: the ids of jobs without a bound stay what they were.
  if (job.maxFileSize !== undefined) fields.push(job.maxFileSize);
  const key = JSON.stringify(fields);
  return createHash("sha256").update(key).digest("hex").slice(0, 40);
}

/**
 * Walks and compares both trees (downloadDir/uploadDir with `dryRun`:
 * nothing is changed) and adds one job per file that differs, with its
 * size and time. Files the target has with the same size and time get no
 * job, so a second run over an unchanged tree adds nothing. Part files
 * (`*.ftpstream-part`) are never taken for files of the tree.
 *
 * Resolves to what was added; paths that could not be compared are in
 * `failures` (their files were not enqueued). Rejects when the root cannot
 * be listed, or the queue refuses the jobs.
 */
export async function enqueueTree(queue: TreeJobQueue, planner: TreePlanner, options: EnqueueTreeOptions): Promise<EnqueueTreeResult> {
  const server = serverUrl(options.server);
  const maxFileSize = options.direction === "download" ? options.maxFileSize : undefined;
  if (maxFileSize !== undefined) assertMaxFileSize(maxFileSize);
  let planned: PlannedFile[] = [];
  const filter: DirTransferOptions["filter"] = (entry) =>
    !entry.path.endsWith(PART_SUFFIX) && (options.filter ? options.filter(entry) : true);
  const settings: DirTransferOptions = {
    dryRun: true,
    filter,
    maxEntries: options.maxEntries,
    maxFileSize,
    signal: options.signal,
    onPlan: (files) => {
      planned = files;
    },
  };
  let result: DirTransferResult;
  let failures: readonly FtpPathFailure[] = [];
  try {
    result =
      options.direction === "download"
        ? await planner.downloadDir(options.remote, options.local, settings)
        : await planner.uploadDir(options.local, options.remote, settings);
  } catch (error) {
    if (!(error instanceof FtpDirTransferError)) throw error;
    result = error.result;
    failures = error.failures;
  }
  const jobs = planned.map((file) => {
    const data: TreeJob = {
      v: maxFileSize === undefined ? 1 : 2,
      direction: options.direction,
      server,
      remote: options.remote,
      // Absolute: a relative root would be each worker's working directory's.
      local: resolve(options.local),
      path: file.path,
      size: file.size,
      modified: file.modified ? new Date(Math.floor(file.modified.getTime() / 1000) * 1000).toISOString() : null,
      ...(maxFileSize === undefined ? {} : { maxFileSize }),
    };
    const opts: TreeJobOptions = {
      jobId: treeJobId(data),
      attempts: options.attempts ?? 3,
      backoff: { type: "exponential", delay: options.backoffMs ?? 1000 },
      removeOnComplete: true,
      removeOnFail: false,
    };
    return { name: TREE_JOB_NAME, data, opts };
  });
  const batch = options.batch ?? 500;
  for (let i = 0; i < jobs.length; i += batch) {
    options.signal?.throwIfAborted();
    await queue.addBulk(jobs.slice(i, i + batch));
  }
  return {
    enqueued: jobs.length,
    bytes: planned.reduce((sum, file) => sum + file.size, 0),
    unchanged: result.skipped,
    failures,
    links: result.links,
  };
}
