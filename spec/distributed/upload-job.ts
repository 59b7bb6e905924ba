/** An upload job as BullMQ hands it to a processor, for specs that need no Redis. */
import type { FixtureServer } from "../../fixtures/server.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import type { TreeJobLike } from "../../lib/queue-worker.js";

/** The job uploading `path` below `local` to /r on `srv`, of `size` bytes as enqueued. */
export function uploadJob(srv: FixtureServer, local: string, path: string, size: number): TreeJobLike {
  const data: TreeJob = {
    v: 1,
    direction: "upload",
    server: `ftp://user:pass@${srv.host}:${srv.port}`,
    remote: "/r",
    local,
    path,
    size,
    modified: null,
  };
  return { data, updateProgress: () => Promise.resolve() };
}
