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

  it("starts a task asked to run now before run() returns when the queue is idle, and in its turn when it is not", async function () {
    const queue = new CommandQueue();
    const log: string[] = [];
    const first = queue.run(async () => void log.push("first"), true);
    expect(log, "started at once on an idle queue").to.deep.equal(["first"]);
    const held = deferred();
    const holder = queue.run(async () => {
      log.push("holder");
      await held.promise;
    });
    // Without `now` a task starts on a microtask, even on an idle queue...
    expect(log).to.deep.equal(["first"]);
    await first;
    await Promise.resolve();
    expect(log).to.deep.equal(["first", "holder"]);
    // ...and with it, a busy queue still makes it wait its turn.
    const second = queue.run(async () => void log.push("second"), true);
    expect(log).to.deep.equal(["first", "holder"]);
    held.resolve();
    await Promise.all([holder, second]);
    expect(log).to.deep.equal(["first", "holder", "second"]);
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

describe("command queue with a window (pipelining)", function () {
  /** An exchange that logs its write and reads once `reply` resolves. */
  function exchange(log: string[], name: string, reply: Promise<void>): { write: () => void; read: () => Promise<string> } {
    return {
      write: () => log.push(`write ${name}`),
      read: async () => {
        log.push(`read ${name}`);
        await reply;
        return name;
      },
    };
  }

  it("writes up to `window` exchanges without waiting, reads them one at a time in write order, and starts an exclusive task only once they are answered", async function () {
    const batches: number[] = [];
    const log: string[] = [];
    const queue = new CommandQueue({
      window: 2,
      batch: (writes) => {
        const before = log.length;
        writes();
        batches.push(log.filter((line, i) => i >= before && line.startsWith("write")).length);
      },
    });
    const replies = [deferred(), deferred(), deferred()];
    const results = [
      queue.pipeline(exchange(log, "a", replies[0].promise)),
      queue.pipeline(exchange(log, "b", replies[1].promise)),
      queue.pipeline(exchange(log, "c", replies[2].promise)),
      queue.run(async () => {
        log.push("exclusive");
        return "x";
      }),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).to.deep.equal(["write a", "read a", "write b"]);
    expect(queue.inFlight).to.equal(2);
    // A later reply cannot overtake: b reads only after a.
    replies[1].resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).to.deep.equal(["write a", "read a", "write b"]);
    replies[0].resolve();
    replies[2].resolve();
    expect(await Promise.all(results)).to.deep.equal(["a", "b", "c", "x"]);
    expect(log).to.deep.equal(["write a", "read a", "write b", "read b", "write c", "read c", "exclusive"]);
    // The first two exchanges went out in one batch.
    expect(batches[0]).to.equal(2);
  });

  it("rejects an exchange whose write throws, with nothing to read, and goes on", async function () {
    const queue = new CommandQueue({ window: 4 });
    const failed = queue.pipeline({
      write: () => {
        throw new Error("not connected");
      },
      read: () => Promise.resolve("never"),
    });
    const next = queue.pipeline({ write: () => undefined, read: () => Promise.resolve("ok") });
    expect(await failed.catch((error: Error) => error)).to.have.property("message", "not connected");
    expect(await next).to.equal("ok");
  });

  it("fail() rejects only what is not yet written: written exchanges settle through their reads", async function () {
    const queue = new CommandQueue({ window: 1 });
    const reply = deferred();
    const written = queue.pipeline({ write: () => undefined, read: () => reply.promise.then(() => "answered") });
    const unwritten = queue.pipeline({ write: () => undefined, read: () => Promise.resolve("never") });
    await new Promise((resolve) => setImmediate(resolve));
    const failure = new Error("closed");
    queue.fail(failure);
    expect(await unwritten.catch((error: unknown) => error)).to.equal(failure);
    reply.resolve();
    expect(await written).to.equal("answered");
  });
});
