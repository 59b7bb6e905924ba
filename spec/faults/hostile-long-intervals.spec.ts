/**
 * Waits the user asks for that are longer than a Node timer holds
 * (2^31 - 1 ms): setTimeout() cuts them to 1 ms, so `keepAlive: 2 ** 31`
 * sent a NOOP every millisecond for as long as the client lived, and a
 * `retry.maxDelay` of 2^31 ms reconnected at once. Both now wait the
 * whole time, in several timers (lib/long-timer.ts).
 */
import { expect } from "chai";
import * as sinon from "sinon";
import { FtpClosedError } from "../../lib/index.js";
import { IdleKeepAlive } from "../../lib/keepalive.js";
import { FaultCase, rejectsWith, settleIo } from "./helpers.js";

/** Longer than setTimeout() holds. */
const PAST_TIMER = [2 ** 31, 2 ** 40];

/** Node's TimeoutOverflowWarnings emitted while `run` runs. */
async function overflowWarnings(run: () => Promise<void>): Promise<number> {
  let count = 0;
  const onWarning = (warning: Error): void => void (warning.name === "TimeoutOverflowWarning" && count++);
  process.on("warning", onWarning);
  try {
    await run();
    await settleIo();
  } finally {
    process.off("warning", onWarning);
  }
  return count;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("faults: keepAlive and retry delays longer than a timer holds", () => {
  let fc: FaultCase | undefined;
  afterEach(async () => {
    sinon.restore();
    await fc?.dispose();
    fc = undefined;
  });

  for (const keepAlive of PAST_TIMER) {
    it(`keepAlive: ${keepAlive} sends no NOOP while the client sits idle (it sent one every millisecond)`, async () => {
      fc = await FaultCase.start();
      const ftp = fc.client({ keepAlive });
      const warnings = await overflowWarnings(async () => {
        await ftp.ready;
        await pause(300);
      });
      expect(
        fc.srv.commands.filter((line) => line === "NOOP"),
        "NOOPs",
      ).to.deep.equal([]);
      expect(warnings, "TimeoutOverflowWarnings").to.equal(0);
      await fc.finish(ftp, false);
    });
  }

  it("the keepalive's NOOP comes once the whole interval has passed, not before", () => {
    const clock = sinon.useFakeTimers();
    let pings = 0;
    const keepAlive = new IdleKeepAlive(2 ** 31 + 1000, {
      state: () => "idle",
      ping: () => {
        pings++;
        return Promise.resolve();
      },
    });
    keepAlive.touch();
    clock.tick(2 ** 31 - 1);
    expect(pings, "after 2^31 - 1 ms").to.equal(0);
    clock.tick(1000);
    expect(pings, "after 2^31 + 999 ms").to.equal(0);
    clock.tick(1);
    expect(pings, "after 2^31 + 1000 ms").to.equal(1);
    keepAlive.stop();
    clock.tick(2 ** 32);
    expect(pings, "after stop()").to.equal(1);
  });

  it("a retry backoff of 2^31 ms waits: no new connection at once, and close() ends the wait", async () => {
    const currentFc = (fc = await FaultCase.start());
    const ftp = currentFc.client({ retry: { attempts: 3, minDelay: 2 ** 31, maxDelay: 2 ** 31 } });
    await ftp.ready;
    const delays: number[] = [];
    ftp.on("retry", (event: { delay: number }) => delays.push(event.delay));
    currentFc.srv.once("PWD", (s) => s.drop());
    let pwd: Promise<unknown> | undefined;
    const warnings = await overflowWarnings(async () => {
      pwd = rejectsWith(ftp.pwd(), FtpClosedError);
      await pause(300);
    });
    expect(delays, "the backoffs drawn").to.deep.equal([2 ** 31]);
    expect(currentFc.srv.sessions, "connections made").to.have.length(1);
    expect(warnings, "TimeoutOverflowWarnings").to.equal(0);
    ftp.close();
    await pwd;
    await currentFc.expectNoLeaks();
  });
});
