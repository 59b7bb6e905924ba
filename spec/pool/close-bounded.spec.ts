/**
 * FtpPool.close() settles within its `timeout` whatever the tasks are
 * doing or left behind, and leaves no connection open. It quitted every
 * client at once and waited for those QUITs: a client whose task's
 * download stalled (a server that stops sending, clients made with
 * `timeout: 0`) or was never read held its QUIT, and close(), for ever.
 * `close({ timeout })` was no option at all (a `{ timeout: 0 }` given was
 * ignored, and close() waited for the running tasks). Now the work under
 * way gets `timeout` ms (default 30 s; 0: none at all; Infinity: as long
 * as it takes), then every connection still open is closed; and a client
 * given back after close() with work its task left on it is closed at
 * once, as one given back before close() was (b88cb9b).
 */
import { expect } from "chai";
import * as sinon from "sinon";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternFile } from "../../fixtures/server.js";
import { FTP, FtpClosedError, FtpError, FtpPool } from "../../lib/index.js";
import { settledWithin, until } from "../faults/helpers.js";
import { rejection, stalling, usePoolFixture } from "./pool-fixture.js";

const MIB = 1024 * 1024;

/** A Writable that keeps nothing. */
const sink = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });

/** Resolves once `promise` has settled, or fails the spec if it had not within 2 s. */
async function settles(promise: Promise<unknown>, what: string): Promise<void> {
  const result = await settledWithin(promise);
  if (result === "pending") expect.fail(`${what} never settled`);
  if (!result.ok) throw result.error;
}

