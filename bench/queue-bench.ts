/**
 * Bench row 13 (issue 25): a mirror spread over worker processes on a job
 * queue (BullMQ on Redis) against one process mirroring with `--parallel`
 * of the same total connections, both through the WAN rows' delaying
 * proxy (bench/delay-proxy.ts, in its own process, 10 ms each way by
 * default). Everything is the built CLI (`node dist/ftpstream.mjs`, the bin), run as a
 * user would:
 *
 * - queue, N workers: N `ftpstream worker redis://…/name --concurrency c`
 *   processes are started and wait on the queue (a cluster that is up);
 *   the clock starts when `ftpstream mirror <url> <dir> --queue
 *   redis://…/name` is spawned and stops when the queue has settled every
 *   job (the workers' summary hash in Redis holds one entry per file; it
 *   is written inside each job, after its file was renamed into place).
 * - parallel, N×c connections: `ftpstream mirror <url> <dir> --parallel
 *   N×c`, from spawn to exit.
 *
 * Each sample starts from an empty target and a queue name of its own.
 * The contenders take turns within each run (the order rotates from run
 * to run); figures are medians, the ratio queue ÷ parallel is taken run by
 * run. Nothing is pinned: the workers, Redis, the proxy and vsftpd share
 * the machine's cores, and the CPU each spent per file is reported.
 *
 *   node build/bench/queue-bench.js [--runs N] [--json] [--quick] [--delay ms] [--concurrency c]
 *
 * Needs `npm run build` (dist/) and `npm run build:test` (build/), root,
 * vsftpd from spec/interop/install-servers.sh and redis-server.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { findServerPids, serverCpuNs } from "./server-cpu.js";
import { median, table } from "./stats.js";
import { startDelayProxy } from "./peer-process.js";

/** The built CLI, as a user runs it (the package's bin, one bundled file; npm run build). */
const CLI = fileURLToPath(new URL("../../dist/ftpstream.mjs", import.meta.url));
const WORKER_COUNTS = [1, 2, 4] as const;
/** No sample may hang the run: 400 files on one connection take about half a minute. */
const SAMPLE_TIMEOUT_MS = 300_000;

export interface QueueBenchOptions {
  /** Rounds; every contender takes one sample per round. */
  runs: number;
  /** 40 files in 4 directories instead of 400 in 8. */
  quick?: boolean;
  /** The proxy's delay each way, ms. Default 10. */
  delayMs?: number;
  /** Jobs at once (and connections) per worker process. Default 1. */
  concurrency?: number;
}

/** CPU time per file, µs, median over runs; null where /proc could not tell. */
export interface CpuPerFile {
  /** The ftpstream processes: the workers and the enqueuing mirror, or the one mirror. */
  client: number;
  /** Of `client`, the enqueuing `mirror --queue` (its node start, bullmq's loading, the walk): null for --parallel. */
  enqueue: number | null;
  redis: number | null;
  server: number | null;
  proxy: number | null;
}

export interface QueueContenderReport {
  name: string;
  kind: "queue" | "parallel";
  /** ftpstream processes moving files (workers, or the one mirror). */
  processes: number;
  connections: number;
  /** Files per second, median, and its spread over the runs. */
  filesPerSecond: number;
  min: number;
  max: number;
  medianMs: number;
  /** Queue: from spawn until `mirror --queue` exited (walked, compared and enqueued), median ms. */
  medianEnqueueMs: number | null;
  cpuPerFileUs: CpuPerFile;
  /**
   * The most files per second the cores allow: files ÷ (all the CPU
   * time the sample took, every process counted, ÷ cores), median over
   * runs. Null where some process's CPU time is not known.
   */
  ceiling: number | null;
  /** How long each connection spent per file (wall time × connections ÷ files), ms. */
  connectionMsPerFile: number;
  /**
   * Queue: the same once the jobs are there, (wall − enqueued) × connections
   * ÷ files, median over runs: what the workers take per file, the walk
   * and enqueueing left out. Null for --parallel, whose transfers start
   * while it still walks the tree.
   */
  drainMsPerFile: number | null;
}

