/**
 * Bench row 12, tree mirrors over a WAN link (issue 23): a tree of 300
 * files of 4–20 KiB in 24 directories on vsftpd, reached through
 * bench/delay-proxy.ts (10 ms each way, data connections too), mirrored by
 * ftpstream's CLI, lftp, rclone and basic-ftp, each sample a process of
 * its own:
 *
 *   node build/bench/wan-tree.js [--runs N] [--json] [--delay ms] [--quick] [--cli path/to/ftpstream.mjs] [--baseline dir]
 *
 * Five tasks, in this order in every run: the first download with 4
 * connections into an empty directory, the same again onto each tool's own
 * unchanged result, an upload with 4 connections into a new remote
 * directory, and the first download and the unchanged rerun on one
 * connection. Within a task the contenders take turns, the order rotating
 * from run to run; ratios are taken run by run and their median reported.
 *
 * Every sample is checked, outside its clock: the target against the source
 * byte by byte (nothing missing, nothing extra), the times it kept, and what
 * vsftpd's own log says the sample did (logins, files sent or received), so
 * a tool that skips files, or "skips" an unchanged file by fetching it again,
 * shows. Beside each task stands its floor on this link: the round trips it
 * needs ÷ the connections × the round trip (see bench/README.md, "Tree
 * mirrors over a WAN link").
 *
 * lftp and rclone are Debian's (bench/setup.sh installs them); where one is
 * missing its contenders are left out and the report says so.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { patternBytes, PATTERN_PERIOD } from "../fixtures/pattern.js";
import { median, table } from "./stats.js";
import { startDelayProxy } from "./peer-process.js";

const FILES = 300;
const DIRS = 24;
/** --quick: a smaller tree, and the contenders that are for reference only left out. */
const QUICK_FILES = 40;
const QUICK_DIRS = 12;
const MIN_SIZE = 4 * 1024;
const MAX_SIZE = 20 * 1024;
const DEFAULT_DELAY_MS = 10;
const DEFAULT_RUNS = 3;
const CONNECTIONS = 4;
/** ftpstream's time ÷ the better peer's must be at most this (issue 23). */
const TARGET_RATIO = 0.8;
/** No sample may hang the row: lftp's one-connection download of the tree takes about 25 s. */
const SAMPLE_TIMEOUT_MS = 240_000;
/** vsftpd writes a transfer's log line just after its 226; read the log this long after the client exits. */
const LOG_SETTLE_MS = 200;

const BASIC_FTP_DIR = fileURLToPath(new URL("./basic-ftp-dir.js", import.meta.url));
/** This checkout's CLI as the package installs it (its `bin`, one bundled file), built by `npm run build`. */
const DEFAULT_CLI = fileURLToPath(new URL("../../dist/ftpstream.mjs", import.meta.url));

/** The CLI a checkout built: its bundled bin, or dist/esm/cli.js in builds from before it had one. */
export function builtCli(checkout: string): string {
  const bundled = path.join(checkout, "dist/ftpstream.mjs");
  return fs.existsSync(bundled) ? bundled : path.join(checkout, "dist/esm/cli.js");
}