describe("FtpPool.close() settles within its timeout", () => {
  const fixture = usePoolFixture({ files: { "/stalls.bin": stalling(2 * MIB), "/big.bin": patternFile(32 * MIB), "/a.txt": "A" } });

  /** A use() whose task downloads /stalls.bin into a sink, with RETR sent and the first bytes in when it resolves. */
  async function stalledDownload(p: ReturnType<typeof fixture.poolOf>): Promise<{ running: Promise<void> }> {
    const running = p.use((client) => pipeline(client.retrbinary("RETR /stalls.bin"), sink()));
    running.catch(() => undefined);
    await fixture.server.waitForCommand("RETR", { from: 0 });
    return { running };
  }

  it("closes the connection of a task whose download stalls once `timeout` passes (clients without a timeout)", async () => {
    const p = fixture.poolOf(1, { timeout: 0 });
    const { running } = await stalledDownload(p);
    const started = Date.now();
    await settles(p.close({ timeout: 200 }), "close({ timeout: 200 })");
    expect(Date.now() - started).to.be.at.least(190);
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    expect(fixture.made[0].closed).to.equal(true);
    await fixture.expectNoLeaks();
  });

  it("with `timeout: 0` waits for nothing: no QUIT, every connection closed at once, idle ones too", async () => {
    const p = fixture.poolOf(2, { timeout: 0 });
    const idle = fixture.hold(p);
    await idle.started;
    const { running } = await stalledDownload(p);
    idle.release();
    await idle.done;
    expect(fixture.made).to.have.length(2);
    await settles(p.close({ timeout: 0 }), "close({ timeout: 0 })");
    expect(fixture.made.map((client) => client.closed)).to.deep.equal([true, true]);
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    await fixture.expectNoLeaks();
    expect(fixture.server.commands.filter((line) => line === "QUIT")).to.deep.equal([]);
  });

  it("without a timeout gives the work under way 30 s, then closes its connection", async () => {
    const p = fixture.poolOf(1, { timeout: 0 });
    const { running } = await stalledDownload(p);
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let closed = false;
    let closing: Promise<void>;
    try {
      closing = p.close();
      void closing.then(() => (closed = true));
      await clock.tickAsync(29_999);
      expect(closed, "closed before 30 s").to.equal(false);
      expect(fixture.made[0].closed).to.equal(false);
      await clock.tickAsync(1);
      expect(fixture.made[0].closed).to.equal(true);
    } finally {
      clock.restore();
    }
    await settles(closing, "close()");
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    await fixture.expectNoLeaks();
  });

  it("with `timeout: Infinity` lets the running task finish what it started, then quits", async () => {
    fixture.server.once("PWD", async (s) => {
      await s.sleep(300);
      await s.defaultHandler("PWD");
    });
    const p = fixture.poolOf(1);
    const task = p.use((client) => client.pwd());
    await fixture.server.waitForCommand("PWD", { from: 0 });
    const closing = p.close({ timeout: Infinity });
    expect(await task).to.equal("/");
    await settles(closing, "close({ timeout: Infinity })");
    expect(fixture.server.commands.slice(-2)).to.deep.equal(["PWD", "QUIT"]);
    await fixture.expectNoLeaks();
  });

  it("with a timeout longer than a timer holds (2^31 ms and more) waits as Infinity does, not 1 ms", async () => {
    fixture.server.once("PWD", async (s) => {
      await s.sleep(100);
      await s.defaultHandler("PWD");
    });
    const p = fixture.poolOf(1);
    const task = p.use((client) => client.pwd());
    await fixture.server.waitForCommand("PWD", { from: 0 });
    const closing = p.close({ timeout: 2 ** 32 });
    expect(await task).to.equal("/");
    await settles(closing, "close({ timeout: 2 ** 32 })");
    expect(fixture.server.commands.slice(-2)).to.deep.equal(["PWD", "QUIT"]);
    await fixture.expectNoLeaks();
  });

  it("closes at once a client whose task, running when close() came, leaves a download unread behind it", async () => {
    const p = fixture.poolOf(1);
    let go!: () => void;
    const gate = new Promise<void>((resolve) => (go = resolve));
    let left: Readable | undefined;
    const task = p.use(async (client) => {
      left = client.retrbinary("RETR /big.bin");
      left.on("error", () => undefined);
      await gate;
      throw new Error("the task failed after starting its download");
    });
    task.catch(() => undefined);
    await fixture.server.waitForCommand("RETR", { from: 0 });
    // Not waiting out the default 30 s: the client is closed once its task has given it back.
    const closing = p.close();
    go();
    expect(((await rejection(task)) as Error).message).to.equal("the task failed after starting its download");
    await settles(closing, "close()");
    expect(fixture.made[0].closed).to.equal(true);
    expect(left?.destroyed).to.equal(true);
    await fixture.expectNoLeaks();
  });

  it("closes at once a client whose task, running when close() came, returns a download nobody reads", async () => {
    const p = fixture.poolOf(2);
    let go!: () => void;
    const gate = new Promise<void>((resolve) => (go = resolve));
    const task = p.use(async (client) => {
      const download = client.retrbinary("RETR /big.bin");
      download.on("error", () => undefined);
      await gate;
      return download;
    });
    // A second client, idle: it gets its QUIT.
    const other = fixture.hold(p);
    await other.started;
    other.release();
    await other.done;
    await fixture.server.waitForCommand("RETR", { from: 0 });
    const closing = p.close();
    go();
    const download = await task;
    await settles(closing, "close()");
    expect(download.destroyed).to.equal(true);
    expect(fixture.made.map((client) => client.closed)).to.deep.equal([true, true]);
    expect(fixture.server.commands.filter((line) => line === "QUIT")).to.have.length(1);
    await fixture.expectNoLeaks();
  });

  it("quits, not closes, a client whose task's callback-form download ends as the task returns", async () => {
    const p = fixture.poolOf(1);
    const chunks: Buffer[] = [];
    // The callback form resolves a few microtasks before its queue task ends.
    const task = p.use((client) => client.retrbinary("RETR /a.txt", (chunk) => void chunks.push(chunk)));
    await fixture.server.waitForCommand("RETR", { from: 0 });
    const closing = p.close();
    expect(await task).to.match(/^226/);
    await settles(closing, "close()");
    expect(Buffer.concat(chunks).toString()).to.equal("A");
    expect(fixture.server.commands.slice(-2)).to.deep.equal(["RETR /a.txt", "QUIT"]);
    await fixture.expectNoLeaks();
  });

  it("ends a segmented download whose segments stall once `timeout` passes: it rejects with FtpClosedError and leaves no file", async () => {
    const local = mkdtempSync(join(tmpdir(), "ftpstream-close-bounded-"));
    try {
      const p = fixture.poolOf(2, { timeout: 0 });
      const download = p.downloadSegmented("/stalls.bin", join(local, "out.bin"), { segments: 2, minSegmentSize: MIB });
      download.catch(() => undefined);
      expect(await until(() => fixture.server.commands.filter((line) => line.startsWith("RETR")).length === 2)).to.equal(true);
      await settles(p.close({ timeout: 100 }), "close({ timeout: 100 })");
      expect(await rejection(download)).to.be.instanceOf(FtpClosedError);
      expect(readdirSync(local)).to.deep.equal([]);
      await fixture.expectNoLeaks();
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("called again returns the same promise, and a shorter timeout brings the deadline forward", async () => {
    const p = fixture.poolOf(1, { timeout: 0 });
    const { running } = await stalledDownload(p);
    const first = p.close();
    const second = p.close({ timeout: 0 });
    expect(second).to.equal(first);
    await settles(first, "the first close()");
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    // A longer one later changes nothing, and resolves at once.
    await settles(p.close({ timeout: Infinity }), "a third close()");
    await fixture.expectNoLeaks();
  });

  it("called again once it has ended resolves at once and leaves no timer behind", async () => {
    const p = fixture.poolOf(1);
    expect(await p.use((client) => client.pwd())).to.equal("/");
    await settles(p.close({ timeout: Infinity }), "close({ timeout: Infinity })");
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    await settles(p.close(), "close() again");
    await settles(p.close({ timeout: 50 }), "close({ timeout: 50 }) again");
    // Timers that keep the process alive (unref'd ones are not listed): a 30 s one would hold a script that is done.
    expect(timers()).to.equal(before);
    await fixture.expectNoLeaks();
  });

  it("`await using` closes the pool when the scope ends: its clients quit", async () => {
    let outside: FtpPool | undefined;
    {
      await using p = fixture.poolOf(2);
      outside = p;
      expect(await Promise.all([p.use((client) => client.pwd()), p.use((client) => client.pwd())])).to.deep.equal(["/", "/"]);
    }
    expect(fixture.made.map((client) => client.closed)).to.deep.equal([true, true]);
    expect(fixture.server.commands.filter((line) => line === "QUIT")).to.have.length(2);
    expect(await rejection(outside.use((client) => client.pwd()))).to.include({ code: "ERR_FTP_POOL_CLOSED" });
    await fixture.expectNoLeaks();
  });

  it("settles with its clients closed, nothing escaping, when a client's close() throws (a subclass's)", async () => {
    class Throwing extends FTP {
      override close(): void {
        super.close();
        throw new Error("close() of a subclass that throws");
      }
    }
    const server = fixture.server;
    const made: FTP[] = [];
    const p = new FtpPool({
      size: 2,
      connect: async () => {
        const client = await Throwing.create({ host: server.host, port: server.port, user: "user", password: "pass", timeout: 0 });
        made.push(client);
        return client;
      },
    });
    const holder = fixture.hold(p);
    await holder.started;
    const { running } = await stalledDownload(p);
    holder.release();
    await holder.done;
    // One idle client (its QUIT then close() throws), one with a stalled download (closed at the deadline).
    await settles(p.close({ timeout: 100 }), "close({ timeout: 100 })");
    expect(made.map((client) => client.closed)).to.deep.equal([true, true]);
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    await fixture.expectNoLeaks();
  });

  it("rejects a timeout that is no number from 0 up (TypeError or RangeError, as Node's calls), and the pool stays open", async () => {
    const p = fixture.poolOf(1);
    const refusals = [
      [-1, RangeError, "ERR_OUT_OF_RANGE"],
      [Number.NaN, RangeError, "ERR_OUT_OF_RANGE"],
      ["100", TypeError, "ERR_INVALID_ARG_TYPE"],
    ] as const;
    for (const [timeout, type, code] of refusals) {
      const error = await rejection(p.close({ timeout: timeout as unknown as number }));
      expect(error).to.be.instanceOf(type);
      expect(error).to.include({ code });
    }
    expect(await p.use((client) => client.pwd())).to.equal("/");
    await settles(p.close(), "close()");
  });

  it("new FtpPool() throws for a connect that is no function (TypeError) and a size that is no positive integer (RangeError)", () => {
    expect(() => new FtpPool({ connect: undefined as unknown as () => Promise<FTP> }))
      .to.throw(TypeError)
      .with.property("code", "ERR_INVALID_ARG_TYPE");
    for (const size of [0, 1.5, -2]) {
      expect(() => new FtpPool({ size, connect: () => Promise.reject(new Error("unused")) }))
        .to.throw(RangeError)
        .with.property("code", "ERR_OUT_OF_RANGE");
    }
  });

  it("a use() after close() and one waiting for a client as it came reject with ERR_FTP_POOL_CLOSED, even with a signal aborted later", async () => {
    const p = fixture.poolOf(1, { timeout: 0 });
    const { running } = await stalledDownload(p);
    const controller = new AbortController();
    const waiting = p.use((client) => client.pwd(), { signal: controller.signal });
    waiting.catch(() => undefined);
    const closing = p.close({ timeout: 100 });
    controller.abort(new Error("too late"));
    const after = p.use((client) => client.pwd());
    for (const call of [waiting, after]) {
      const error = await rejection(call);
      expect(error).to.be.instanceOf(FtpError);
      expect((error as FtpError).code).to.equal("ERR_FTP_POOL_CLOSED");
    }
    await settles(closing, "close()");
    expect(await rejection(running)).to.be.instanceOf(FtpClosedError);
    await fixture.expectNoLeaks();
  });

  it("a use() whose task throws synchronously rejects with its error and the client goes to the next call", async () => {
    const p = fixture.poolOf(1);
    const failure = new Error("thrown at once");
    const throwing = ((): Promise<string> => {
      throw failure;
    }) as (client: FTP) => Promise<string>;
    expect(await rejection(p.use(throwing))).to.equal(failure);
    expect(await p.use((client) => client.pwd())).to.equal("/");
    expect(fixture.made).to.have.length(1);
    await settles(p.close(), "close()");
    await fixture.expectNoLeaks();
  });

  it("against a server that resets every connection after the login, every call rejects with an FtpError and close() leaves nothing open", async () => {
    fixture.server.handle("PWD", (s) => void s.socket.resetAndDestroy());
    const p = fixture.poolOf(2, { timeout: 0 });
    const calls = Array.from({ length: 6 }, () => p.use((client) => client.pwd()));
    for (const call of calls) expect(await rejection(call)).to.be.instanceOf(FtpError);
    await settles(p.close(), "close()");
    expect(await until(() => fixture.made.every((client) => client.closed))).to.equal(true);
    await fixture.expectNoLeaks();
  });
});
