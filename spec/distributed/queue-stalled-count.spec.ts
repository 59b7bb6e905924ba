/**
 * A job BullMQ fails for stalling too often (its worker killed, or its
 * event loop blocked, more times than maxStalledCount) is failed as a
 * worker takes it, without the processor running: before, the worker's
 * counting wrapper never saw it, so the queue's summary (and `mirror
 * --queue --wait`'s exit status) left it out.
 *
 * Against a real redis-server on loopback. The stalling is BullMQ's own:
 * a worker of the spec's takes the job and never finishes it, and its
 * stalled checker, with maxStalledCount 0, finds its lock lapsed.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { workerCommand } from "../../lib/queue-cli.js";
import { TREE_JOB_NAME, type TreeJob } from "../../lib/queue-jobs.js";
import { useRedis } from "./redis-server.js";

describe("a queue job BullMQ fails for stalling too often (redis-server)", function () {
  this.timeout(30_000);

  const redis = useRedis();

  it("is counted failed in the queue's summary and by the worker that failed it", async () => {
    const name = "stalled";
    const connection = { host: "127.0.0.1", port: redis().port, maxRetriesPerRequest: null };
    const queue = new Queue<TreeJob>(name, { connection });
    const stalling = new Worker<TreeJob>(name, null, {
      connection,
      lockDuration: 300,
      stalledInterval: 100,
      maxStalledCount: 0,
      autorun: false,
    });
    try {
      const data: TreeJob = {
        v: 1,
        direction: "download",
        server: "ftp://alice@127.0.0.1:21",
        remote: "/t",
        local: "/nowhere",
        path: "a.txt",
        size: 6,
        modified: null,
      };
      const added = await queue.add(TREE_JOB_NAME, data, { attempts: 3, removeOnComplete: true, removeOnFail: false });
      // Taken and never finished nor renewed: its lock lapses, and the stalled checker gives it back, marked to fail.
      const stalled = new Promise<string>((resolve) => stalling.once("stalled", resolve));
      expect((await stalling.getNextJob(randomUUID()))?.id).to.equal(added.id);
      await stalling.startStalledCheckTimer();
      expect(await stalled).to.equal(added.id);
      await stalling.close();

      const lines: string[] = [];
      const worked = await workerCommand({
        queue: redis().url(name),
        connect: () => Promise.reject(new Error("the job is failed before it runs")),
        servers: ["ftp://127.0.0.1:21"],
        localRoots: ["/nowhere"],
        untilDrained: true,
        lockMs: 2000,
        log: (line) => void lines.push(line),
      });

      const [failed] = await queue.getFailed();
      expect([failed?.id, failed?.failedReason]).to.deep.equal([added.id, "job stalled more than allowable limit"]);
      expect(lines).to.include(`failed ${added.id} a.txt: job stalled more than allowable limit`);
      expect(worked).to.deep.equal({ transferred: 0, skipped: 0, failed: 1, bytes: 0, failedHere: 1 });
    } finally {
      await stalling.close();
      await queue.close();
    }
  });
});