export interface WanTreeOptions {
  /** Rounds of every task (default 3). */
  runs?: number;
  /** The proxy's delay each way, ms (default 10: a 20 ms round trip). */
  delayMs?: number;
  /** 40 files in 12 directories instead of 300 in 24, one run by default, and the contenders that are for reference only left out. */
  quick?: boolean;
  /** The ftpstream CLI to run (default this checkout's dist/ftpstream.mjs): another build's, to measure a commit apart from the working tree. */
  cli?: string;
  /** Another build's CLI: it takes its turn beside `cli` in every task, with the ratio to it printed (two commits compared). */
  baselineCli?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

type TaskId = "download-4" | "rerun-4" | "upload-4" | "download-1" | "rerun-1";
type Tool = "lftp" | "rclone" | "ftpstream" | "basic-ftp";

/** What vsftpd's log says one sample did. */
export interface ServerCounts {
  logins: number;
  downloads: number;
  uploads: number;
  /** FAIL lines (a refused or broken transfer, a failed login). */
  failures: number;
}

export interface WanTreeSample {
  run: number;
  /** Wall time of the process, start to exit (null: the sample failed, see `error`). */
  ms: number | null;
  /** The process's CPU time (user + system), where /usr/bin/time tells. */
  cpuMs: number | null;
  server: ServerCounts;
  /** Files of the result whose time matches the source's to the second. */
  timesKept: number;
  error?: string;
}

export interface WanTreeContender {
  name: string;
  tool: Tool;
  /** The command as run (password masked). */
  command: string;
  samples: WanTreeSample[];
  /** Median of the samples that passed, ms (null: none passed). */
  medianMs: number | null;
  /** Median ÷ the task's floor. */
  timesFloor: number | null;
}

export interface WanTreeRatio {
  /** ftpstream's time ÷ the better (lower) time of `peers`, run by run (null where a sample failed). */
  samples: Array<number | null>;
  median: number | null;
  peers: string[];
  /** Null: for reference. */
  max: number | null;
  holds: boolean | null;
}

export interface WanTreeTask {
  id: TaskId;
  title: string;
  connections: number;
  /** The least time this link allows, s: roundTrips × the round trip. */
  floorSeconds: number;
  /** Round trips one after another at the least (per connection, on the busiest): see floorOf. */
  roundTrips: number;
  /** How roundTrips is counted. */
  floorHow: string;
  contenders: WanTreeContender[];
  ratios: WanTreeRatio[];
}

export interface WanTreeReport {
  date: string;
  /** The checkout's commit and whether lib/ had changes not committed (the CLI is built from the working tree). */
  commit: string;
  cli: string;
  /** The baseline build's CLI and its commit, when there is one. */
  baseline: { cli: string; commit: string } | null;
  server: string;
  delayMs: number;
  files: number;
  dirs: number;
  bytes: number;
  runs: number;
  quick: boolean;
  /** Tool versions; null where not installed. */
  tools: Record<"lftp" | "rclone" | "basic-ftp" | "node", string | null>;
  /** Contenders left out, and why. */
  skipped: string[];
  tasks: WanTreeTask[];
  durationSeconds: number;
  /** The machine's 1-minute load average at the start and at the end (the row shares the machine; the turns are for that). */
  load: [number, number];
  cores: number;
}

// ---------------------------------------------------------------------------
// The tree

interface TreeFile {
  rel: string;
  size: number;
  /** Seconds since the epoch; never on a whole minute, so vsftpd's LIST (minutes) cannot tell it. */
  mtime: number;
}

/**
 * The tree: `files` files spread over `dirs` directories, a third at the top,
 * a sixth two levels down and the rest one level down (of 24: 8, 12 and 4);
 * sizes from 4 to 20 KiB by a fixed sequence, times 97 s apart going back
 * from the last full hour.
 */
function treeLayout(files: number, dirs: number, now: number): TreeFile[] {
  const hour = Math.floor(now / 3600) * 3600;
  const top = Math.ceil(dirs / 3);
  const deep = Math.floor(dirs / 6);
  const dirOf = (k: number): string => {
    if (k < top) return `d${k}`;
    if (k < dirs - deep) return `d${k % top}/s${k}`;
    // s{k - top} is a directory one level down, under d{k % top} as well.
    return `d${k % top}/s${k - top}/t${k}`;
  };
  const layout: TreeFile[] = [];
  for (let i = 0; i < files; i++) {
    layout.push({
      rel: `${dirOf(i % dirs)}/f${String(i).padStart(3, "0")}.bin`,
      size: MIN_SIZE + ((i * 2654435761) % (MAX_SIZE - MIN_SIZE + 1)),
      mtime: hour - i * 97 - 13,
    });
  }
  return layout;
}

/** Writes the tree under `root` (contents from the fixtures' pattern, each file at its own offset). */
function writeTree(root: string, layout: TreeFile[], owner?: { uid: number; gid: number }): void {
  for (const [i, file] of layout.entries()) {
    const target = path.join(root, file.rel);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, patternBytes((i * 7919) % PATTERN_PERIOD, file.size), { mode: 0o644 });
    fs.utimesSync(target, file.mtime, file.mtime);
  }
  if (owner) for (const entry of walk(root)) fs.chownSync(path.join(root, entry), owner.uid, owner.gid);
}

