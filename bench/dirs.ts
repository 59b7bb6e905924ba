/**
 * Bench row "tree download": downloadDir of 1,000 files (4 KiB each) in 20
 * directories from vsftpd on loopback, by ftpstream's FtpPool of 4 and by
 * basic-ftp's downloadToDir (one connection: basic-ftp has no pool), plus
 * ftpstream's single-client FTP.downloadDir as a reference. Every target
 * is a fresh empty directory, so each client fetches all 1,000 files.
 *
 *   node build/bench/dirs.js [--runs N] [--json]
 *
 * The clients take turns within each run (the order rotates from run to
 * run), so they meet the same machine as closely as it allows; the ratio
 * is taken run by run and its median reported (see bench/README.md).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "basic-ftp";
import { patternBytes } from "../fixtures/pattern.js";
import { FTP, FtpPool } from "../lib/index.js";
import { findServerPids, serverCpuNs } from "./server-cpu.js";
import { median } from "./stats.js";
import type { Endpoint } from "./tasks.js";

const FILES = 1000;
const DIRS = 20;
const FILE_SIZE = 4 * 1024;
const POOL_SIZE = 4;
const TARGET = 2;

export interface DirsReport {
  server: string;
  runs: number;
  /** Median wall time in ms per contender. */
  medianMs: Record<string, number>;
  /** Median CPU time per contender, ms: the client's process (its thread pool included) and the server's, where /proc tells. */
  medianCpuMs: Record<string, { client: number; server: number | null }>;
  /** basic-ftp's time ÷ the pool's in each run (speed ratio), in run order. */
  ratios: number[];
  /** Their median. */
  ratio: number;
  /**
   * The most the machine's cores allow that ratio to be: basic-ftp's time ÷
   * (the pool's client and server CPU time ÷ the cores), the median over
   * runs. Client and server share the cores here (nothing is pinned), and
   * no run is shorter than their CPU time spread over all of them. Null
   * where the server's CPU time is not known.
   */
  ceiling: number | null;
  cores: number;
  target: number;
  holds: boolean;
}

