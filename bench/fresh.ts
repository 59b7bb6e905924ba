/**
 * Rows 14 and 15: one client alone in a fresh process, moving small files
 * one after another from its very first file, as a script that starts,
 * moves a thousand files and exits does. Rows 4 and 6 warm every client
 * up first and measure its second thousand; here V8's compiling of the
 * client's code (and the GC's first collections) fall inside the clock.
 *
 * The process loads the client before the clock starts (as worker.ts's
 * preload; the import's own time is reported beside it as `loadMs`), then
 * connects and logs in, then moves `count` files and counts files
 * [from, count): row 14 all 1,000 from the first, row 15 a long job's
 * 4,001st to 5,000th.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { HandClient } from "./handftp.js";
import { DiscardSink } from "./streams.js";
import type { Endpoint, FreshTask } from "./tasks.js";

const TIMEOUT_MS = 60_000;
/** Python, not compiled: found in the source tree (build/bench/ → bench/). */
const FTPLIB_PEER = fileURLToPath(new URL("../../bench/ftplib-peer.py", import.meta.url));

/** What the counted files took: wall and CPU time (ms), bytes. */
export interface FreshResult {
  ms: number;
  cpuMs: number;
  bytes: number;
}

/** The 4 KiB (the row's size) every upload sends: the same bytes as rows 4-6's. */
function uploadBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

/** Remote name of item `i`: the server's small files in turn (downloads), or up-NNNN.bin (uploads, a thousand names reused). */
function pathOf(task: FreshTask, i: number): string {
  if (task.work === "stor") return `up-${String(i % 1000).padStart(4, "0")}.bin`;
  return task.paths[i % task.paths.length];
}

/** Loads an ftpstream or basic-ftp contender's client (before the clock); resolves to how long the import took, ms (undefined for the others). */
export async function loadClient(task: FreshTask): Promise<number | undefined> {
  const t = performance.now();
  if (task.contender === "basic-ftp") await import("basic-ftp");
  else if (task.contender.startsWith("ftpstream")) await import(task.lib ?? "../lib/index.js");
  else return undefined;
  return performance.now() - t;
}

/** Runs the task's files one after another in this process and times files [from, count). */
export async function fresh(task: FreshTask): Promise<FreshResult> {
  if (task.contender === "ftplib") return ftplib(task);
  const step = await stepper(task);
  let bytes = 0;
  for (let i = 0; i < task.from; i++) await step.run(i);
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = task.from; i < task.count; i++) bytes += await step.run(i);
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  await step.close();
  return { ms, cpuMs: (used.user + used.system) / 1000, bytes };
}

/** One file at a time for the named contender: resolves to the bytes it moved. */
async function stepper(task: FreshTask): Promise<{ run: (i: number) => Promise<number>; close: () => Promise<unknown> }> {
  const payload = uploadBytes(task.size);
  const ftp: Endpoint = task.ftp;
  if (task.contender === "by hand") {
    const hand = await HandClient.open(ftp);
    const close = (): Promise<void> => hand.quit();
    if (task.work === "stor") return { run: async (i) => (await hand.stor(pathOf(task, i), payload), payload.length), close };
    return { run: (i) => hand.retr(pathOf(task, i), new DiscardSink()), close };
  }
  if (task.contender === "basic-ftp") return basicFtpStepper(task, payload);
  // Another build's module has the same shape; typed as this one's.
  const { FTP } = (await import(task.lib ?? "../lib/index.js")) as typeof import("../lib/index.js");
  const client = new FTP({ timeout: TIMEOUT_MS });
  await client.connect(ftp.host, ftp.port);
  await client.login(ftp.user, ftp.password);
  const close = (): Promise<string> => client.quit();
  if (task.work === "stor")
    return { run: async (i) => (await client.storbinary(`STOR ${pathOf(task, i)}`, payload), payload.length), close };
  if (task.contender.includes("callback"))
    return {
      run: async (i) => {
        let bytes = 0;
        await client.retrbinary(`RETR ${pathOf(task, i)}`, (block: Buffer) => {
          bytes += block.length;
        });
        return bytes;
      },
      close,
    };
  return {
    run: async (i) => {
      const sink = new DiscardSink();
      await client.retrbinary(`RETR ${pathOf(task, i)}`, sink);
      return sink.bytes;
    },
    close,
  };
}

/**
 * basic-ftp, the peer Node client (a reference, no target): downloadTo a
 * sink (left open, as by hand's), uploadFrom a Readable of the bytes (it
 * takes no Buffer).
 */
async function basicFtpStepper(
  task: FreshTask,
  payload: Buffer,
): Promise<{ run: (i: number) => Promise<number>; close: () => Promise<unknown> }> {
  const { Client } = await import("basic-ftp");
  const client = new Client(TIMEOUT_MS);
  await client.access({ host: task.ftp.host, port: task.ftp.port, user: task.ftp.user, password: task.ftp.password });
  const close = (): Promise<void> => {
    client.close();
    return Promise.resolve();
  };
  if (task.work === "stor")
    return { run: async (i) => (await client.uploadFrom(Readable.from([payload]), pathOf(task, i)), payload.length), close };
  return {
    run: async (i) => {
      const sink = new DiscardSink();
      await client.downloadTo(sink, pathOf(task, i));
      return sink.bytes;
    },
    close,
  };
}

/** CPython's ftplib (bench/ftplib-peer.py, a child of this process): the uncounted files in one batch, then the counted ones, timed by the peer. */
async function ftplib(task: FreshTask): Promise<FreshResult> {
  const ftp = task.ftp;
  const child = spawn("python3", [FTPLIB_PEER, ftp.host, String(ftp.port), ftp.user, ftp.password], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error("ftplib peer ended");
    return line.value;
  };
  if ((await next()) !== "READY") throw new Error("ftplib peer did not log in");
  const batch = async (from: number, to: number): Promise<FreshResult> => {
    const names = Array.from({ length: to - from }, (_, k) => pathOf(task, from + k));
    child.stdin.write(`${task.work} ${names.join(" ")}\n`);
    const [ms, cpuMs, bytes] = (await next()).split(" ").map(Number);
    return { ms, cpuMs, bytes };
  };
  if (task.from > 0) await batch(0, task.from);
  const counted = await batch(task.from, task.count);
  child.stdin.end();
  await new Promise((resolve) => child.once("exit", resolve));
  return counted;
}
