import { expect } from "chai";
import { CommandQueue } from "../../lib/queue.js";

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("command queue", function () {
  it("runs tasks one at a time, in the order they were queued", async function () {
    const queue = new CommandQueue();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const results = gates.map((gate, i) =>
      queue.run(async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).to.deep.equal(["start 0"]);
    expect(queue.running).to.equal(true);
    expect(queue.length).to.equal(2);
    // Releasing later tasks first changes nothing: order is the queue's.
    gates[2].resolve();
    gates[1].resolve();
    gates[0].resolve();
    expect(await Promise.all(results)).to.deep.equal([0, 1, 2]);
    expect(log).to.deep.equal(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
  });

  it("keeps going after a task fails, handing the failure to that task's caller only", async function () {
    const queue = new CommandQueue();
    const first = queue.run(async () => {
      throw new Error("boom");
    });
    const second = queue.run(async () => "ok");
    expect(
      await first.then(
        () => "resolved",
        (e: Error) => e.message,
      ),
    ).to.equal("boom");
    expect(await second).to.equal("ok");
  });

  it("fail() rejects every waiting task once with the same error, and every later one", async function () {
    const queue = new CommandQueue();
    const gate = deferred();
    const running = queue.run(() => gate.promise.then(() => "ran"));
    let started = 0;
    const waiting = [1, 2, 3].map(() =>
      queue.run(async () => {
        started++;
      }),
    );
    const outcomes = waiting.map((p) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    const failure = new Error("closed");
    queue.fail(failure);
    queue.fail(new Error("closed again"));
    expect(await Promise.all(outcomes)).to.deep.equal([failure, failure, failure]);
    // The running task is not the queue's to fail: its connection fails it.
    gate.resolve();
    expect(await running).to.equal("ran");
    expect(started).to.equal(0);
    expect(
      await queue
        .run(async () => "late")
        .then(
          () => undefined,
          (e: unknown) => e,
        ),
    ).to.equal(failure);
  });
});