/** Paths below `root`, relative, directories with a trailing slash. */
function walk(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...walk(root, rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Compares a mirrored tree with the source: null when it holds exactly the
 * source's files with the source's bytes, else what differs (the first few).
 * Counts the files whose time matches the source's to the second.
 */
function compareTree(source: string, layout: TreeFile[], result: string): { problem: string | null; timesKept: number } {
  if (!fs.existsSync(result)) return { problem: "no result directory", timesKept: 0 };
  const expected = new Set(layout.map((f) => f.rel));
  const found = walk(result).filter((rel) => !rel.endsWith("/"));
  const problems: string[] = [];
  const extra = found.filter((rel) => !expected.has(rel));
  if (extra.length) problems.push(`${extra.length} extra (${extra.slice(0, 3).join(", ")})`);
  const have = new Set(found);
  const missing = layout.filter((f) => !have.has(f.rel));
  if (missing.length)
    problems.push(
      `${missing.length} missing (${missing
        .slice(0, 3)
        .map((f) => f.rel)
        .join(", ")})`,
    );
  let differ = 0;
  let timesKept = 0;
  for (const file of layout) {
    if (!have.has(file.rel)) continue;
    const target = path.join(result, file.rel);
    if (!fs.readFileSync(target).equals(fs.readFileSync(path.join(source, file.rel)))) differ++;
    if (Math.floor(fs.statSync(target).mtimeMs / 1000) === file.mtime) timesKept++;
  }
  if (differ) problems.push(`${differ} with other bytes`);
  return { problem: problems.length ? problems.join("; ") : null, timesKept };
}

// ---------------------------------------------------------------------------
// The server, the proxy, and watching them

interface Setup {
  host: string;
  /** The proxy's port: every contender connects here. */
  port: number;
  user: string;
  password: string;
  /** The server's FTP root on disk. */
  home: string;
  log: string;
  label: string;
  stop: () => Promise<void>;
}

/** vsftpd from the interop harness, its home on tmpfs where there is one, the tree at /tree, and the delay proxy in front. */
async function startSetup(layout: TreeFile[], delayMs: number): Promise<Setup> {
  if (fs.existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";
  const harness = await import("../spec/interop/servers.js");
  const server = await harness.startServer("vsftpd");
  try {
    writeTree(path.join(server.home, "tree"), layout);
    const proxy = await startDelayProxy(server.host, server.port, delayMs);
    return {
      host: server.host,
      port: proxy.port,
      user: server.user,
      password: server.password,
      home: server.home,
      log: server.logFiles[0],
      label: `vsftpd ${server.version} (home on ${process.env.TMPDIR === "/dev/shm" ? "tmpfs" : "disk"})`,
      stop: async () => {
        proxy.stop();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Counts what vsftpd logged from byte `from` of its log on. */
function serverCounts(log: string, from: number): ServerCounts {
  const text = fs.readFileSync(log, "latin1").slice(from);
  const count = (pattern: RegExp): number => text.match(pattern)?.length ?? 0;
  return {
    logins: count(/\] OK LOGIN:/g),
    downloads: count(/\] OK DOWNLOAD:/g),
    uploads: count(/\] OK UPLOAD:/g),
    failures: count(/\] FAIL [A-Z]+:/g),
  };
}

// ---------------------------------------------------------------------------
// Running a command

interface Outcome {
  ms: number;
  cpuMs: number | null;
  error?: string;
}

const TIME = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/**
 * Runs `file args` to its exit and times it from spawn to exit; with
 * /usr/bin/time in front, which reports the child's CPU time to a file.
 * Killed (its whole process group) after `timeoutMs`.
 */
function runTimed(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, scratch: string): Promise<Outcome> {
  const cpuFile = path.join(scratch, "cpu.txt");
  fs.rmSync(cpuFile, { force: true });
  const [command, argv] = TIME ? [TIME, ["-f", "%U %S", "-o", cpuFile, file, ...args]] : [file, args];
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, argv, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer): void => {
      if (output.length < 4000) output += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, cpuMs: null, error: error.message });
    });
    child.once("close", (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      let cpuMs: number | null = null;
      try {
        const [user, system] = fs.readFileSync(cpuFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
        if (Number.isFinite(user) && Number.isFinite(system)) cpuMs = (user + system) * 1000;
      } catch {
        // no /usr/bin/time, or the child was killed
      }
      const failed = timedOut ? `timed out after ${timeoutMs / 1000} s` : code !== 0 ? `exit ${code ?? signal}` : undefined;
      resolve({ ms, cpuMs, error: failed && `${failed}: ${output.trim().split("\n").slice(-3).join(" | ")}` });
    });
  });
}

// ---------------------------------------------------------------------------
// Contenders and tasks

interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

interface ContenderSpec {
  name: string;
  tool: Tool;
  /** The command that mirrors `remote` (an FTP path) into `local`, or `local` into `remote` for an upload. */
  command: (ftp: Endpoint, remote: string, local: string) => { file: string; args: string[] };
}

interface TaskSpec {
  id: TaskId;
  title: string;
  kind: "download" | "rerun" | "upload";
  connections: number;
  /** The download task whose results a rerun starts from (its contenders are the rerun's). */
  rerunOf?: TaskId;
  contenders: ContenderSpec[];
  /** ftpstream's time ÷ the better of these; `max`: the target, else for reference. */
  ratios: Array<{ peers: string[]; max?: number }>;
  /** Contenders that are there for reference only (no target): --quick leaves them out. */
  references: string[];
}

/** lftp's settings for the bench: failures end a sample soon instead of retrying for minutes (no effect on a clean run). */
const LFTP_GUARDS = "set net:max-retries 2; set net:timeout 20";
/**
 * What a user who knows lftp sets for a plain-FTP server over a long link:
 * commands sent without waiting for each reply, no AUTH TLS attempt on a
 * server without TLS, and times set on uploaded files with two-argument
 * MDTM (vsftpd has no SITE UTIME or MFMT), as ftpstream and rclone do.
 */
const LFTP_TUNED = "set ftp:sync-mode off; set ftp:ssl-allow no; set ftp:use-mdtm-overloaded on";

function lftp(name: string, settings: string, mirror: string): ContenderSpec {
  return {
    name,
    tool: "lftp",
    command: (ftp, remote, local) => ({
      file: "lftp",
      args: [
        "-c",
        `${[LFTP_GUARDS, settings].filter(Boolean).join("; ")}; open -u ${ftp.user},${ftp.password} -p ${ftp.port} ${ftp.host}; ` +
          mirror.replace("{remote}", remote).replace("{local}", local),
      ],
    }),
  };
}

