/**
 * A job that runs for days repeats every kind of call thousands of times,
 * the failing ones too: refused commands (550), downloads destroyed half
 * way or whose consumer fails, transfers cancelled by their signal or by
 * abort(), uploads whose source fails, raw transfercmd() use, listings left
 * early, tasks that throw, calls that leave a pool's line, connections the
 * server drops. soak.spec.ts repeats the transfers that succeed; here each
 * round makes every kind once, and after the run nothing the client or the
 * pool holds (every array, Map and Set reachable from it, every listener,
 * every pending timer: see reachable.ts) has grown with the run, a signal
 * shared by every call carries no listener, no MaxListenersExceededWarning
 * was emitted, and every data connection is closed.
 */
import { expect } from "chai";
import { getEventListeners } from "node:events";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternFile } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import { excess, FaultCase, handleCounts, until } from "./helpers.js";
import { grownBy, holdings } from "./reachable.js";

/** Rounds before the first count (what is made once per client, or grows to a steady size, is made by then). */
const WARMUP = 5;
/** Rounds between the two counts: a leak of one item per round of some kind grows by this much. */
const ROUNDS = 40;
/** Growth that counts as a leak: half the rounds (a steady size may still move by a few between the counts). */
const LEAK = ROUNDS / 2;

const FILES = {
  "/small.bin": patternFile(2048),
  // Large enough that a transfer cut after its first chunk is still running.
  "/big.bin": patternFile(8 * 1024 * 1024),
  "/dir/a.txt": "a\n",
  "/dir/b.txt": "b\n",
};

/** The fixture logs every command and keeps every session: dropped, so only the client is counted. */
function forgetServerLogs(fc: FaultCase): void {
  fc.srv.commands.length = 0;
  const open = fc.srv.sessions.filter((session) => !session.closed);
  fc.srv.sessions.length = 0;
  fc.srv.sessions.push(...open);
}

/** Warnings the process emits while `run` runs (MaxListenersExceededWarning among them). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
  process.on("warning", onWarning);
  try {
    await run();
  } finally {
    process.off("warning", onWarning);
  }
  return warnings;
}

const ignore = (): void => undefined;

/** Timers pending in the process (the ones that keep it alive: a timer held by a closure is counted too, which holdings() cannot see). */
function timersPending(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

/** Timers that may come and go between the counts (mocha's, the fixture's grace timers). */
const TIMER_SLACK = 3;

/** Reads `source` to its end, dropping what it gives. */
async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const item of source) void item;
}

/** Resolves once `stream` has given its first chunk. */
function firstChunk(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once("data", () => resolve());
    stream.once("error", reject);
  });
}

/** One of each kind of call on `ftp`; each settles before the next. `signal` is shared by all of them. */
async function clientRound(ftp: FTP, signal: AbortSignal): Promise<void> {
  await drain(ftp.retrbinary("RETR /small.bin", { signal }));
  await pipeline(Readable.from([Buffer.alloc(100)]), ftp.storbinary("STOR /up.bin", { signal }));
  await drain(ftp.list("/dir"));
  for await (const entry of ftp.list("/dir")) if (entry) break;
  await ftp.size("/small.bin");
  await ftp.stat("/small.bin");
  await ftp.size("/missing").catch(ignore);
  await ftp.cwd("/missing").catch(ignore);
  await ftp.retrbinary("RETR /missing", ignore, { signal }).catch(ignore);
  await ftp.sendcmds(["NOOP", "SIZE /missing"]);
  // Destroyed after its first chunk.
  const destroyed = ftp.retrbinary("RETR /big.bin", { signal });
  await firstChunk(destroyed);
  destroyed.destroy();
  // Its consumer fails.
  const failing = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error("disk full")) });
  await pipeline(ftp.retrbinary("RETR /big.bin", { signal }), failing).catch(ignore);
  // Cancelled by its own signal.
  const cancel = new AbortController();
  // Its own signal alone: AbortSignal.any is not in Node 18.13, which the package supports.
  const cancelled = ftp.retrbinary("RETR /big.bin", { signal: cancel.signal });
  cancelled.on("error", ignore);
  await firstChunk(cancelled);
  cancel.abort();
  // Cut by abort().
  const aborted = ftp.retrbinary("RETR /big.bin", { signal });
  aborted.on("error", ignore);
  const abortedClosed = new Promise((resolve) => aborted.once("close", resolve));
  await firstChunk(aborted);
  await ftp.abort().catch(ignore);
  aborted.resume();
  await abortedClosed;
  // An upload whose source fails.
  const upload = ftp.storbinary("STOR /up2.bin", { signal });
  upload.on("error", ignore);
  const uploadClosed = new Promise((resolve) => upload.once("close", resolve));
  upload.write(Buffer.alloc(1000));
  upload.destroy(new Error("the source failed"));
  await uploadClosed;
  // ftplib's raw form.
  const socket = await ftp.transfercmd("RETR /small.bin");
  await drain(socket);
  await ftp.voidresp();
  await ftp.voidcmd("NOOP");
}