export interface QueueReport {
  date: string;
  server: string;
  redis: string;
  files: number;
  bytes: number;
  dirs: number;
  delayMs: number;
  concurrency: number;
  runs: number;
  cores: number;
  contenders: QueueContenderReport[];
  /** Per total of connections: the queue's files/s ÷ --parallel's, run by run, and their median. */
  ratios: Array<{ connections: number; workers: number; samples: number[]; median: number }>;
}

interface Tree {
  /** The tree's root on the server's disk. */
  root: string;
  /** Relative paths ("d0/f000.bin"). */
  files: string[];
  bytes: number;
  dirs: number;
}

/** `count` files of 4-16 KiB (random bytes, sizes spread evenly) in `dirs` directories below `root`. */
function writeTree(root: string, count: number, dirs: number): Tree {
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const rel = `d${i % dirs}/f${String(i).padStart(3, "0")}.bin`;
    const size = 4096 + ((i * 7919) % (12 * 1024 + 1));
    fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(root, rel), randomBytes(size), { mode: 0o644 });
    files.push(rel);
    bytes += size;
  }
  return { root, files, bytes, dirs };
}

/** Every file below `target` is the tree's, byte for byte, and nothing else is there (no part file). */
function verify(tree: Tree, target: string, what: string): void {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(target, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else found.push(rel);
    }
  };
  walk("");
  const expected = new Set(tree.files);
  const extra = found.filter((rel) => !expected.has(rel));
  if (extra.length > 0 || found.length !== tree.files.length)
    throw new Error(`${what}: ${found.length} files in the target, ${tree.files.length} expected (extra: ${extra.slice(0, 5).join(", ")})`);
  for (const rel of tree.files) {
    if (!fs.readFileSync(path.join(target, rel)).equals(fs.readFileSync(path.join(tree.root, rel))))
      throw new Error(`${what}: ${rel} differs from the server's`);
  }
}

/** A child process and its exit code (null: killed by a signal). */
interface Child {
  child: ChildProcess;
  exit: Promise<number | null>;
}

/** The CLI with `args`, its stderr appended to `log` (read it when a sample fails). */
function startCli(args: string[], log: string): Child {
  const fd = fs.openSync(log, "a");
  try {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", fd] });
    const exit = new Promise<number | null>((resolve, reject) => {
      child.once("exit", (code) => resolve(code));
      child.once("error", reject);
    });
    return { child, exit };
  } finally {
    fs.closeSync(fd);
  }
}

/** CPU time, ms, of this process's children that have ended and been reaped (cutime + cstime, in ticks of 10 ms). */
function reapedChildrenMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** CPU time of `pid` and its descendants, ms (schedstat), or null. */
function cpuMs(pid: number | undefined): number | null {
  const ns = pid === undefined ? undefined : serverCpuNs(pid);
  return ns === undefined ? null : ns / 1e6;
}

/** The pid of the redis-server listening on `port` (its command line reads `redis-server 127.0.0.1:<port>`). */
function findRedisPid(port: number): number | undefined {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "latin1");
      if (cmdline.startsWith("redis-server") && cmdline.includes(`:${port}`)) return Number(entry);
    } catch {
      // gone already
    }
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `test()` holds, checking every `everyMs`; `failed()` (a child died) or the sample's deadline ends the wait with an error. */
async function until(test: () => Promise<boolean>, failed: () => string | undefined, everyMs: number, deadline: number): Promise<void> {
  for (;;) {
    if (await test()) return;
    const why = failed();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error("the sample timed out");
    await sleep(everyMs);
  }
}

interface Sample {
  ms: number;
  enqueueMs: number | null;
  /** CPU ms over the sample. */
  client: number;
  enqueue: number | null;
  redis: number | null;
  server: number | null;
  proxy: number | null;
}