/**
 * rclone's FTP remote as a connection string (no config file read: --config
 * /dev/null), with --ftp-writing-mdtm, the option rclone documents for
 * vsftpd: with it rclone reads times by MDTM, compares size and time (to the
 * second) and sets the time of what it uploads; without it rclone's FTP
 * backend reports no time support here and compares sizes only.
 */
function rclone(name: string, flags: string[], upload: boolean, obscured: string): ContenderSpec {
  return {
    name,
    tool: "rclone",
    command: (ftp, remote, local) => {
      const remoteSpec = `:ftp,host=${ftp.host},port=${ftp.port},user=${ftp.user},pass=${obscured}:${remote}`;
      const [from, to] = upload ? [local, remoteSpec] : [remoteSpec, local];
      return { file: "rclone", args: ["--config", "/dev/null", "copy", from, to, "--ftp-writing-mdtm", ...flags] };
    },
  };
}

function ftpstream(name: string, cli: string, parallel: number, upload: boolean): ContenderSpec {
  return {
    name,
    tool: "ftpstream",
    command: (ftp, remote, local) => {
      const url = `ftp://${encodeURIComponent(ftp.user)}:${encodeURIComponent(ftp.password)}@${ftp.host}:${ftp.port}${remote}`;
      const [from, to] = upload ? [local, url] : [url, local];
      return {
        file: process.execPath,
        args: [cli, "mirror", from, to, ...(parallel > 1 ? ["--parallel", String(parallel)] : []), "--quiet"],
      };
    },
  };
}

const basicFtp: ContenderSpec = {
  name: "basic-ftp downloadToDir",
  tool: "basic-ftp",
  command: (ftp, remote, local) => ({
    file: process.execPath,
    args: [BASIC_FTP_DIR, ftp.host, String(ftp.port), ftp.user, ftp.password, remote, local],
  }),
};

/**
 * rclone with at most 4 connections: --ftp-concurrency 4 caps them, and
 * rclone's help for that option says a copy needs one more connection than
 * --transfers + --checkers (one more than the larger of them with
 * --check-first), else it deadlocks; --transfers 4 --checkers 3
 * --check-first did deadlock here. So: its documented recipe for four.
 */
const RCLONE_4 = ["--ftp-concurrency", "4", "--transfers", "3", "--checkers", "3", "--check-first"];
const RCLONE_4_NAME = "rclone, 4 connections";
/** rclone's defaults (--transfers 4, --checkers 8, no cap on connections): what `rclone copy` does untold; for reference. */
const RCLONE_DEFAULT_NAME = "rclone, defaults";

/** The name of the baseline build's contender beside `name`, ftpstream's. */
const baselineName = (name: string): string => `${name} (baseline)`;

function tasks(cli: string, obscured: string, baselineCli: string | undefined): TaskSpec[] {
  const lftp4 = "lftp mirror -P 4";
  const lftp1 = "lftp mirror (defaults)";
  const lftp1Tuned = "lftp mirror, sync-mode off";
  const fs4 = "ftpstream mirror --parallel 4";
  const fs1 = "ftpstream mirror";
  const list: TaskSpec[] = [
    {
      id: "download-4",
      title: "first download, 4 connections",
      kind: "download",
      connections: CONNECTIONS,
      contenders: [
        lftp(lftp4, LFTP_TUNED, "mirror -P 4 {remote} {local}"),
        rclone(RCLONE_4_NAME, RCLONE_4, false, obscured),
        rclone(RCLONE_DEFAULT_NAME, [], false, obscured),
        ftpstream(fs4, cli, CONNECTIONS, false),
      ],
      ratios: [{ peers: [lftp4, RCLONE_4_NAME], max: TARGET_RATIO }, { peers: [RCLONE_DEFAULT_NAME] }],
      references: [RCLONE_DEFAULT_NAME],
    },
    {
      id: "rerun-4",
      title: "the same again onto the unchanged result, 4 connections",
      kind: "rerun",
      connections: CONNECTIONS,
      rerunOf: "download-4",
      contenders: [],
      ratios: [{ peers: [lftp4, RCLONE_4_NAME], max: TARGET_RATIO }, { peers: [RCLONE_DEFAULT_NAME] }],
      references: [RCLONE_DEFAULT_NAME],
    },
    {
      id: "upload-4",
      title: "upload into a new remote directory, 4 connections",
      kind: "upload",
      connections: CONNECTIONS,
      contenders: [
        lftp(lftp4, LFTP_TUNED, "mirror -R -P 4 {local} {remote}"),
        rclone(RCLONE_4_NAME, RCLONE_4, true, obscured),
        rclone(RCLONE_DEFAULT_NAME, [], true, obscured),
        ftpstream(fs4, cli, CONNECTIONS, true),
      ],
      ratios: [{ peers: [lftp4, RCLONE_4_NAME], max: TARGET_RATIO }, { peers: [RCLONE_DEFAULT_NAME] }],
      references: [RCLONE_DEFAULT_NAME],
    },
    {
      id: "download-1",
      title: "first download, 1 connection",
      kind: "download",
      connections: 1,
      contenders: [
        lftp(lftp1, "", "mirror {remote} {local}"),
        lftp(lftp1Tuned, LFTP_TUNED, "mirror {remote} {local}"),
        basicFtp,
        ftpstream(fs1, cli, 1, false),
      ],
      ratios: [{ peers: [basicFtp.name], max: TARGET_RATIO }, { peers: [lftp1] }, { peers: [lftp1Tuned] }],
      references: [lftp1Tuned],
    },
    {
      id: "rerun-1",
      title: "the same again onto the unchanged result, 1 connection",
      kind: "rerun",
      connections: 1,
      rerunOf: "download-1",
      contenders: [],
      ratios: [{ peers: [lftp1] }, { peers: [lftp1Tuned] }, { peers: [basicFtp.name] }],
      // basic-ftp has no change detection: its "rerun" fetches everything again (shown, as in issue 23's table).
      references: [lftp1Tuned, basicFtp.name],
    },
  ];
  if (baselineCli)
    for (const spec of list) {
      const name = baselineName(spec.connections > 1 ? fs4 : fs1);
      if (!spec.rerunOf) spec.contenders.push(ftpstream(name, baselineCli, spec.connections, spec.kind === "upload"));
      spec.ratios.push({ peers: [name] });
    }
  return list;
}

