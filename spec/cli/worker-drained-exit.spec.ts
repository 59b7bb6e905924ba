/**
 * `ftpstream worker --until-drained` on a queue with nothing pending (a
 * worker run from cron, finding no work) printed its summary at once but
 * exited only lockMs / 2 later (15 s by default): it ran BullMQ's worker
 * and closed it at once, while the worker's first check for stalled jobs
 * was still under way, and that check then set its timer for the next
 * one after close() (BullMQ 5.81, and upstream still), holding the
 * process. Now such a worker is never run. With --lock-ms 600000 the
 * timer was 300 s: the run was killed at 15 s, still running.
 */
import { expect } from "chai";
import { useRedis } from "../distributed/redis-server.js";
import { runCli, useCliFixture } from "./run-cli.js";

describe("ftpstream worker --until-drained on a queue with nothing pending", function () {
  const { dir } = useCliFixture("ftpstream-worker-drained-");
  const redis = useRedis();

  it("exits once it has printed its summary, not when BullMQ's next check for stalled jobs is due", async () => {
    const queue = redis().url(`drained-exit-${process.pid}`);
    const args = ["worker", queue, "--until-drained", "--lock-ms", "600000", "--server", "ftp://127.0.0.1:21", "--local-root", dir()];
    const run = await runCli(args, { stdout: "ignore" });
    expect(run.signal, `still running after its summary: ${run.stderr}`).to.equal(null);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include("summary: 0 transferred, 0 skipped, 0 failed, 0 bytes");
  });
});
