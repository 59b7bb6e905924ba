/**
 * A use() waiting for a client could not be taken back: a caller whose
 * deadline passed left its task in line, and it still ran later. With
 * `{ signal }` a waiting call leaves the line when the signal aborts (its
 * place freed, nothing run, no client held or connected for it) and
 * rejects with an AbortError; an already aborted signal rejects at once.
 * Once the task has its client, it gets the signal as `options.signal`
 * and honours it itself. Tree transfers' `signal` cancels their waits
 * for a pool client too.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { getEventListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patternFile } from "../../fixtures/server.js";
import { FtpError, FtpPool } from "../../lib/index.js";
import { settledWithin, until } from "../faults/helpers.js";
import { rejection, stalling, usePoolFixture } from "./pool-fixture.js";

/** The abort error of the library (lib/abort-signal.ts): name AbortError, code ABORT_ERR, the reason as its cause. */
function expectAbortError(error: unknown, reason: unknown): void {
  expect(error).to.be.instanceOf(Error);
  expect((error as Error).name).to.equal("AbortError");
  expect((error as { code?: string }).code).to.equal("ABORT_ERR");
  expect((error as Error).cause).to.equal(reason);
}

const MIB = 1024 * 1024;

const listeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

describe("FtpPool.use() with { signal }", () => {
  const fixture = usePoolFixture({
    files: { "/a.txt": patternFile(100), "/tree/f.txt": patternFile(10), "/stalls.bin": stalling(2 * MIB) },
  });
  const { made } = fixture;
  const poolOf = (size: number) => fixture.poolOf(size);
  const hold = (p: FtpPool) => fixture.hold(p);

  it("rejects at once with an AbortError when the signal is already aborted: the task never runs, no client is connected", async () => {
    const p = poolOf(2);
    const reason = new Error("the request went away");
    let ran = false;
    const error = await rejection(p.use(async () => void (ran = true), { signal: AbortSignal.abort(reason) }));
    expectAbortError(error, reason);
    // No reason given: the signal's own (a DOMException named AbortError) is the cause.
    const bare = new AbortController();
    bare.abort();
    const second = await rejection(p.use(async () => void (ran = true), { signal: bare.signal }));
    expectAbortError(second, bare.signal.reason);
    expect((bare.signal.reason as DOMException).name).to.equal("AbortError");
    expect(ran).to.equal(false);
    expect(made).to.have.length(0);
  });

  it("aborted while waiting for a busy client: leaves the line at once, never runs, and the next waiter gets the client", async () => {
    const p = poolOf(1);
    const holder = hold(p);
    await holder.started;
    const controller = new AbortController();
    let ranAborted = false;
    const aborted = p.use(async () => void (ranAborted = true), { signal: controller.signal });
    const next = p.use((client) => client.pwd());
    // Waiting in line: its wait watches the signal.
    expect(listeners(controller.signal)).to.equal(1);
    const reason = new Error("deadline passed");
    controller.abort(reason);
    // Settles while the holder still holds the only client, and its wait no longer watches the signal.
    expectAbortError(await rejection(aborted), reason);
    expect(listeners(controller.signal)).to.equal(0);
    holder.release();
    expect(await holder.done).to.equal("held");
    // The call behind it got the client in its turn; the aborted task never ran.
    expect(await next).to.equal("/");
    expect(ranAborted).to.equal(false);
    // One client all along, idle again and handed to the next call.
    expect(made).to.have.length(1);
    expect(await p.use((client) => client.pwd())).to.equal("/");
    expect(made).to.have.length(1);
  });

  it("refuses a signal that is no AbortSignal with a TypeError before taking a place in line: the client still goes to the next call", async () => {
    const p = poolOf(1);
    const holder = hold(p);
    await holder.started;
    let ran = false;
    const bad = [{}, "x", null].map((signal) => p.use(async () => void (ran = true), { signal: signal as unknown as AbortSignal }));
    const next = p.use((client) => client.pwd());
    for (const call of bad) {
      const error = await rejection(call);
      expect(error).to.be.instanceOf(TypeError);
      expect((error as { code?: string }).code).to.equal("ERR_INVALID_ARG_TYPE");
    }
    holder.release();
    expect(await holder.done).to.equal("held");
    // Not swallowed by a place in line left behind: the call behind them gets the client.
    expect(await settledWithin(next)).to.deep.equal({ ok: true, value: "/" });
    expect(ran).to.equal(false);
  });

  it("aborted while its own client connects: rejects before the connect ends, and that client goes to the next call", async () => {
    const p = poolOf(1);
    let open!: () => void;
    fixture.gate = new Promise<void>((resolve) => (open = resolve));
    const events: string[] = [];
    const controller = new AbortController();
    let ranAborted = false;
    const aborted = p.use(async () => void (ranAborted = true), { signal: controller.signal });
    aborted.catch((error: unknown) => events.push(`rejected ${(error as Error).name}`));
    const next = p.use((client) => client.pwd());
    controller.abort();
    // Microtasks run before the next turn of the event loop: the rejection is in by then.
    await new Promise((resolve) => setImmediate(resolve));
    events.push("connect released");
    open();
    expect(await next).to.equal("/");
    await aborted.catch(() => undefined);
    expect(events).to.deep.equal(["rejected AbortError", "connect released"]);
    expect(ranAborted).to.equal(false);
    expect(made).to.have.length(1);
  });

  it("once the task has its client, it gets the signal and the call settles with the task", async () => {
    const p = poolOf(1);
    const controller = new AbortController();
    let given: AbortSignal | undefined;
    const result = await p.use(
      async (client, options) => {
        given = options.signal;
        controller.abort(new Error("too late for the pool"));
        // The pool leaves a running task alone: it ignores the abort and finishes.
        return client.pwd();
      },
      { signal: controller.signal },
    );
    expect(result).to.equal("/");
    expect(given).to.equal(controller.signal);
    // A task that passes it on to its transfer is cut off by it.
    const again = new AbortController();
    const error = await rejection(
      p.use(
        async (client, { signal }) => {
          const chunks: Buffer[] = [];
          again.abort(new Error("stop"));
          await client.retrbinary("RETR /a.txt", (chunk) => void chunks.push(chunk), { signal });
        },
        { signal: again.signal },
      ),
    );
    expect((error as Error).name).to.equal("AbortError");
    expect(await p.use((client) => client.pwd())).to.equal("/");
  });

  it("leaves no listener on a long-lived signal shared by a thousand calls, however each settles", async () => {
    const p = poolOf(2);
    const shared = new AbortController().signal;
    const calls = Array.from({ length: 1000 }, () =>
      p.use((client, { signal }) => Promise.resolve(signal === shared && client.closed === false), { signal: shared }),
    );
    // One listener while they wait, not one per call.
    expect(listeners(shared)).to.equal(1);
    expect(await Promise.all(calls)).to.deep.equal(Array.from({ length: 1000 }, () => true));
    expect(listeners(shared)).to.equal(0);
    // Calls in line that close() rejects leave none either.
    const holders = [hold(p), hold(p)];
    await Promise.all(holders.map((holder) => holder.started));
    const waiting = Array.from({ length: 100 }, () => p.use((client) => client.pwd(), { signal: shared }));
    for (const call of waiting) call.catch(() => undefined);
    expect(listeners(shared)).to.equal(1);
    const closing = p.close();
    for (const call of waiting) expect(await rejection(call)).to.be.instanceOf(FtpError);
    expect(listeners(shared)).to.equal(0);
    for (const holder of holders) holder.release();
    expect(await Promise.all(holders.map((holder) => holder.done))).to.deep.equal(["held", "held"]);
    await closing;
  });

  it("close() with aborted and waiting calls settles: the aborted ones keep their AbortError, the others are rejected by close()", async () => {
    const p = poolOf(1);
    const holder = hold(p);
    await holder.started;
    const controller = new AbortController();
    const other = new AbortController();
    const aborted = p.use((client) => client.pwd(), { signal: controller.signal });
    const withSignal = p.use((client) => client.pwd(), { signal: other.signal });
    const without = p.use((client) => client.pwd());
    for (const call of [aborted, withSignal, without]) call.catch(() => undefined);
    const reason = new Error("gone");
    controller.abort(reason);
    const closing = p.close();
    expectAbortError(await rejection(aborted), reason);
    for (const call of [withSignal, without]) {
      const error = await rejection(call);
      expect(error).to.be.instanceOf(FtpError);
      expect((error as FtpError).code).to.equal("ERR_FTP_POOL_CLOSED");
    }
    holder.release();
    expect(await holder.done).to.equal("held");
    await closing;
    expect(listeners(controller.signal) + listeners(other.signal)).to.equal(0);
  });

  it("downloadDir's signal cancels its wait for a pool client: it rejects with the reason while the client is still held", async () => {
    const p = poolOf(1);
    const holder = hold(p);
    await holder.started;
    const local = mkdtempSync(join(tmpdir(), "ftpstream-use-signal-"));
    try {
      const controller = new AbortController();
      const transfer = p.downloadDir("/tree", local, { signal: controller.signal });
      transfer.catch(() => undefined);
      // The tree call adds no listener of its own: the one on its signal is its wait for a client.
      expect(await until(() => listeners(controller.signal) > 0)).to.equal(true);
      const reason = new Error("job timed out");
      controller.abort(reason);
      expect(await rejection(transfer)).to.equal(reason);
      expect(listeners(controller.signal)).to.equal(0);
      holder.release();
      expect(await holder.done).to.equal("held");
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  describe("downloadSegmented() with { signal }", () => {
    let local: string;
    beforeEach(() => void (local = mkdtempSync(join(tmpdir(), "ftpstream-use-signal-"))));
    afterEach(() => rmSync(local, { recursive: true, force: true }));

    it("rejects at once when the signal is already aborted: nothing connects, no file is made", async () => {
      const p = poolOf(2);
      const reason = new Error("no longer wanted");
      const target = join(local, "out.bin");
      expectAbortError(await rejection(p.downloadSegmented("/a.txt", target, { signal: AbortSignal.abort(reason) })), reason);
      expect(made).to.have.length(0);
      expect(readdirSync(local)).to.deep.equal([]);
    });

    for (const verb of ["SIZE", "FEAT"]) {
      it(`aborted while its ${verb} goes unanswered (clients without a timeout): rejects at once, that client is closed, no file is made`, async () => {
        fixture.server.handle(verb, () => undefined);
        const p = fixture.poolOf(2, { timeout: 0 });
        const controller = new AbortController();
        const target = join(local, "out.bin");
        const download = p.downloadSegmented("/stalls.bin", target, { signal: controller.signal, minSegmentSize: MIB });
        download.catch(() => undefined);
        await fixture.server.waitForCommand(verb, { from: 0 });
        const reason = new Error("job timed out");
        controller.abort(reason);
        expectAbortError(await rejection(download), reason);
        expect(readdirSync(local)).to.deep.equal([]);
        expect(listeners(controller.signal)).to.equal(0);
        // The command has no ABOR: its client is closed, not kept waiting for the reply, and the pool makes another.
        expect(made.map((client) => client.closed)).to.deep.equal([true]);
        fixture.server.unhandle(verb);
        expect(await p.use((client) => client.pwd())).to.equal("/");
        expect(made).to.have.length(2);
        await p.close();
        await fixture.expectNoLeaks();
      });
    }

    it("aborted while its segments run: they are aborted, the part file is removed, and it rejects with an AbortError", async () => {
      const p = poolOf(2);
      const controller = new AbortController();
      const target = join(local, "out.bin");
      const download = p.downloadSegmented("/stalls.bin", target, { signal: controller.signal, segments: 2, minSegmentSize: MIB });
      download.catch(() => undefined);
      // Both segments have their RETR out and their first bytes in; then nothing more comes.
      expect(await until(() => fixture.server.commands.filter((line) => line.startsWith("RETR")).length === 2)).to.equal(true);
      const reason = new Error("job timed out");
      controller.abort(reason);
      expectAbortError(await rejection(download), reason);
      expect(existsSync(target)).to.equal(false);
      expect(readdirSync(local)).to.deep.equal([]);
      expect(listeners(controller.signal)).to.equal(0);
      // The pool's clients are usable afterwards.
      expect(await p.use((client) => client.pwd())).to.equal("/");
    });
  });
});