/** vsftpd from the interop harness, its home (on tmpfs when there is one) holding the tree under `tree/`. */
async function startServer(): Promise<{ endpoint: Endpoint; label: string; pid: number | undefined; stop: () => Promise<void> }> {
  if (fs.existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";
  const harness = await import("../spec/interop/servers.js");
  const server = await harness.startServer("vsftpd");
  const bytes = patternBytes(0, FILE_SIZE);
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(server.home, "tree", `d${String(i % DIRS).padStart(2, "0")}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, `f${String(i).padStart(4, "0")}.bin`), bytes, { mode: 0o644 });
  }
  return {
    endpoint: { host: server.host, port: server.port, user: server.user, password: server.password },
    label: `vsftpd ${server.version} on ${server.host} (home on ${process.env.TMPDIR === "/dev/shm" ? "tmpfs" : "disk"})`,
    pid: findServerPids(path.dirname(server.home))[0],
    stop: () => server.stop(),
  };
}

/** Counts the files below `dir`, to check each contender fetched them all. */
function countFiles(dir: string): number {
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) n += entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1;
  return n;
}

type Contender = { name: string; run: (target: string) => Promise<void> };

function contenders(ftp: Endpoint): Contender[] {
  const options = { host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password, timeout: 60_000 };
  return [
    {
      name: `ftpstream FtpPool(${POOL_SIZE}).downloadDir`,
      run: async (target) => {
        const pool = new FtpPool({ size: POOL_SIZE, connect: () => FTP.create(options) });
        try {
          await pool.downloadDir("/tree", target);
        } finally {
          await pool.close();
        }
      },
    },
    {
      name: "basic-ftp downloadToDir",
      run: async (target) => {
        const client = new Client(60_000);
        try {
          await client.access({ host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password });
          await client.downloadToDir(target, "/tree");
        } finally {
          client.close();
        }
      },
    },
    {
      name: "ftpstream FTP.downloadDir (reference)",
      run: async (target) => {
        const client = await FTP.create(options);
        try {
          await client.downloadDir("/tree", target);
        } finally {
          client.close();
        }
      },
    },
  ];
}

/** Runs the row: `runs` rounds, each contender once per round, in rotating order. Connecting is part of each timing. */
export async function runDirsBench(runs: number): Promise<DirsReport> {
  const server = await startServer();
  const scratch = fs.mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), "ftpstream-bench-dirs-"));
  try {
    const all = contenders(server.endpoint);
    const times = new Map<string, number[]>(all.map((c) => [c.name, []]));
    const cpuTimes = new Map<string, Array<{ client: number; server: number | null }>>(all.map((c) => [c.name, []]));
    const serverCpuMs = (): number | null => {
      const ns = server.pid === undefined ? undefined : serverCpuNs(server.pid);
      return ns === undefined ? null : ns / 1e6;
    };
    const cores = os.availableParallelism();
    const ratios: number[] = [];
    const ceilings: number[] = [];
    for (let run = 0; run < runs; run++) {
      const order = all.map((_, i) => all[(i + run) % all.length]);
      const took = new Map<string, number>();
      for (const contender of order) {
        const target = path.join(scratch, `run${run}-${all.indexOf(contender)}`);
        const serverBefore = serverCpuMs();
        const started = performance.now();
        const cpu = process.cpuUsage();
        await contender.run(target);
        const ms = performance.now() - started;
        const used = process.cpuUsage(cpu);
        const serverAfter = serverCpuMs();
        const server = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
        cpuTimes.get(contender.name)!.push({ client: (used.user + used.system) / 1000, server });
        const fetched = countFiles(target);
        if (fetched !== FILES) throw new Error(`${contender.name} fetched ${fetched} files, not ${FILES}`);
        fs.rmSync(target, { recursive: true, force: true });
        took.set(contender.name, ms);
        times.get(contender.name)!.push(ms);
      }
      ratios.push(took.get(all[1].name)! / took.get(all[0].name)!);
      const pool = cpuTimes.get(all[0].name)!.at(-1)!;
      if (pool.server !== null) ceilings.push(took.get(all[1].name)! / ((pool.client + pool.server) / cores));
    }
    const ratio = median(ratios);
    const medianCpu = (samples: Array<{ client: number; server: number | null }>) => ({
      client: Math.round(median(samples.map((x) => x.client))),
      server: samples.every((x) => x.server !== null) ? Math.round(median(samples.map((x) => x.server!))) : null,
    });
    return {
      server: server.label,
      runs,
      medianMs: Object.fromEntries([...times].map(([name, samples]) => [name, Math.round(median(samples))])),
      medianCpuMs: Object.fromEntries([...cpuTimes].map(([name, samples]) => [name, medianCpu(samples)])),
      ratios,
      ratio,
      ceiling: ceilings.length === runs ? median(ceilings) : null,
      cores,
      target: TARGET,
      holds: ratio >= TARGET,
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

/** The row as text lines, in the style of run.ts's table. */
export function formatDirsReport(report: DirsReport): string[] {
  const lines = [
    `tree download: ${FILES} files of ${FILE_SIZE / 1024} KiB in ${DIRS} directories, ${report.server}, ${report.runs} runs (ms, lower is better)`,
  ];
  for (const [name, ms] of Object.entries(report.medianMs)) {
    const cpu = report.medianCpuMs[name];
    const server = cpu.server === null ? "" : `, server ${cpu.server} ms`;
    lines.push(`  ${name.padEnd(40)} ${String(ms).padStart(7)} ms   CPU: client ${cpu.client} ms${server}`);
  }
  const each = report.ratios.map((ratio) => ratio.toFixed(2)).join(", ");
  lines.push(`  basic-ftp ÷ FtpPool(${POOL_SIZE}): ${report.ratio.toFixed(2)}, the median of the runs' ${each}`);
  if (report.ceiling !== null)
    lines.push(
      `  the ${report.cores} cores allow at most ${report.ceiling.toFixed(2)} (basic-ftp's time ÷ the pool's client and server CPU time spread over them)`,
    );
  lines.push(`  target ≥ ${report.target}: ${report.holds ? "holds" : "missed"}`);
  return lines;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("usage: node build/bench/dirs.js [--runs N] [--json]");
  const report = await runDirsBench(runs);
  process.stdout.write(args.includes("--json") ? `${JSON.stringify(report, null, 2)}\n` : `${formatDirsReport(report).join("\n")}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
