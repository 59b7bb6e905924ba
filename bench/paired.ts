/**
 * The small-work rows (small files, round trips, uploads, the pool, the
 * WAN row): every contender in one bench child, each on its own
 * connection, taking turns batch by batch (who goes first rotates), so all
 * of them meet the same machine. On a shared 2-core machine the server's
 * reply latency drifts from one second to the next; separate processes a
 * second apart would each catch a different part of that drift.
 *
 * CPython's ftplib cannot share the process: it runs in bench/ftplib-peer.py
 * and takes its turn when told to, timing its own batch.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { HandClient } from "./handftp.js";
import { serverCpuNs } from "./server-cpu.js";
import { DiscardSink } from "./streams.js";
import type { Endpoint, PairedTask, TaskResult } from "./tasks.js";

const TIMEOUT_MS = 60_000;
/** The contender that measures FtpPool's own overhead per task (moves no bytes). */
export const EMPTY_POOL_TASK = "FtpPool.use(), empty task";
/**
 * ftpstream as another build has it (`--baseline dir`: rows 4, 6, 10 and 11), taking
 * turns with this build's in one process, so an old and a new commit meet
 * the same machine, file for file.
 */
export const BASELINE = "ftpstream, baseline build";
/** Ends a pipelined contender's name whose downloads ask `writeAhead` (row 11). */
export const WRITTEN_AHEAD = "written ahead";

/** Ends a pipelined contender's name whose client has a pipelineWindow as large as the turn (row 10): the client's own cost per command, without the default window's refills. */
export const ONE_WINDOW = "one window";
/** Python, not compiled: found in the source tree (build/bench/ → bench/). */
const FTPLIB_PEER = fileURLToPath(new URL("../../bench/ftplib-peer.py", import.meta.url));

/** One contender's share of the work: runs items [from, to) and says what it moved. */
interface Contender {
  /** Runs the batch; resolves to the bytes moved, and, for a peer process, its own timing. */
  batch(from: number, to: number): Promise<{ bytes: number; ms?: number; cpuMs?: number }>;
  close(): Promise<void>;
}

type Totals = NonNullable<TaskResult["pairs"]>;

/** What each item of a task's work is. */
function items(task: PairedTask): { paths: string[]; count: number } {
  if (task.work === "noop") return { paths: [], count: task.count };
  if (task.work === "stor") {
    const paths = Array.from({ length: task.count }, (_, i) => `up-${String(i).padStart(4, "0")}.bin`);
    return { paths, count: task.count };
  }
  return { paths: task.paths.slice(0, task.count), count: task.count };
}

/** The 4 KiB (row's size) every upload sends. */
function uploadBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

async function ftpstreamClient(ftp: Endpoint, options: { pipelining?: boolean; pipelineWindow?: number } = {}, from?: string) {
  // Another build's module has the same shape; typed as this one's.
  const { FTP } = (from ? await import(from) : await import("../lib/index.js")) as typeof import("../lib/index.js");
  // `pipelining` is passed only when asked for, so this runs on builds without it.
  const client = new FTP({ timeout: TIMEOUT_MS, ...options });
  await client.connect(ftp.host, ftp.port);
  await client.login(ftp.user, ftp.password);
  return client;
}

async function basicFtpClient(ftp: Endpoint) {
  const { Client } = await import("basic-ftp");
  const client = new Client(TIMEOUT_MS);
  await client.access({ host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password });
  return client;
}

/** A contender that runs in this process, item by item. */
function local(step: (i: number) => Promise<number>, close: () => Promise<void>): Contender {
  return {
    async batch(from, to) {
      let bytes = 0;
      for (let i = from; i < to; i++) bytes += await step(i);
      return { bytes };
    },
    close,
  };
}

/** A contender whose items of a batch are all started at once (pipelined client, pool). */
function concurrent(step: (i: number) => Promise<number>, close: () => Promise<void>): Contender {
  return {
    async batch(from, to) {
      const runs: Array<Promise<number>> = [];
      for (let i = from; i < to; i++) runs.push(step(i));
      const moved = await Promise.all(runs);
      return { bytes: moved.reduce((a, b) => a + b, 0) };
    },
    close,
  };
}

