/**
 * workerCommand listens for SIGINT and SIGTERM while it runs, and only
 * then: once it returns (the queue drained), neither listener stays on the
 * process. Before, each call left both: one more per call (a program that
 * runs a worker until drained, again and again, gets
 * MaxListenersExceededWarning), and after it a SIGINT or SIGTERM did
 * nothing instead of ending the process.
 */
import { expect } from "chai";
import { IN_CI } from "../interop/describe-server.js";
import { workerCommand } from "../../lib/queue-cli.js";
import { findRedis, startRedis, type RedisServer } from "./redis-server.js";

describe("workerCommand leaves no signal listener behind", function () {
  let redis: RedisServer;

  before(async function () {
    const found = findRedis();
    if (!found.found) {
      if (IN_CI) throw new Error(`CI=true and ${found.why}`);
      this.skip();
    }
    redis = await startRedis();
  });

  after(async () => {
    await redis?.stop();
  });

  it("removes its SIGINT and SIGTERM listeners when it returns after the queue drained", async () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const summary = await workerCommand({
      queue: redis.url("signals"),
      connect: () => Promise.reject(new Error("no job needs a connection")),
      untilDrained: true,
      log: () => undefined,
    });
    expect(summary).to.be.an("object");
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).to.deep.equal(before);
  });
});