/**
 * The least round trips a task needs on this link, the connections busy
 * all along, everything that can be pipelined pipelined. The proxy opens
 * a data connection at once (it cannot delay handshakes), and vsftpd sends
 * a file or a listing the moment its data connection arrives, so with the
 * next EPSV and RETR (or LIST) already waiting at the server, each costs
 * only the 229's way to the client: half a round trip (measured by hand:
 * 13 RETRs written at once, 13 ms a file at 20 ms). An upload's bytes
 * travel the other way after its 229: one round trip a file. A directory
 * is listed only after its parent's listing has arrived (a round trip and
 * a half: the EPSV and LIST out, the 229 back, the data back), so a tree
 * `levels` deep takes at least that many of those. MDTM, MKD and setting
 * times ride along in the same writes; login is left out. On a real link
 * a data connection's handshake adds a round trip or more a file.
 */
function floorOf(
  kind: TaskSpec["kind"],
  files: number,
  dirs: number,
  levels: number,
  connections: number,
): { roundTrips: number; how: string } {
  const listings = dirs + 1;
  const path = { roundTrips: levels * 1.5, how: `${levels} levels of listings, 1½ round trips each, one after another` };
  const over = connections > 1 ? ` ÷ ${connections} connections` : "";
  switch (kind) {
    case "download": {
      const work = ((files + listings) * 0.5) / connections;
      return work >= path.roundTrips ? { roundTrips: work, how: `(${files} files + ${listings} listings) × ½${over}` } : path;
    }
    case "rerun": {
      const work = (listings * 0.5) / connections;
      return work >= path.roundTrips ? { roundTrips: work, how: `${listings} listings × ½${over}, the MDTMs alongside` } : path;
    }
    case "upload":
      return { roundTrips: files / connections, how: `${files} files × 1${over}, MKDs and times alongside` };
  }
}

// ---------------------------------------------------------------------------
// The row

function toolVersion(command: string, args: string[], pattern: RegExp): string | null {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0 || result.error) return null;
  return pattern.exec(result.stdout)?.[1] ?? result.stdout.split("\n")[0].trim();
}

function basicFtpVersion(): string | null {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../node_modules/basic-ftp/package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return String(pkg.version);
  } catch {
    return null;
  }
}