/** CPython's ftplib in its own process (bench/ftplib-peer.py). */
async function ftplibPeer(ftp: Endpoint, task: PairedTask, paths: string[]): Promise<Contender> {
  const child: ChildProcess = spawn("python3", [FTPLIB_PEER, ftp.host, String(ftp.port), ftp.user, ftp.password], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`ftplib peer exited with ${code}`))));
  exited.catch(() => undefined);
  const next = async (): Promise<string> => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) throw new Error("ftplib peer ended");
    return line.value;
  };
  if ((await next()) !== "READY") throw new Error("ftplib peer did not log in");
  return {
    async batch(from, to) {
      const request = task.work === "noop" ? `noop ${to - from}` : `${task.work} ${paths.slice(from, to).join(" ")}`;
      child.stdin!.write(`${request}\n`);
      const [ms, cpuMs, bytes] = (await next()).split(" ").map(Number);
      return { ms, cpuMs, bytes };
    },
    async close() {
      child.stdin!.end();
      await exited.catch(() => undefined);
    },
  };
}

/** Makes the contender called `name` for the task. */
async function contender(name: string, task: PairedTask, paths: string[]): Promise<Contender> {
  const ftp = task.ftp;
  const payload = uploadBytes(task.size);
  if (name === "ftplib") return ftplibPeer(ftp, task, paths);
  if (name === "by hand, pipelined") {
    const hand = await HandClient.open(ftp);
    const close = (): Promise<void> => hand.quit();
    // NOOPs: a turn's all written at once; files: one after another, each with EPSV and RETR written together.
    if (task.work === "noop") return { batch: async (from, to) => (await hand.noops(to - from), { bytes: 0 }), close };
    if (task.work === "stor") throw new Error("by hand, pipelined: downloads and NOOPs only");
    return local((i) => hand.retrPipelined(paths[i], new DiscardSink()), close);
  }
  if (name === "by hand") {
    const hand = await HandClient.open(ftp);
    const close = (): Promise<void> => hand.quit();
    if (task.work === "noop") return local(async () => (await hand.noop(), 0), close);
    if (task.work === "stor") return local(async (i) => (await hand.stor(paths[i], payload), payload.length), close);
    return local((i) => hand.retr(paths[i], new DiscardSink()), close);
  }
  if (name === "basic-ftp") {
    const client = await basicFtpClient(ftp);
    const close = (): Promise<void> => Promise.resolve(client.close());
    if (task.work === "noop") return local(async () => (await client.send("NOOP"), 0), close);
    if (task.work === "stor")
      return local(async (i) => (await client.uploadFrom(Readable.from([payload]), paths[i]), payload.length), close);
    return local(async (i) => {
      const sink = new DiscardSink();
      await client.downloadTo(sink, paths[i]);
      return sink.bytes;
    }, close);
  }
  if (name === EMPTY_POOL_TASK) {
    // The pool's own cost per task: use() with a task that does nothing, on
    // the same pool of 4 as the row's; no FTP exchange at all.
    const { FtpPool } = await import("../lib/index.js");
    const pool = new FtpPool({ connect: () => ftpstreamClient(ftp), size: 4 });
    await Promise.all(Array.from({ length: pool.capacity }, () => pool.use(async () => new Promise((r) => setTimeout(r, 10)))));
    return concurrent(
      () => pool.use(() => Promise.resolve(0)),
      () => pool.close(),
    );
  }
  if (name.startsWith("FtpPool of ")) {
    const { FtpPool } = await import("../lib/index.js");
    const pool = new FtpPool({ connect: () => ftpstreamClient(ftp), size: Number(name.slice("FtpPool of ".length)) });
    // The pool's connections are made before the clock starts, as every other contender's.
    await Promise.all(Array.from({ length: pool.capacity }, () => pool.use(async () => new Promise((r) => setTimeout(r, 10)))));
    return concurrent(
      (i) =>
        pool.use(async (client) => {
          const sink = new DiscardSink();
          await client.retrbinary(`RETR ${paths[i]}`, sink);
          return sink.bytes;
        }),
      () => pool.close(),
    );
  }
  const pipelined = name.includes("pipelined");
  // BASELINE, or a form of it ("ftpstream, baseline build, pipelined"): the other build's FTP.
  const fromBaseline = name.startsWith(BASELINE);
  if (fromBaseline && !task.baseline) throw new Error(`${BASELINE}: no --baseline given`);
  // "…, one window": pipelineWindow as large as the turn, so every command of it is written at once, as by hand, pipelined writes them.
  const pipelining = name.endsWith(ONE_WINDOW) ? { pipelining: true, pipelineWindow: task.batch } : { pipelining: true };
  const client = await ftpstreamClient(ftp, pipelined ? pipelining : {}, fromBaseline ? task.baseline : undefined);
  const close = async (): Promise<void> => {
    await client.quit();
  };
  const run = pipelined ? concurrent : local;
  if (task.work === "noop") {
    if (name.includes("size()")) return run(async () => (await client.size(task.paths[0]), 0), close);
    return run(async () => (await client.sendcmd("NOOP"), 0), close);
  }
  if (task.work === "stor") return run(async (i) => (await client.storbinary(`STOR ${paths[i]}`, payload), payload.length), close);
  if (name.includes("callback"))
    return run(async (i) => {
      let bytes = 0;
      await client.retrbinary(`RETR ${paths[i]}`, (block: Buffer) => {
        bytes += block.length;
      });
      return bytes;
    }, close);
  if (name.includes("pipeline"))
    return run(async (i) => {
      const sink = new DiscardSink();
      await pipeline(client.retrbinary(`RETR ${paths[i]}`), sink);
      return sink.bytes;
    }, close);
  // "…, written ahead": each download's EPSV and RETR written behind the one in front's (TransferStreamOptions.writeAhead).
  const options = name.endsWith(WRITTEN_AHEAD) ? { writeAhead: true } : {};
  return run(async (i) => {
    const sink = new DiscardSink();
    await client.retrbinary(`RETR ${paths[i]}`, sink, options);
    return sink.bytes;
  }, close);
}

