/** Tree jobs as BullMQ hands them to a processor, for specs that need no Redis. */
import type { FixtureServer } from "../../fixtures/server.js";
import type { FTP } from "../../lib/index.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import { createTreeJobProcessor, type TreeJobLike, type TreeJobProcessorOptions } from "../../lib/queue-worker.js";

/** The job moving `path` between `local` and /r on `srv`, of `size` bytes as enqueued. */
function treeJob(direction: TreeJob["direction"], srv: FixtureServer, local: string, path: string, size: number): TreeJobLike {
  const data: TreeJob = {
    v: 1,
    direction,
    server: `ftp://user:pass@${srv.host}:${srv.port}`,
    remote: "/r",
    local,
    path,
    size,
    modified: null,
  };
  return { data, updateProgress: () => Promise.resolve() };
}

/** The job uploading `path` below `local` to /r on `srv`, of `size` bytes as enqueued. */
export function uploadJob(srv: FixtureServer, local: string, path: string, size: number): TreeJobLike {
  return treeJob("upload", srv, local, path, size);
}

/** The job downloading /r/`path` on `srv` into `local`, of `size` bytes as enqueued. */
export function downloadJob(srv: FixtureServer, local: string, path: string, size: number): TreeJobLike {
  return treeJob("download", srv, local, path, size);
}

/** What a processor must be given for these jobs: `srv` as its one server, `local` as its one local root. */
export function jobBounds(srv: FixtureServer, local: string): { servers: string[]; localRoots: string[] } {
  return { servers: [`ftp://${srv.host}:${srv.port}`], localRoots: [local] };
}

/** A processor's options but its connections: what bounds the jobs it takes. */
export type JobProcessorBounds = Omit<TreeJobProcessorOptions, "connect" | "poolSize">;

/** Runs `job` on a processor given `bounds` and one connection (`connect`'s), closed after: the job's result. */
export async function processJob(job: TreeJobLike, connect: () => Promise<FTP>, bounds: JobProcessorBounds): Promise<unknown> {
  const processor = createTreeJobProcessor({ ...bounds, connect, poolSize: 1 });
  try {
    return await processor.process(job);
  } finally {
    await processor.close();
  }
}

/** As processJob, but resolves to the job's result or its error, and how many connections it asked for. */
export async function attemptJob(
  job: TreeJobLike,
  connect: () => Promise<FTP>,
  bounds: JobProcessorBounds,
): Promise<{ result?: unknown; error?: Error; connects: number }> {
  let connects = 0;
  const counted = (): Promise<FTP> => {
    connects++;
    return connect();
  };
  try {
    return { result: await processJob(job, counted, bounds), connects };
  } catch (error) {
    return { error: error as Error, connects };
  }
}