describe("bounds: a long job holds no more at its end than after its first calls", function () {
  // No timing is asserted; a loaded machine makes each round slower.
  this.timeout(120_000);
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it(`one client, ${ROUNDS} rounds of every kind of call, failing ones included: nothing it holds grew, no listener left on the shared signal`, async () => {
    fc = await FaultCase.start({ files: FILES });
    const ftp = fc.client({ timeout: 20_000 });
    await ftp.ready;
    const shared = new AbortController();
    for (let i = 0; i < WARMUP; i++) await clientRound(ftp, shared.signal);
    await until(() => fc.srv.openConnections() === 1);
    forgetServerLogs(fc);
    const handlesBefore = handleCounts();
    const timersBefore = timersPending();
    const before = holdings(ftp);
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await clientRound(ftp, shared.signal);
        forgetServerLogs(fc);
      }
    });
    // Every data connection closed: only the control connection is left.
    await until(() => fc.srv.openConnections() === 1 && excess(handlesBefore, handleCounts()).length === 0);
    expect(fc.srv.openConnections(), "server connections (control only)").to.equal(1);
    expect(excess(handlesBefore, handleCounts()), "open handles beyond those before the rounds").to.deep.equal([]);
    expect(grownBy(before, holdings(ftp), LEAK), "what the client holds, grown with the rounds").to.deep.equal([]);
    // The server's grace timers for data connections closing go with them.
    await until(() => timersPending() <= timersBefore + TIMER_SLACK);
    expect(timersPending(), "timers pending").to.be.at.most(timersBefore + TIMER_SLACK);
    expect(getEventListeners(shared.signal, "abort"), "listeners on the shared signal").to.have.length(0);
    expect(warnings).to.deep.equal([]);
    await fc.finish(ftp, false);
  });

  it(`FtpPool: ${ROUNDS} rounds of tasks that succeed, throw, fail, leave the line or lose their connection: nothing it holds grew, close() leaves nothing open`, async () => {
    fc = await FaultCase.start({ files: FILES });
    const pool = new FtpPool({
      size: 3,
      connect: () => FTP.connect(`ftp://user:pass@${fc.srv.host}:${fc.srv.port}/`, { timeout: 20_000 }),
    });
    // SITE DROP: the server drops the connection it came on, with no reply.
    fc.srv.handle("SITE", (session) => session.drop());
    const shared = new AbortController();
    const signal = shared.signal;
    let dropped = 0;
    const round = async (): Promise<void> => {
      const leaving = new AbortController();
      const tasks = [
        pool.use(async (client) => void (await client.size("/small.bin")), { signal }),
        pool.use(() => {
          throw new Error("a task that throws");
        }),
        pool.use((client) => client.size("/missing")),
        pool.use(async (client) => {
          const download = client.retrbinary("RETR /big.bin");
          await firstChunk(download);
          download.destroy();
        }),
        pool.use(async (client) => void (await client.stat("/dir/a.txt")), { signal }),
        // Its connection dropped by the server under the command.
        pool.use(async (client) => {
          dropped++;
          await client.voidcmd("SITE DROP");
        }),
        // Leaves the line: three tasks ahead of it hold every client.
        pool.use(async () => undefined, { signal: leaving.signal }),
        pool.use(async (client) => void (await client.pwd()), { signal }),
      ];
      leaving.abort();
      await Promise.allSettled(tasks);
    };
    for (let i = 0; i < WARMUP; i++) await round();
    forgetServerLogs(fc);
    const timersBefore = timersPending();
    const before = holdings(pool);
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await round();
        forgetServerLogs(fc);
      }
    });
    expect(dropped, "connections dropped under a task").to.equal(WARMUP + ROUNDS);
    expect(grownBy(before, holdings(pool), LEAK), "what the pool holds, grown with the rounds").to.deep.equal([]);
    // The server's grace timers for data connections closing go with them.
    await until(() => timersPending() <= timersBefore + TIMER_SLACK);
    expect(timersPending(), "timers pending").to.be.at.most(timersBefore + TIMER_SLACK);
    expect(getEventListeners(signal, "abort"), "listeners on the shared signal").to.have.length(0);
    expect(warnings).to.deep.equal([]);
    await pool.close();
    await fc.expectNoLeaks();
  });
});