/**
 * Runs the task's contenders in turns of `batch` items and returns each
 * one's total wall time, CPU time and bytes. CPU time of an in-process
 * contender is this process's over its batches; ftplib's is its own.
 */
export async function paired(task: PairedTask): Promise<Totals> {
  const { paths, count } = items(task);
  const contenders = new Map<string, Contender>();
  for (const name of task.contenders) contenders.set(name, await contender(name, task, paths));
  const totals: Totals = {};
  for (const name of task.contenders)
    totals[name] = { ms: 0, cpuMs: 0, bytes: 0, serverCpuMs: task.serverPid === undefined ? undefined : 0 };
  const names = task.contenders;
  // The first passes over the items, in the same turns, are not counted:
  // they warm every contender up (V8 compiles a Node client's hot paths over
  // its first few thousand files, CPython fills its caches), so the figures
  // are each client's steady state rather than how much code it has to
  // compile. One pass of 1,000 files leaves much of that compiling in the
  // counted pass (bench/README.md, "Compiling in the counted pass").
  const passes = [...Array<boolean>(task.warmPasses ?? 1).fill(false), true];
  for (const counted of passes) {
    for (let from = 0, turn = task.first; from < count; from += task.batch, turn++) {
      const to = Math.min(count, from + task.batch);
      for (let k = 0; k < names.length; k++) {
        const name = names[(turn + k) % names.length];
        const total = totals[name];
        // Read outside the client's own clock and CPU time (reading /proc costs some), and only for counted turns.
        const serverPid = counted ? task.serverPid : undefined;
        const serverBefore = serverPid === undefined ? undefined : serverCpuNs(serverPid);
        const cpu = process.cpuUsage();
        const t = performance.now();
        const done = await contenders.get(name)!.batch(from, to);
        if (!counted) continue;
        const ms = performance.now() - t;
        const used = process.cpuUsage(cpu);
        const serverAfter = serverPid === undefined ? undefined : serverCpuNs(serverPid);
        total.ms += done.ms ?? ms;
        total.cpuMs += done.cpuMs ?? (used.user + used.system) / 1000;
        total.bytes += done.bytes;
        if (serverBefore === undefined || serverAfter === undefined) delete total.serverCpuMs;
        else if (total.serverCpuMs !== undefined) total.serverCpuMs += (serverAfter - serverBefore) / 1e6;
      }
    }
  }
  for (const c of contenders.values()) await c.close();
  if (task.work !== "noop") {
    for (const name of names) {
      if (name === EMPTY_POOL_TASK) continue;
      if (totals[name].bytes !== task.size * count)
        throw new Error(`${name}: moved ${totals[name].bytes} bytes, expected ${task.size * count}`);
    }
  }
  return totals;
}
