/**
 * The FTP server every row talks to: vsftpd on loopback through the interop
 * harness (spec/interop/servers.ts), or — clearly labelled in the output —
 * the fixture server when vsftpd cannot run here.
 *
 * With vsftpd, the home lives on tmpfs (/dev/shm) when there is one, so the
 * rows measure clients and sockets, not the disk: the 1 GiB file is served
 * from memory (sendfile) and uploads land in memory and are deleted after
 * each run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { patternBytes } from "../fixtures/pattern.js";
import { findServerPids } from "./server-cpu.js";
import type { Endpoint } from "./tasks.js";

export interface BenchServer {
  kind: "vsftpd" | "fixture";
  /** What the table prints, e.g. "vsftpd 3.0.3-13+b2 on 127.0.0.1 (home on tmpfs)". */
  label: string;
  /** Why the fallback was used, when it was. */
  fallbackReason?: string;
  endpoint: Endpoint;
  /** Remote path of the big file. */
  bigPath: string;
  /** Remote paths of the small files. */
  smallPaths: string[];
  /** A local file with the big file's content, for `curl -T`. */
  curlSource: string;
  /** Removes an uploaded file (vsftpd would keep 1 GiB per upload). */
  removeUpload(remotePath: string): void;
  /** vsftpd's listening process, whose CPU time (with its sessions') bench/server-cpu.ts reads; none for the fixture, which shares the bench's process. */
  pid?: number;
  /** Pins the server (and the processes it forks per connection) to `core` with taskset; false if it could not. */
  pin(core: number): boolean;
  stop(): Promise<void>;
}

export interface ServerPlan {
  bigSize: number;
  smallCount: number;
  smallSize: number;
  /** Force the fixture server (for trying the bench where vsftpd is). */
  forceFixture?: boolean;
}

const BIG = "big.bin";
const smallName = (i: number): string => `small/f${String(i).padStart(4, "0")}.bin`;

/** Writes `size` bytes of a pattern to `file`, 1 MiB per write: a second or less on tmpfs. */
function writePatternFile(file: string, size: number): void {
  const block = patternBytes(0, Math.min(size, 1024 * 1024) || 1);
  const fd = fs.openSync(file, "w", 0o644);
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(block.length, size - done);
      done += fs.writeSync(fd, block, 0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export async function startBenchServer(plan: ServerPlan): Promise<BenchServer> {
  let reason = "--fixture given";
  if (!plan.forceFixture) {
    try {
      return await startVsftpd(plan);
    } catch (error) {
      reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    }
  }
  return startFixture(plan, reason);
}

async function startVsftpd(plan: ServerPlan): Promise<BenchServer> {
  // The harness makes its temp dirs under os.tmpdir(): point it at tmpfs.
  let onTmpfs = false;
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK);
    if (fs.statfsSync("/dev/shm").bavail * fs.statfsSync("/dev/shm").bsize > 3 * plan.bigSize) {
      process.env.TMPDIR = "/dev/shm";
      onTmpfs = true;
    }
  } catch {
    // no tmpfs: the home stays on disk and the label says so
  }
  const harness = await import("../spec/interop/servers.js");
  const found = harness.findServer("vsftpd");
  if (!found.found) throw new Error(`vsftpd not available: ${found.why}`);
  const server = await harness.startServer("vsftpd");
  try {
    writePatternFile(path.join(server.home, BIG), plan.bigSize);
    fs.mkdirSync(path.join(server.home, "small"), { mode: 0o755 });
    const small = patternBytes(0, plan.smallSize);
    const smallPaths: string[] = [];
    for (let i = 0; i < plan.smallCount; i++) {
      fs.writeFileSync(path.join(server.home, smallName(i)), small, { mode: 0o644 });
      smallPaths.push(smallName(i));
    }
    // Read-only to vsftpd's account (root's, mode 644/755); uploads go to the
    // home itself, which the harness made that account's.
    return {
      kind: "vsftpd",
      label: `vsftpd ${server.version} on ${server.host} (home on ${onTmpfs ? "tmpfs" : "disk"})`,
      endpoint: { host: server.host, port: server.port, user: server.user, password: server.password },
      bigPath: BIG,
      smallPaths,
      curlSource: path.join(server.home, BIG),
      removeUpload: (remotePath) => fs.rmSync(path.join(server.home, remotePath), { force: true }),
      pid: findServerPids(path.dirname(server.home))[0],
      pin: (core) => pinProcesses(path.dirname(server.home), core),
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function startFixture(plan: ServerPlan, reason: string): Promise<BenchServer> {
  const { FixtureServer, patternFile } = await import("../fixtures/server.js");
  const small = patternBytes(0, plan.smallSize);
  const files: Record<string, Buffer | ReturnType<typeof patternFile>> = { [`/${BIG}`]: patternFile(plan.bigSize, 256 * 1024) };
  const smallPaths: string[] = [];
  for (let i = 0; i < plan.smallCount; i++) {
    files[`/${smallName(i)}`] = small;
    smallPaths.push(smallName(i));
  }
  const server = await FixtureServer.start({ files, discardUploads: true, users: { bench: "bench" } });
  const dir = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "ftpstream-bench-"));
  const curlSource = path.join(dir, BIG);
  writePatternFile(curlSource, plan.bigSize);
  return {
    kind: "fixture",
    label: `FALLBACK: fixture server (Node, in the bench process) on ${server.host}`,
    fallbackReason: reason,
    endpoint: { host: server.host, port: server.port, user: "bench", password: "bench" },
    bigPath: BIG,
    smallPaths,
    curlSource,
    removeUpload: (remotePath) => {
      if (server.vfs.exists(`/${remotePath}`)) server.vfs.remove(`/${remotePath}`);
    },
    // The fixture runs in the bench's own process: pin that.
    pin: (core) => spawnSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)]).status === 0,
    stop: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Pins every process whose command line names `root` (vsftpd started with
 * its config under the harness's temp dir) to `core`, threads included;
 * the processes it forks later for each connection inherit that.
 */
function pinProcesses(root: string, core: number): boolean {
  let pinned = false;
  for (const pid of findServerPids(root)) {
    if (spawnSync("taskset", ["-a", "-p", "-c", String(core), String(pid)]).status === 0) pinned = true;
  }
  return pinned;
}