/** HEAD of the checkout the CLI was built in (the nearest directory above it with a package.json), and whether its lib/ differs from it. */
function commitOf(cli: string): string {
  let cwd = path.dirname(cli);
  while (!fs.existsSync(path.join(cwd, "package.json")) && path.dirname(cwd) !== cwd) cwd = path.dirname(cwd);
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8" });
  if (head.status !== 0) return "unknown (not a git checkout)";
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "lib"], { cwd, encoding: "utf8" });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? " + uncommitted changes in lib/" : ""}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the row: `runs` rounds of the five tasks, each task's contenders in turn, in rotating order. */
export async function runWanTreeBench(options: WanTreeOptions = {}): Promise<WanTreeReport> {
  const started = performance.now();
  const loadBefore = os.loadavg()[0];
  const runs = options.runs ?? DEFAULT_RUNS;
  const delayMs = options.delayMs ?? DEFAULT_DELAY_MS;
  const quick = options.quick ?? false;
  const cli = path.resolve(options.cli ?? DEFAULT_CLI);
  const baselineCli = options.baselineCli && path.resolve(options.baselineCli);
  if (baselineCli && !fs.existsSync(baselineCli)) throw new Error(`${baselineCli} not found: build the baseline first (npm run build)`);
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  if (!fs.existsSync(cli)) throw new Error(`${cli} not found: build ftpstream first (npm run build)`);
  const files = quick ? QUICK_FILES : FILES;
  const dirs = quick ? QUICK_DIRS : DIRS;
  const layout = treeLayout(files, dirs, Math.floor(Date.now() / 1000));
  // Levels of listings: the tree's root, and each directory level below it.
  const levels = 1 + Math.max(...layout.map((f) => f.rel.split("/").length - 1));
  const timeoutMs = quick ? 60_000 : SAMPLE_TIMEOUT_MS;

  const tools: WanTreeReport["tools"] = {
    lftp: toolVersion("lftp", ["--version"], /Version (\S+)/),
    rclone: toolVersion("rclone", ["version"], /^rclone (\S+)/),
    "basic-ftp": basicFtpVersion(),
    node: process.version,
  };
  const skipped: string[] = [];
  const missing = new Set<Tool>();
  if (!tools.lftp) missing.add("lftp");
  if (!tools.rclone) missing.add("rclone");
  if (!tools["basic-ftp"]) missing.add("basic-ftp");
  for (const tool of missing) skipped.push(`${tool}: not installed (bench/setup.sh installs it), its contenders left out`);

  const setup = await startSetup(layout, delayMs);
  const scratch = fs.mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), "ftpstream-bench-wan-tree-"));
  try {
    const source = path.join(setup.home, "tree");
    // The upload source: the same tree on local disk (tmpfs), same times.
    const localTree = path.join(scratch, "src");
    writeTree(localTree, layout);
    // lftp and rclone keep state and settings under HOME; the bench gives them an empty one.
    const home = path.join(scratch, "home");
    fs.mkdirSync(home);
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_DATA_HOME: path.join(home, ".local") };
    const obscured = tools.rclone ? spawnSync("rclone", ["obscure", setup.password], { encoding: "utf8" }).stdout.trim() : "";
    const ftp: Endpoint = { host: setup.host, port: setup.port, user: setup.user, password: setup.password };

    const specs = tasks(cli, obscured, baselineCli);
    for (const spec of specs) {
      // A rerun's contenders are its download's, each onto its own result (so a contender left out there is left out here).
      if (spec.rerunOf) spec.contenders = specs.find((s) => s.id === spec.rerunOf)!.contenders;
      spec.contenders = spec.contenders.filter((c) => !missing.has(c.tool) && !(quick && spec.references.includes(c.name)));
    }
    const samples = new Map<string, WanTreeSample[]>();
    const key = (task: TaskId, name: string): string => `${task}\n${name}`;
    /** Each download's result, kept for its rerun. */
    const results = new Map<string, string>();

    for (let run = 0; run < runs; run++) {
      for (const spec of specs) {
        const order = spec.contenders.map((_, i) => spec.contenders[(i + run) % spec.contenders.length]);
        const line: string[] = [];
        for (const contender of order) {
          const slug = contender.name.replace(/[^a-z0-9]+/gi, "-");
          let local: string;
          let remote = "/tree";
          if (spec.kind === "rerun") {
            local = results.get(key(spec.rerunOf!, contender.name)) ?? "";
          } else if (spec.kind === "upload") {
            local = localTree;
            remote = `/up-${run}-${slug}`;
          } else {
            local = path.join(scratch, `${spec.id}-${slug}`);
            fs.rmSync(local, { recursive: true, force: true });
            fs.mkdirSync(local);
          }
          const { file, args } = contender.command(ftp, remote, local);
          const sample: WanTreeSample = {
            run,
            ms: null,
            cpuMs: null,
            server: { logins: 0, downloads: 0, uploads: 0, failures: 0 },
            timesKept: 0,
          };
          if (!local) {
            sample.error = "its first download failed: nothing to rerun onto";
          } else {
            const logFrom = fs.statSync(setup.log).size;
            const outcome = await runTimed(file, args, env, timeoutMs, scratch);
            await sleep(LOG_SETTLE_MS);
            sample.server = serverCounts(setup.log, logFrom);
            sample.cpuMs = outcome.cpuMs;
            const [expected, result] = spec.kind === "upload" ? [localTree, path.join(setup.home, remote)] : [source, local];
            const check = compareTree(expected, layout, result);
            sample.timesKept = check.timesKept;
            sample.error = outcome.error ?? (check.problem ? `result differs from the source: ${check.problem}` : undefined);
            if (!sample.error) sample.ms = outcome.ms;
          }
          samples.set(key(spec.id, contender.name), [...(samples.get(key(spec.id, contender.name)) ?? []), sample]);
          line.push(`${contender.name} ${sample.ms === null ? `FAILED (${sample.error})` : `${(sample.ms / 1000).toFixed(2)} s`}`);
          // Clean up: uploads are removed, a first download is kept for its rerun (if it passed), a rerun's result removed.
          if (spec.kind === "upload") fs.rmSync(path.join(setup.home, remote), { recursive: true, force: true });
          else if (spec.kind === "download" && sample.ms !== null && specs.some((s) => s.rerunOf === spec.id))
            results.set(key(spec.id, contender.name), local);
          else {
            if (local) fs.rmSync(local, { recursive: true, force: true });
            if (spec.kind === "download") results.delete(key(spec.id, contender.name));
          }
        }
        log(`  row 12 run ${run + 1}/${runs}, ${spec.title}: ${line.join(", ")}`);
      }
    }

    const rtt = (2 * delayMs) / 1000;
    const reports: WanTreeTask[] = specs.map((spec) => {
      const floor = floorOf(spec.kind, files, dirs, levels, spec.connections);
      const floorSeconds = floor.roundTrips * rtt;
      const contenders: WanTreeContender[] = spec.contenders.map((c) => {
        const list = samples.get(key(spec.id, c.name)) ?? [];
        const passed = list.flatMap((s) => (s.ms === null ? [] : [s.ms]));
        const medianMs = passed.length ? median(passed) : null;
        const shown = c.command(ftp, spec.kind === "upload" ? "/up" : "/tree", spec.kind === "upload" ? "tree" : "dir");
        return {
          name: c.name,
          tool: c.tool,
          command: [shown.file === process.execPath ? "node" : shown.file, ...shown.args]
            .join(" ")
            .replaceAll(setup.password, "****")
            .replaceAll(obscured || "\u0000", "****")
            .replaceAll(path.dirname(BASIC_FTP_DIR), "build/bench"),
          samples: list,
          medianMs,
          timesFloor: medianMs === null ? null : medianMs / 1000 / floorSeconds,
        };
      });
      const ms = (name: string, run: number): number | null =>
        contenders.find((c) => c.name === name)?.samples.find((s) => s.run === run)?.ms ?? null;
      const subject = contenders.find((c) => c.tool === "ftpstream" && !c.name.endsWith(baselineName("")))!;
      const ratios: WanTreeRatio[] = spec.ratios
        .map(({ peers, max }) => ({ peers: peers.filter((p) => contenders.some((c) => c.name === p)), max }))
        .filter(({ peers, max }) => peers.length > 0 || max !== undefined)
        .map(({ peers, max }) => {
          const perRun = Array.from({ length: runs }, (_, run): number | null => {
            const mine = ms(subject.name, run);
            const theirs = peers.flatMap((p) => {
              const t = ms(p, run);
              return t === null ? [] : [t];
            });
            return mine === null || theirs.length === 0 ? null : mine / Math.min(...theirs);
          });
          const valid = perRun.flatMap((r) => (r === null ? [] : [r]));
          const m = valid.length ? median(valid) : null;
          // A failed ftpstream sample fails the target; a failed peer sample drops that peer from the run.
          const clean = subject.samples.every((s) => s.ms !== null);
          return {
            samples: perRun,
            median: m,
            peers,
            max: max ?? null,
            holds: max === undefined ? null : m !== null && clean && m <= max,
          };
        });
      return {
        id: spec.id,
        title: spec.title,
        connections: spec.connections,
        floorSeconds,
        roundTrips: floor.roundTrips,
        floorHow: floor.how,
        contenders,
        ratios,
      };
    });
    return {
      date: new Date().toISOString(),
      commit: commitOf(cli),
      cli,
      baseline: baselineCli ? { cli: baselineCli, commit: commitOf(baselineCli) } : null,
      server: setup.label,
      delayMs,
      files,
      dirs,
      bytes: layout.reduce((sum, f) => sum + f.size, 0),
      runs,
      quick,
      tools,
      skipped,
      tasks: reports,
      durationSeconds: (performance.now() - started) / 1000,
      load: [loadBefore, os.loadavg()[0]],
      cores: os.availableParallelism(),
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    await setup.stop();
  }
}

