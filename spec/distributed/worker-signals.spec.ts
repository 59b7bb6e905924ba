/**
 * workerCommand listens for SIGINT and SIGTERM while it runs, and only
 * then: once it returns (the queue drained), neither listener stays on the
 * process. Before, each call left both: one more per call (a program that
 * runs a worker until drained, again and again, gets
 * MaxListenersExceededWarning), and after it a SIGINT or SIGTERM did
 * nothing instead of ending the process. And its --until-drained loop ends
 * when a signal stops it: before, it went on reading the queue after it was
 * closed and rejected unhandled, ending the process with a stack trace.
 */
import { expect } from "chai";
import { type DrainingQueue, waitForDrain, workerCommand } from "../../lib/queue-cli.js";
import { useRedis } from "./redis-server.js";

describe("workerCommand leaves no signal listener behind", function () {
  const redis = useRedis();

  it("removes its SIGINT and SIGTERM listeners when it returns after the queue drained", async () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const summary = await workerCommand({
      queue: redis().url("signals"),
      connect: () => Promise.reject(new Error("no job needs a connection")),
      servers: ["ftp://127.0.0.1"],
      localRoots: ["/nowhere"],
      untilDrained: true,
      log: () => undefined,
    });
    expect(summary).to.be.an("object");
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).to.deep.equal(before);
  });
});

describe("waitForDrain with a stop signal (a worker's --until-drained)", () => {
  it("ends when the signal aborts, with the queue still pending, and a failed read is asked again instead of rejecting", async () => {
    const stop = new AbortController();
    let reads = 0;
    const queue: DrainingQueue = {
      getJobCounts: () => {
        reads++;
        // The first read fails (Redis going away), the second finds work pending, then the worker is stopped.
        if (reads === 1) return Promise.reject(new Error("Connection is closed."));
        if (reads === 2) stop.abort();
        return Promise.resolve({ waiting: 1, active: 1 });
      },
    };
    await waitForDrain(queue, stop.signal);
    expect(reads).to.equal(2);
  });

  it("ends when the signal aborts during a read that never answers (a Redis that is gone)", async () => {
    const stop = new AbortController();
    const queue: DrainingQueue = {
      getJobCounts: () => {
        stop.abort();
        return new Promise<Record<string, number>>(() => undefined);
      },
    };
    await waitForDrain(queue, stop.signal);
  });
});
