/**
 * One measurement in its own process: `node build/bench/worker.js '<task json>'`.
 * Prints `RESULT {ms, bytes, peakRss}` and exits 0, or prints the error and
 * exits 1. Peers are imported only by the tasks that use them, so the peak
 * RSS of an ftpstream task counts ftpstream alone.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { pipeline } from "node:stream/promises";
import { fresh, loadClient } from "./fresh.js";
import { handDownload, handUpload } from "./handftp.js";
import { paired } from "./paired.js";
import { DiscardSink, FastSource, SlowSink } from "./streams.js";
import { RESULT_PREFIX, type Endpoint, type Task, type TaskResult } from "./tasks.js";

const TIMEOUT_MS = 60_000;

/** Peak resident set size of this process, in bytes (VmHWM; maxRSS where /proc is missing). */
export function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function ftpstream(ftp: Endpoint, highWaterMark?: number) {
  const { FTP } = await import("../lib/index.js");
  const client = new FTP({ timeout: TIMEOUT_MS, highWaterMark });
  await client.connect(ftp.host, ftp.port);
  await client.login(ftp.user, ftp.password);
  return client;
}

async function basicFtp(ftp: Endpoint) {
  const { Client } = await import("basic-ftp");
  const client = new Client(TIMEOUT_MS);
  await client.access({ host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password });
  return client;
}

/** Row 3's downloads go to a consumer at a set speed; the others to one that keeps up with anything. */
function sinkFor(task: Task): DiscardSink | SlowSink {
  return "bytesPerSecond" in task ? new SlowSink(task.bytesPerSecond) : new DiscardSink();
}

function expect(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: moved ${got} bytes, expected ${want}`);
}

/** Runs `task`; the clock covers connect and login too, as curl's time_total does. */
async function measure(task: Task): Promise<{ ms: number; bytes: number; cpuMs?: number; pairs?: TaskResult["pairs"] }> {
  const t0 = performance.now();
  switch (task.kind) {
    case "ftpstream-download":
    case "rss-download": {
      const client = await ftpstream(task.ftp, task.highWaterMark);
      const sink = sinkFor(task);
      await pipeline(client.retrbinary(`RETR ${task.path}`), sink);
      const ms = performance.now() - t0;
      await client.quit();
      expect(task.kind, sink.bytes, task.size);
      return { ms, bytes: sink.bytes };
    }
    case "basicftp-download":
    case "rss-basicftp-download": {
      const client = await basicFtp(task.ftp);
      const sink = sinkFor(task);
      await client.downloadTo(sink, task.path);
      const ms = performance.now() - t0;
      client.close();
      expect(task.kind, sink.bytes, task.size);
      return { ms, bytes: sink.bytes };
    }
    case "ftpstream-upload":
    case "basicftp-upload": {
      const client = await basicFtp(task.ftp);
      const info = await client.uploadFrom(new FastSource(task.size), task.path);
      const ms = performance.now() - t0;
      client.close();
      if (info.code !== 226) throw new Error(`basic-ftp upload ended with ${info.message}`);
      return { ms, bytes: task.size };
    }
    case "handftp-download": {
      const sink = new DiscardSink();
      await handDownload(task.ftp, task.path, sink);
      const ms = performance.now() - t0;
      expect(task.kind, sink.bytes, task.size);
      return { ms, bytes: sink.bytes };
    }
    case "handftp-upload": {
      await handUpload(task.ftp, task.path, new FastSource(task.size));
      return { ms: performance.now() - t0, bytes: task.size };
    }
    case "raw-download":
    case "rss-raw-download": {
      const sink = sinkFor(task);
      await pipeline(net.connect({ host: task.host, port: task.port }), sink);
      const ms = performance.now() - t0;
      expect(task.kind, sink.bytes, task.size);
      return { ms, bytes: sink.bytes };
    }
    case "raw-upload": {
      // The sink ends its side only after it has read every byte; our
      // socket closes then, the raw counterpart of waiting for the 226.
      const socket = net.connect({ host: task.host, port: task.port });
      socket.resume();
      const closed = new Promise<void>((resolve, reject) => {
        socket.once("close", (hadError) => (hadError ? reject(new Error("raw upload failed")) : resolve()));
      });
      await pipeline(new FastSource(task.size), socket);
      await closed;
      return { ms: performance.now() - t0, bytes: socket.bytesWritten };
    }
    case "rss-node":
      // Node alone, nothing loaded: the floor under every Node client.
      return { ms: performance.now() - t0, bytes: 0 };
    case "rss-upload": {
      const client = await ftpstream(task.ftp, task.highWaterMark);
      const upload = client.storbinary(`STOR ${task.path}`);
      await pipeline(new FastSource(task.size), upload);
      const ms = performance.now() - t0;
      await client.quit();
      expect(task.kind, upload.bytes, task.size);
      return { ms, bytes: upload.bytes };
    }
    case "paired":
      return { ms: performance.now() - t0, bytes: 0, pairs: await paired(task) };
    case "fresh": {
      // Its own clock and CPU time: the counted files alone, not connect and login nor the files before them.
      const counted = await fresh(task);
      expect(task.contender, counted.bytes, task.size * (task.count - task.from));
      return counted;
    }
    case "rss-baseline": {
      // What Node and the library cost before a single byte moves.
      await import("../lib/index.js");
      return { ms: performance.now() - t0, bytes: 0 };
    }
  }
}

/** Loads the client a task uses before the clock starts (curl's time_total does not count its start-up either). */
async function preload(task: Task): Promise<void> {
  if (task.kind.startsWith("basicftp-") || task.kind === "rss-basicftp-download" || task.kind === "paired") await import("basic-ftp");
  if (task.kind.startsWith("ftpstream-") || task.kind === "rss-download" || task.kind === "rss-upload" || task.kind === "paired") {
    await import("../lib/index.js");
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? "null") as Task | null;
  if (!task) throw new Error("usage: worker.js '<task json>'");
  const loadMs = task.kind === "fresh" ? await loadClient(task) : undefined;
  await preload(task);
  const before = process.cpuUsage();
  const { ms, bytes, pairs, cpuMs } = await measure(task);
  const cpu = process.cpuUsage(before);
  const result: TaskResult = { ms, bytes, peakRss: peakRss(), cpuMs: cpuMs ?? (cpu.user + cpu.system) / 1000, pairs, loadMs };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