/** The row as text lines, in the style of run.ts's table. */
export function formatWanTreeReport(report: WanTreeReport): string[] {
  const rtt = 2 * report.delayMs;
  const tools = report.tools;
  const lines = [
    `12. tree mirrors over a WAN link (issue 23): ${report.files} files of 4–20 KiB (${(report.bytes / 1048576).toFixed(1)} MiB) in ${report.dirs} directories, ` +
      `${report.server} through bench/delay-proxy.ts at ${report.delayMs} ms each way (${rtt} ms round trip), ${report.runs} run${report.runs === 1 ? "" : "s"} in turns (s, lower is better)${report.quick ? ", --quick: reference contenders left out" : ""}`,
    `    ${report.date}, took ${report.durationSeconds.toFixed(0)} s, load average ${report.load.map((x) => x.toFixed(1)).join(" → ")} on ${report.cores} cores`,
    `    ftpstream ${report.commit}; lftp ${tools.lftp ?? "not installed"}; rclone ${tools.rclone ?? "not installed"}; basic-ftp ${tools["basic-ftp"] ?? "not installed"}; node ${tools.node}`,
    ...(report.baseline ? [`    baseline: ftpstream ${report.baseline.commit} (${report.baseline.cli}), in turns with the rest`] : []),
    ...report.skipped.map((s) => `    left out: ${s}`),
  ];
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  const cells: string[][] = [["", "contender", "median", "min..max", "× floor", "logins", "files", "times kept", "CPU"]];
  const titles = new Map<number, string>();
  const notes: string[] = [];
  for (const task of report.tasks) {
    titles.set(
      cells.length,
      `  ${task.title}: floor ${task.floorSeconds.toFixed(2)} s (${task.roundTrips.toFixed(1)} round trips × ${rtt} ms: ${task.floorHow})`,
    );
    for (const c of task.contenders) {
      const passed = c.samples.filter((x) => x.ms !== null);
      const mid = (values: Array<number | null>): string => {
        const known = values.flatMap((v) => (v === null ? [] : [v]));
        return known.length ? String(Math.round(median(known))) : "?";
      };
      const moved = mid(c.samples.map((x) => x.server.downloads + x.server.uploads));
      const failed = c.samples.length - passed.length;
      cells.push([
        "",
        c.name,
        c.medianMs === null ? "FAILED" : `${s(c.medianMs)} s`,
        passed.length ? `${s(Math.min(...passed.map((x) => x.ms!)))}..${s(Math.max(...passed.map((x) => x.ms!)))}` : "",
        c.timesFloor === null ? "" : c.timesFloor.toFixed(1),
        mid(c.samples.map((x) => x.server.logins)),
        moved,
        `${mid(c.samples.map((x) => x.timesKept))}/${report.files}`,
        c.samples.some((x) => x.cpuMs !== null) ? `${s(Number(mid(c.samples.map((x) => x.cpuMs))))} s` : "",
      ]);
      if (failed) {
        const errors = [...new Set(c.samples.flatMap((x) => (x.error ? [x.error] : [])))];
        notes.push(`  ${task.title}, ${c.name}: ${failed} of ${c.samples.length} samples FAILED: ${errors.join("; ")}`);
      }
    }
    for (const r of task.ratios) {
      const each = r.samples.map((x) => (x === null ? "–" : x.toFixed(2))).join(", ");
      const verdict =
        r.max === null
          ? "for reference"
          : r.peers.length === 0
            ? `target ≤ ${r.max.toFixed(2)}: not measured (no peer ran)`
            : `target ≤ ${r.max.toFixed(2)}: ${r.holds ? "holds" : "MISSED"}`;
      cells.push([
        "",
        `  ftpstream ÷ ${r.peers.length > 1 ? `better of ${r.peers.join(" / ")}` : (r.peers[0] ?? "(its peers not installed)")}`,
        r.median === null ? "?" : r.median.toFixed(2),
        `runs: ${each}`,
        verdict,
      ]);
    }
  }
  table(cells, [0, 1, 4])
    .split("\n")
    .forEach((line, i) => {
      const title = titles.get(i);
      if (title) lines.push(title);
      lines.push(`  ${line}`);
    });
  lines.push(...notes);
  lines.push(
    "  logins and files: what vsftpd's log says the sample did: sessions (so never more connections at once), files sent or received " +
      "(0 on a rerun: nothing fetched again); times kept: files whose time is the source's to the second",
  );
  return lines;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const usage = (): never => {
    throw new Error(
      "usage: node build/bench/wan-tree.js [--runs N] [--json] [--delay ms] [--quick] [--cli path/to/ftpstream.mjs] [--baseline dir]",
    );
  };
  const value = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    return args[at + 1] ?? usage();
  };
  const known = new Set(["--runs", "--json", "--delay", "--quick", "--cli", "--baseline"]);
  args.forEach((arg, i) => {
    if (arg.startsWith("--") && !known.has(arg)) usage();
    if (!arg.startsWith("--") && !["--runs", "--delay", "--cli", "--baseline"].includes(args[i - 1])) usage();
  });
  const quick = args.includes("--quick");
  const runs = Number(value("--runs") ?? (quick ? 1 : DEFAULT_RUNS));
  const delayMs = Number(value("--delay") ?? DEFAULT_DELAY_MS);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isFinite(delayMs) || delayMs < 0) usage();
  // --baseline: a checkout of another commit, built (npm run build), as run.ts's --baseline takes it.
  const baseline = value("--baseline");
  const baselineCli = baseline === undefined ? undefined : builtCli(baseline);
  const report = await runWanTreeBench({ runs, delayMs, quick, cli: value("--cli"), baselineCli });
  process.stdout.write(args.includes("--json") ? `${JSON.stringify(report, null, 2)}\n` : `${formatWanTreeReport(report).join("\n")}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(fileURLToPath(import.meta.url))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