interface Setting {
  tree: Tree;
  /** ftp://user:password@127.0.0.1:<proxy port>/tree */
  url: string;
  redisPort: number;
  redisPid: number | undefined;
  serverPid: number | undefined;
  proxyPid: number;
  scratch: string;
}

/** CPU ms so far of the processes on the server's side: Redis, vsftpd (its sessions included), the proxy. */
function serverSideCpu(setting: Setting): { redis: number | null; server: number | null; proxy: number | null } {
  return { redis: cpuMs(setting.redisPid), server: cpuMs(setting.serverPid), proxy: cpuMs(setting.proxyPid) };
}

function cpuSince(
  before: { redis: number | null; server: number | null; proxy: number | null },
  after: { redis: number | null; server: number | null; proxy: number | null },
): { redis: number | null; server: number | null; proxy: number | null } {
  const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);
  return { redis: minus(after.redis, before.redis), server: minus(after.server, before.server), proxy: minus(after.proxy, before.proxy) };
}

/** The Redis commands used here on the queue's own connection. */
interface RedisCommands {
  hlen(key: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
}

/** N workers waiting on a fresh queue, then `mirror --queue`; timed until every job has settled. */
async function queueSample(setting: Setting, workers: number, concurrency: number, id: string): Promise<Sample> {
  const { tree } = setting;
  const name = `bench-${id}`;
  const queueUrl = `redis://127.0.0.1:${setting.redisPort}/${name}`;
  const target = path.join(setting.scratch, `target-${id}`);
  const log = path.join(setting.scratch, `${id}.log`);
  const deadline = Date.now() + SAMPLE_TIMEOUT_MS;
  const { Queue } = await import("bullmq");
  const queue = new Queue(name, { connection: { host: "127.0.0.1", port: setting.redisPort, maxRetriesPerRequest: null } });
  // The bounds every worker must be given: the bench's server (without its login) and the target.
  const served = new URL(setting.url);
  const bounds = ["--server", `${served.protocol}//${served.host}`, "--local-root", target];
  const running = Array.from({ length: workers }, () =>
    startCli(["worker", queueUrl, "--concurrency", String(concurrency), ...bounds], log),
  );
  const exited = new Map<Child, number | null>();
  for (const worker of running) void worker.exit.then((code) => exited.set(worker, code));
  const workerDied = (): string | undefined =>
    exited.size > 0
      ? `a worker exited with ${[...exited.values()].join(", ")}; see ${log}:\n${fs.readFileSync(log, "utf8").slice(-2000)}`
      : undefined;
  try {
    // ioredis under bullmq 5, whose own type names few commands (lib/queue-cli.ts casts the same way).
    const redis = (await queue.client) as unknown as RedisCommands;
    // Ready: each worker's blocking connection (named after the queue) waits in BZPOPMIN for a job.
    await until(
      async () => (await queue.getWorkers()).filter((client) => client.cmd === "bzpopmin").length === workers,
      workerDied,
      20,
      deadline,
    );
    const summary = `bull:${name}:ftpstream-summary`;
    const serverSide = serverSideCpu(setting);
    const workerCpu = running.map((worker) => cpuMs(worker.child.pid));
    const reaped = reapedChildrenMs();
    const started = performance.now();
    const mirror = startCli(["mirror", setting.url, target, "--queue", queueUrl], log);
    let enqueueMs: number | null = null;
    let mirrorCode: number | null | undefined;
    const mirrorDone = mirror.exit.then((code) => {
      enqueueMs = performance.now() - started;
      mirrorCode = code;
    });
    await until(
      async () => (await redis.hlen(summary)) >= tree.files.length,
      () =>
        workerDied() ?? (mirrorCode !== undefined && mirrorCode !== 0 ? `mirror --queue exited with ${mirrorCode}; see ${log}` : undefined),
      5,
      deadline,
    );
    const ms = performance.now() - started;
    const workerCpuAfter = running.map((worker) => cpuMs(worker.child.pid));
    const side = cpuSince(serverSide, serverSideCpu(setting));
    await mirrorDone;
    if (mirrorCode !== 0) throw new Error(`mirror --queue exited with ${mirrorCode}; see ${log}`);
    const mirrorCpu = reapedChildrenMs() - reaped;
    const outcomes = Object.values(await redis.hgetall(summary));
    const transferred = outcomes.filter((value) => value.startsWith("transferred ")).length;
    if (transferred !== tree.files.length) throw new Error(`queue: ${transferred} of ${tree.files.length} jobs transferred; see ${log}`);
    const client = workerCpuAfter.reduce((sum: number, after, i) => sum + (after ?? Number.NaN) - (workerCpu[i] ?? Number.NaN), mirrorCpu);
    for (const worker of running) worker.child.kill("SIGTERM");
    const codes = await Promise.all(running.map((worker) => worker.exit));
    if (codes.some((code) => code !== 0)) throw new Error(`a worker exited with ${codes.join(", ")} on SIGTERM; see ${log}`);
    verify(tree, target, `queue, ${workers} workers`);
    return { ms, enqueueMs, client, enqueue: mirrorCpu, ...side };
  } finally {
    for (const worker of running) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
    await Promise.all(running.map((worker) => worker.exit.catch(() => null)));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    fs.rmSync(target, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
}

/** One process: `mirror --parallel connections`, spawn to exit. */
async function parallelSample(setting: Setting, connections: number, id: string): Promise<Sample> {
  const target = path.join(setting.scratch, `target-${id}`);
  const log = path.join(setting.scratch, `${id}.log`);
  try {
    const serverSide = serverSideCpu(setting);
    const reaped = reapedChildrenMs();
    const started = performance.now();
    const mirror = startCli(["mirror", setting.url, target, "--parallel", String(connections)], log);
    const timer = setTimeout(() => mirror.child.kill("SIGKILL"), SAMPLE_TIMEOUT_MS);
    const code = await mirror.exit.finally(() => clearTimeout(timer));
    const ms = performance.now() - started;
    const side = cpuSince(serverSide, serverSideCpu(setting));
    if (code !== 0) throw new Error(`mirror --parallel ${connections} exited with ${code}:\n${fs.readFileSync(log, "utf8").slice(-2000)}`);
    verify(setting.tree, target, `--parallel ${connections}`);
    return { ms, enqueueMs: null, client: reapedChildrenMs() - reaped, enqueue: null, ...side };
  } finally {
    fs.rmSync(target, { recursive: true, force: true });
    fs.rmSync(log, { force: true });
  }
}

interface Contender {
  name: string;
  kind: "queue" | "parallel";
  processes: number;
  connections: number;
  sample: (id: string) => Promise<Sample>;
}

/** Runs the row: vsftpd, Redis and the proxy started once, then `runs` rounds of every contender in rotating order. */
export async function runQueueBench(options: QueueBenchOptions): Promise<QueueReport> {
  const delayMs = options.delayMs ?? 10;
  const concurrency = options.concurrency ?? 1;
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  if (fs.existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";
  const harness = await import("../spec/interop/servers.js");
  const { startRedis } = await import("../spec/distributed/redis-server.js");
  const server = await harness.startServer("vsftpd");
  const stops: Array<() => Promise<void> | void> = [() => server.stop()];
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const proxy = await startDelayProxy(server.host, server.port, delayMs);
    stops.push(() => proxy.stop());
    const tree = writeTree(path.join(server.home, "tree"), options.quick ? 40 : 400, options.quick ? 4 : 8);
    const scratch = fs.mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), "ftpstream-bench-queue-"));
    stops.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
    const setting: Setting = {
      tree,
      url: `ftp://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}/tree`,
      redisPort: redis.port,
      redisPid: findRedisPid(redis.port),
      serverPid: findServerPids(path.dirname(server.home))[0],
      proxyPid: proxy.pid,
      scratch,
    };
    const all: Contender[] = WORKER_COUNTS.flatMap((workers): Contender[] => [
      {
        name: `queue, ${workers} worker${workers > 1 ? "s" : ""} × ${concurrency}`,
        kind: "queue",
        processes: workers,
        connections: workers * concurrency,
        sample: (id) => queueSample(setting, workers, concurrency, id),
      },
      {
        name: `mirror --parallel ${workers * concurrency}`,
        kind: "parallel",
        processes: 1,
        connections: workers * concurrency,
        sample: (id) => parallelSample(setting, workers * concurrency, id),
      },
    ]);
    const samples = new Map<Contender, Sample[]>(all.map((c) => [c, []]));
    for (let run = 0; run < options.runs; run++) {
      const order = all.map((_, i) => all[(i + run) % all.length]);
      const line: string[] = [];
      for (const contender of order) {
        const sample = await contender.sample(`${run}-${all.indexOf(contender)}`);
        samples.get(contender)!.push(sample);
        line.push(`${contender.name} ${((tree.files.length * 1000) / sample.ms).toFixed(1)}`);
      }
      process.stderr.write(`  row 13 run ${run + 1}/${options.runs}: ${line.join(", ")} files/s\n`);
    }
    const files = tree.files.length;
    const cores = os.availableParallelism();
    const perFile = (values: Array<number | null>): number | null =>
      values.every((v) => v !== null && Number.isFinite(v)) ? Math.round((median(values as number[]) * 1000) / files) : null;
    const contenders = all.map((c): QueueContenderReport => {
      const list = samples.get(c)!;
      const rates = list.map((s) => (files * 1000) / s.ms);
      const totals = list.map((s) =>
        s.redis === null || s.server === null || s.proxy === null ? null : s.client + s.redis + s.server + s.proxy,
      );
      return {
        name: c.name,
        kind: c.kind,
        processes: c.processes,
        connections: c.connections,
        filesPerSecond: median(rates),
        min: Math.min(...rates),
        max: Math.max(...rates),
        medianMs: Math.round(median(list.map((s) => s.ms))),
        medianEnqueueMs: c.kind === "queue" ? Math.round(median(list.map((s) => s.enqueueMs ?? Number.NaN))) : null,
        cpuPerFileUs: {
          client: perFile(list.map((s) => s.client)) ?? Number.NaN,
          enqueue: c.kind === "queue" ? perFile(list.map((s) => s.enqueue)) : null,
          redis: perFile(list.map((s) => s.redis)),
          server: perFile(list.map((s) => s.server)),
          proxy: perFile(list.map((s) => s.proxy)),
        },
        ceiling: totals.every((t) => t !== null) ? median(totals.map((t) => (files * 1000) / (t / cores))) : null,
        connectionMsPerFile: (median(list.map((s) => s.ms)) * c.connections) / files,
        drainMsPerFile: c.kind === "queue" ? (median(list.map((s) => s.ms - (s.enqueueMs ?? Number.NaN))) * c.connections) / files : null,
      };
    });
    const ratios = WORKER_COUNTS.map((workers) => {
      const queue = samples.get(all.find((c) => c.kind === "queue" && c.processes === workers)!)!;
      const parallel = samples.get(all.find((c) => c.kind === "parallel" && c.connections === workers * concurrency)!)!;
      const perRun = queue.map((s, run) => parallel[run].ms / s.ms);
      return { connections: workers * concurrency, workers, samples: perRun, median: median(perRun) };
    });
    const version = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.match(/v=(\S+)/)?.[1] ?? "?";
    return {
      date: new Date().toISOString(),
      server: `vsftpd ${server.version} on ${server.host} (home on ${process.env.TMPDIR === "/dev/shm" ? "tmpfs" : "disk"})`,
      redis: `redis-server ${version} on 127.0.0.1`,
      files,
      bytes: tree.bytes,
      dirs: tree.dirs,
      delayMs,
      concurrency,
      runs: options.runs,
      cores,
      contenders,
      ratios,
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

/** The row as text lines, in the style of run.ts's table and dirs.ts's report. */
export function formatQueueReport(report: QueueReport): string[] {
  const lines = [
    `13. mirror over a job queue: ${report.files} files of 4-16 KiB (${(report.bytes / 1024 / 1024).toFixed(1)} MiB) in ${report.dirs} directories through a ${report.delayMs} ms delay each way (WAN), ${report.runs} runs (files/s, higher is better)`,
    `    ${report.server}; ${report.redis}; ${report.cores} cores, nothing pinned`,
  ];
  const us = (n: number | null): string => (n === null ? "?" : String(n));
  const cells: string[][] = [
    [
      "",
      "contender",
      "files/s",
      "min..max",
      "wall",
      "enqueued",
      "per file and connection",
      "after enqueued",
      "CPU per file: client (enqueue)",
      "redis",
      "vsftpd",
      "proxy",
      "cores allow",
    ],
  ];
  for (const c of report.contenders) {
    const cpu = c.cpuPerFileUs;
    cells.push([
      "",
      c.name,
      c.filesPerSecond.toFixed(1),
      `${c.min.toFixed(1)}..${c.max.toFixed(1)}`,
      `${c.medianMs} ms`,
      c.medianEnqueueMs === null ? "" : `${c.medianEnqueueMs} ms`,
      `${c.connectionMsPerFile.toFixed(1)} ms, ${(c.connectionMsPerFile / (2 * report.delayMs)).toFixed(1)} round trips`,
      c.drainMsPerFile === null ? "" : `${c.drainMsPerFile.toFixed(1)} ms`,
      `${us(cpu.client)} µs${cpu.enqueue === null ? "" : ` (${us(cpu.enqueue)})`}`,
      `${us(cpu.redis)} µs`,
      `${us(cpu.server)} µs`,
      `${us(cpu.proxy)} µs`,
      c.ceiling === null ? "" : `${c.ceiling.toFixed(0)} files/s`,
    ]);
  }
  lines.push(...table(cells, [0, 1]).split("\n"));
  for (const r of report.ratios) {
    const each = r.samples.map((x) => x.toFixed(2)).join(", ");
    lines.push(
      `  queue ÷ --parallel, ${r.connections} connection${r.connections > 1 ? "s" : ""} (${r.workers} worker${r.workers > 1 ? "s" : ""}): ${r.median.toFixed(2)}, the median of the runs' ${each}`,
    );
  }
  lines.push(
    "  wall: spawn to the last job settled (queue) or to exit (--parallel); enqueued: until mirror --queue exited; per file and connection: wall × connections ÷ files, in round trips of the proxy;",
    "  after enqueued: the same from the moment mirror --queue exited (the workers' own pace, the walk left out);",
    "  CPU: per file, every process counted (client: the workers and the enqueuing mirror, or the one mirror); cores allow: files ÷ (all that CPU ÷ cores)",
  );
  return lines;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const usage = "usage: node build/bench/queue-bench.js [--runs N] [--json] [--quick] [--delay ms] [--concurrency c]";
  const number = (flag: string, fallback: number): number => {
    const at = args.indexOf(flag);
    if (at < 0) return fallback;
    const n = Number(args[at + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(usage);
    return n;
  };
  const known = new Set(["--runs", "--json", "--quick", "--delay", "--concurrency"]);
  args.forEach((arg, i) => {
    if (!known.has(arg) && !["--runs", "--delay", "--concurrency"].includes(args[i - 1])) throw new Error(usage);
  });
  const runs = number("--runs", 3);
  const concurrency = number("--concurrency", 1);
  if (!Number.isInteger(runs) || !Number.isInteger(concurrency)) throw new Error(usage);
  const report = await runQueueBench({ runs, quick: args.includes("--quick"), delayMs: number("--delay", 10), concurrency });
  process.stdout.write(args.includes("--json") ? `${JSON.stringify(report, null, 2)}\n` : `${formatQueueReport(report).join("\n")}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
