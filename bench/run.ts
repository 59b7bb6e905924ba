/**
 * `npm run bench`: ftpstream against the limit of this machine and against
 * the clients users would pick instead, in one run. See bench/README.md.
 *
 *   node build/bench/run.js [--runs N] [--quick] [--json] [--rows 1,2,...]
 *                           [--size MiB] [--hwm bytes] [--rate MiB/s] [--fixture]
 *
 * Each sample of rows 1-3 runs in a fresh child process (bench/worker.ts);
 * contenders of a row take turns within each run (the order rotates from
 * run to run), and the ratio to each peer is taken run by run, then its
 * median reported. Rows 4 and 5 run both clients in one child, batch by
 * batch in turn (see paired() in worker.ts).
 */
import { execFile } from "node:child_process";
import * as os from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatDirsReport, runDirsBench } from "./dirs.js";
import { formatQueueReport, runQueueBench } from "./queue-bench.js";
import { formatWanTreeReport, runWanTreeBench } from "./wan-tree.js";
import { BASELINE, EMPTY_POOL_TASK, ONE_WINDOW, WRITTEN_AHEAD } from "./paired.js";
import { startBenchServer, type BenchServer } from "./server.js";
import { formatSize, GiB, machine, median, MiB, table, type Machine } from "./stats.js";
import { RESULT_PREFIX, type Endpoint, type FreshTask, type PairedTask, type Task, type TaskResult } from "./tasks.js";
import { startDelayProxy as spawnDelayProxy, startPeer as spawnPeer } from "./peer-process.js";

interface Options {
  runs: number;
  quick: boolean;
  json: boolean;
  rows: Set<number>;
  bigSize: number;
  smallCount: number;
  smallSize: number;
  noops: number;
  /** WAN rows: files and commands through the delaying proxy, and its delay each way (ms). */
  wanFiles: number;
  wanCommands: number;
  wanDelay: number;
  slowRate: number;
  highWaterMark: number | undefined;
  forceFixture: boolean;
  /** Another build's lib/index.js (an absolute file URL): rows 4, 6, 10 and 11 run it against this one, in turns (--baseline). */
  baseline: string | undefined;
  /**
   * Uncounted passes over the items before the counted one, in rows whose
   * contenders take turns in one child (--warm-passes; default 1). One pass
   * of 1,000 small files still leaves V8 compiling each Node client's hot
   * paths in the counted pass (see bench/README.md, "Compiling in the
   * counted pass"); three leave the counted pass to the steady state.
   */
  warmPasses: number;
}

const ALL_ROWS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15];
/** Row 13, a mirror over a job queue (bench/queue-bench.ts): its own servers, printed after the table; `--rows 13` runs it alone. */
const QUEUE_ROW = 13;
/** Row 12, tree mirrors over a WAN link against lftp, rclone and basic-ftp (bench/wan-tree.ts): its own server, proxy and tree, printed after the table; `--rows 12` runs it alone. */
const WAN_TREE_ROW = 12;

function usage(): never {
  process.stderr.write(
    "usage: node build/bench/run.js [--runs N] [--quick] [--json] [--rows 1,2,...,15] [--size MiB] [--hwm bytes] [--rate MiB/s] [--delay ms] [--fixture] [--baseline dir] [--warm-passes N]\n",
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    runs: 5,
    quick: false,
    json: false,
    rows: new Set([...ALL_ROWS, WAN_TREE_ROW, QUEUE_ROW]),
    bigSize: GiB,
    smallCount: 1000,
    smallSize: 4 * 1024,
    noops: 2000,
    wanFiles: 100,
    wanCommands: 200,
    wanDelay: 5,
    slowRate: 50 * MiB,
    highWaterMark: undefined,
    forceFixture: false,
    baseline: undefined,
    warmPasses: 1,
  };
  let size: number | undefined;
  const number = (value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n <= 0) usage();
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--runs":
        options.runs = Math.floor(number(value()));
        break;
      case "--quick":
        options.quick = true;
        break;
      case "--json":
        options.json = true;
        break;
      case "--fixture":
        options.forceFixture = true;
        break;
      case "--baseline": {
        // A checkout of another commit, built (npm run build): its ftpstream takes turns with this one in rows 4, 6, 10 and 11 (and 14, 15).
        const dir = value();
        if (!dir) usage();
        options.baseline = pathToFileURL(resolve(dir, "build/lib/index.js")).href;
        break;
      }
      case "--warm-passes": {
        const passes = Number(value());
        if (!Number.isInteger(passes) || passes < 0) usage();
        options.warmPasses = passes;
        break;
      }
      case "--size":
        size = number(value()) * MiB;
        break;
      case "--hwm":
        options.highWaterMark = Math.floor(number(value()));
        break;
      case "--delay":
        options.wanDelay = number(value());
        break;
      case "--rate":
        options.slowRate = number(value()) * MiB;
        break;
      case "--rows": {
        const rows = (value() ?? "").split(",").map(Number);
        if (rows.some((r) => !ALL_ROWS.includes(r) && r !== WAN_TREE_ROW && r !== QUEUE_ROW)) usage();
        options.rows = new Set(rows);
        break;
      }
      default:
        usage();
    }
  }
  if (options.quick) {
    // A smaller run to try things: same rows, about a tenth of the time.
    options.bigSize = 64 * MiB;
    options.smallCount = 200;
    options.noops = 500;
    options.wanFiles = 20;
    options.wanCommands = 40;
  }
  if (size !== undefined) options.bigSize = Math.floor(size);
  return options;
}

/**
 * Where the machine has two cores or more, the server runs on core 0 and
 * every client (bench children, curl, the ftplib peer they start) on core 1,
 * so a loopback round trip does not depend on where the scheduler put the
 * server. Set in main() once the server is pinned.
 */
let clientCore: number | undefined;

/** `command args`, run on the clients' core when there is one. */
function onClientCore(command: string, args: string[]): [string, string[]] {
  return clientCore === undefined ? [command, args] : ["taskset", ["-c", String(clientCore), command, ...args]];
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));
const RAWPEER = fileURLToPath(new URL("./rawpeer.js", import.meta.url));
/** Python, not compiled: found in the source tree (build/bench/ → bench/). */
const SENDFILE_PEER = fileURLToPath(new URL("../../bench/sendfile-peer.py", import.meta.url));
/** No single sample may hang the run: the slowest (1 GiB at 50 MiB/s) takes about 21 s. */
const SAMPLE_TIMEOUT_MS = 120_000;

function runWorker(task: Task): Promise<TaskResult> {
  return new Promise((resolve, reject) => {
    execFile(
      ...onClientCore(process.execPath, [WORKER, JSON.stringify(task)]),
      { timeout: SAMPLE_TIMEOUT_MS, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
        if (error || !line) {
          reject(new Error(`${task.kind} failed: ${error?.message ?? "no result"}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as TaskResult);
      },
    );
  });
}

/** curl as users run it; its own time_total (connect to last byte) is the figure. */
function runCurl(args: string[], expected: number): Promise<TaskResult> {
  return new Promise((resolve, reject) => {
    execFile(
      ...onClientCore("curl", ["-sS", "--fail", "-w", "%{time_total} %{size_download} %{size_upload}", ...args]),
      { timeout: SAMPLE_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const [total, down, up] = stdout.trim().split(" ").map(Number);
        const bytes = Math.max(down ?? 0, up ?? 0);
        if (error || !Number.isFinite(total) || bytes !== expected) {
          reject(new Error(`curl ${args.join(" ")} failed (${bytes} of ${expected} bytes): ${error?.message ?? ""}\n${stderr}`));
          return;
        }
        resolve({ ms: total * 1000, bytes, peakRss: 0, cpuMs: 0 });
      },
    );
  });
}

/** Starts a raw peer (bench/rawpeer.ts) and resolves with its port and a stop function. */
function startRawPeer(mode: "send" | "sink", size: number): Promise<{ port: number; stop: () => void }> {
  return startPeer(`raw ${mode} peer`, process.execPath, [RAWPEER, mode, String(size)]);
}

/** Starts bench/sendfile-peer.py, which sends `file` with sendfile(2) as vsftpd does. */
function startSendfilePeer(file: string): Promise<{ port: number; stop: () => void }> {
  return startPeer("sendfile peer", "python3", [SENDFILE_PEER, file]);
}

/** Starts bench/delay-proxy.ts in front of the server, `ms` each way, on the server's core. */
function startDelayProxy(server: BenchServer, ms: number): Promise<{ port: number; stop: () => void }> {
  const { host, port } = server.endpoint;
  return spawnDelayProxy(host, port, ms, clientCore === undefined ? undefined : 0);
}

/** Spawns a peer (see bench/peer-process.ts); peers stand in for the server's side (a sender, a sink, the network): its core. */
function startPeer(what: string, command: string, args: string[]): Promise<{ port: number; stop: () => void }> {
  return clientCore === undefined ? spawnPeer(what, command, args) : spawnPeer(what, "taskset", ["-c", "0", command, ...args]);
}

// ---------------------------------------------------------------------------
// Rows

type Unit = "MiB/s" | "ms" | "MiB";

interface Sample {
  /** The figure in the row's unit. */
  value: number;
  result: TaskResult;
}

interface Contender {
  name: string;
  /** Runs one sample. */
  sample: (run: number) => Promise<Sample>;
}

interface Row {
  id: number;
  /** Samples every contender at once (rows 4 and 5: one process, batches in turn); else each contender's `sample`. */
  paired?: (run: number) => Promise<Map<string, Sample>>;
  title: string;
  unit: Unit;
  /** What a bigger figure means. */
  better: "higher" | "lower";
  contenders: Contender[];
  /**
   * `subject` (default "ftpstream") speed ÷ peer speed, which must be at
   * least `min` when there is one (else it is for reference). `serverBound`:
   * the subject runs its items concurrently, so the most the server's core
   * allows is printed beside it (RatioReport.ceiling).
   */
  ratioTargets: Array<{ subject?: string; peer: string; min?: number; serverBound?: boolean }>;
  /** Items per sample (files, round trips): the table shows time and CPU per item. */
  count?: number;
  /** A contender's median must stay below `max` (in the row's unit). */
  limitTargets: Array<{ contender: string; max: number }>;
  /** What the figure is, for the table's footnote. */
  note: string;
  setup?: () => Promise<void>;
  teardown?: () => void;
}

function rows(options: Options, server: BenchServer): Row[] {
  const ftp = server.endpoint;
  const size = options.bigSize;
  const hwm = options.highWaterMark;
  const rate = (result: TaskResult): Sample => ({ value: result.bytes / MiB / (result.ms / 1000), result });
  const time = (result: TaskResult): Sample => ({ value: result.ms, result });
  const rss = (result: TaskResult): Sample => ({ value: result.peakRss / MiB, result });
  const pairs = (result: TaskResult): Map<string, Sample> =>
    new Map(Object.entries(result.pairs ?? {}).map(([name, r]) => [name, time({ ...r, peakRss: result.peakRss })]));
  const unpaired = (): Promise<Sample> => Promise.reject(new Error("sampled with its row's paired()"));
  const url = (path: string): string =>
    `ftp://${encodeURIComponent(ftp.user)}:${encodeURIComponent(ftp.password)}@${ftp.host}:${ftp.port}/${path}`;
  const upload = async (name: string, run: (path: string) => Promise<TaskResult>): Promise<Sample> => {
    const path = `up-${name}.bin`;
    try {
      return rate(await run(path));
    } finally {
      server.removeUpload(path);
    }
  };
  let proxy: { port: number; stop: () => void } | undefined;
  /** What rows 8 and 9 share: each run goes through its own delaying proxy, against the same peers. */
  const throughWan = {
    endpoint: () => ({ ...ftp, port: proxy!.port }),
    contenders: ["ftpstream", "ftpstream, pipelined", "by hand", "ftplib", "basic-ftp"],
    ratioTargets: [{ peer: "by hand" }, { peer: "ftplib" }, { peer: "basic-ftp" }, { subject: "ftpstream, pipelined", peer: "ftpstream" }],
    setup: async () => {
      proxy = await startDelayProxy(server, options.wanDelay);
    },
    teardown: () => proxy?.stop(),
  };
  /** A row whose contenders share one child and take turns (bench/paired.ts). */
  const smallRow = (
    id: number,
    title: string,
    spec: {
      work: PairedTask["work"];
      count: number;
      batch: number;
      endpoint: Endpoint | (() => Endpoint);
      contenders: string[];
      note: string;
      ratioTargets: Row["ratioTargets"];
      setup?: () => Promise<void>;
      teardown?: () => void;
    },
  ): Row => ({
    id,
    title,
    count: spec.count,
    unit: "ms",
    better: "lower",
    note: spec.note,
    paired: async (run: number) =>
      pairs(
        await runWorker({
          kind: "paired",
          work: spec.work,
          ftp: typeof spec.endpoint === "function" ? spec.endpoint() : spec.endpoint,
          paths: server.smallPaths,
          count: spec.count,
          size: options.smallSize,
          batch: spec.batch,
          first: run,
          contenders: spec.contenders,
          serverPid: server.pid,
          baseline: options.baseline,
          warmPasses: options.warmPasses,
        }),
      ),
    contenders: spec.contenders.map((name) => ({ name, sample: unpaired })),
    ratioTargets: spec.ratioTargets,
    limitTargets: [],
    setup: spec.setup,
    teardown: spec.teardown,
  });
  /**
   * Rows 14 and 15 (bench/fresh.ts): each sample one contender alone in a
   * fresh process, `count` files one after another from its first, files
   * [from, count) counted; downloads and uploads. With --baseline, that
   * build's ftpstream takes the place of ftplib.
   */
  const freshRow = (id: number, title: string, spec: { count: number; from: number; min: number }): Row => {
    const names = options.baseline
      ? ["ftpstream", "ftpstream, callback", BASELINE, "by hand", "ftpstream, upload", `${BASELINE}, upload`, "by hand, upload"]
      : [
          "ftpstream",
          "ftpstream, callback",
          "by hand",
          "ftplib",
          "basic-ftp",
          "ftpstream, upload",
          "by hand, upload",
          "ftplib, upload",
          "basic-ftp, upload",
        ];
    const fresh = (name: string): FreshTask => ({
      kind: "fresh",
      work: name.endsWith(", upload") ? "stor" : "retr",
      contender: name.replace(/, upload$/, ""),
      ftp,
      paths: server.smallPaths,
      count: spec.count,
      from: spec.from,
      size: options.smallSize,
      lib: name.startsWith(BASELINE) ? options.baseline : undefined,
    });
    return {
      id,
      title,
      count: spec.count - spec.from,
      unit: "ms",
      better: "lower",
      note: `each sample a fresh process (contenders in turns), the client's module loaded and logged in before the clock (the import's time is printed as "import"), then ${spec.count} files one after another, files ${spec.from + 1}-${spec.count} timed: ftpstream: retrbinary(cmd, sink); callback: retrbinary(cmd, block => ...); upload: storbinary(cmd, buffer); by hand: bench/handftp.ts's HandClient (the limit); ftplib: CPython's loop; basic-ftp: downloadTo(sink, path) and uploadFrom(Readable, path), the peer Node client (a reference)`,
      contenders: names.map((name) => ({ name, sample: async () => time(await runWorker(fresh(name))) })),
      ratioTargets: [
        { peer: "by hand", min: spec.min },
        { subject: "ftpstream, callback", peer: "by hand", min: spec.min },
        { subject: "ftpstream, upload", peer: "by hand, upload", min: spec.min },
        ...(options.baseline
          ? [
              { peer: BASELINE, min: 1.0 },
              { subject: "ftpstream, upload", peer: `${BASELINE}, upload`, min: 1.0 },
            ]
          : [
              { peer: "ftplib" },
              { subject: "ftpstream, upload", peer: "ftplib, upload" },
              { peer: "basic-ftp" },
              { subject: "ftpstream, upload", peer: "basic-ftp, upload" },
              { subject: "basic-ftp", peer: "by hand" },
              { subject: "basic-ftp, upload", peer: "by hand, upload" },
            ]),
      ],
      limitTargets: [],
    };
  };
  let sender: { port: number; stop: () => void } | undefined;
  let fileSender: { port: number; stop: () => void } | undefined;
  let sink: { port: number; stop: () => void } | undefined;
  const throughputTargets = [
    { peer: "raw socket", min: 0.9 },
    { peer: "by hand", min: undefined },
    { peer: "basic-ftp", min: 1.0 },
    { peer: "curl", min: 0.9 },
  ];
  return [
    {
      id: 1,
      title: `download ${formatSize(size)} to a discarding sink`,
      unit: "MiB/s",
      better: "higher",
      note: "bytes / wall time from connect to the last byte (and, for FTP, the 226); raw socket: a Node sender writing from memory, no FTP; raw socket, sendfile: the server's file sent with sendfile(2) as vsftpd sends it, no FTP (reference, no target); by hand: USER..RETR typed by hand on plain sockets, vsftpd sending (reference, no target)",
      setup: async () => {
        sender = await startRawPeer("send", size);
        fileSender = await startSendfilePeer(server.curlSource);
      },
      teardown: () => {
        sender?.stop();
        fileSender?.stop();
      },
      contenders: [
        {
          name: "ftpstream",
          sample: async () => rate(await runWorker({ kind: "ftpstream-download", ftp, path: server.bigPath, size, highWaterMark: hwm })),
        },
        {
          name: "raw socket",
          sample: async () => rate(await runWorker({ kind: "raw-download", host: "127.0.0.1", port: sender!.port, size })),
        },
        {
          name: "raw socket, sendfile",
          sample: async () => rate(await runWorker({ kind: "raw-download", host: "127.0.0.1", port: fileSender!.port, size })),
        },
        { name: "by hand", sample: async () => rate(await runWorker({ kind: "handftp-download", ftp, path: server.bigPath, size })) },
        { name: "basic-ftp", sample: async () => rate(await runWorker({ kind: "basicftp-download", ftp, path: server.bigPath, size })) },
        { name: "curl", sample: async () => rate(await runCurl(["-o", "/dev/null", url(server.bigPath)], size)) },
      ],
      ratioTargets: [throughputTargets[0], { peer: "raw socket, sendfile", min: undefined }, ...throughputTargets.slice(1)],
      limitTargets: [],
    },
    {
      id: 2,
      title: `upload ${formatSize(size)} from a generated source`,
      unit: "MiB/s",
      better: "higher",
      note: "bytes / wall time from connect to the server's 226 (raw socket: to a Node sink's FIN; by hand: STOR typed by hand on plain sockets)",
      setup: async () => {
        sink = await startRawPeer("sink", size);
      },
      teardown: () => sink?.stop(),
      contenders: [
        {
          name: "ftpstream",
          sample: () => upload("ftpstream", (path) => runWorker({ kind: "ftpstream-upload", ftp, path, size, highWaterMark: hwm })),
        },
        {
          name: "raw socket",
          sample: async () => rate(await runWorker({ kind: "raw-upload", host: "127.0.0.1", port: sink!.port, size })),
        },
        { name: "by hand", sample: () => upload("byhand", (path) => runWorker({ kind: "handftp-upload", ftp, path, size })) },
        { name: "basic-ftp", sample: () => upload("basicftp", (path) => runWorker({ kind: "basicftp-upload", ftp, path, size })) },
        { name: "curl", sample: () => upload("curl", (path) => runCurl(["-T", server.curlSource, url(path)], size)) },
      ],
      ratioTargets: throughputTargets,
      limitTargets: [],
    },
    {
      id: 3,
      title: `peak RSS of an ftpstream process moving ${formatSize(size)}`,
      unit: "MiB",
      better: "lower",
      note: `VmHWM of the child at its end; the slow consumer takes ${options.slowRate / MiB} MiB/s. References, no target: the same slow download by basic-ftp and by a raw socket (no FTP), and Node idle`,
      setup: async () => {
        sender = await startRawPeer("send", size);
      },
      teardown: () => sender?.stop(),
      contenders: [
        {
          name: `download, ${options.slowRate / MiB} MiB/s consumer`,
          sample: async () =>
            rss(
              await runWorker({
                kind: "rss-download",
                ftp,
                path: server.bigPath,
                size,
                bytesPerSecond: options.slowRate,
                highWaterMark: hwm,
              }),
            ),
        },
        {
          name: "upload, fast source",
          sample: () =>
            upload("rss", async (path) => runWorker({ kind: "rss-upload", ftp, path, size, highWaterMark: hwm })).then((s) =>
              rss(s.result),
            ),
        },
        { name: "node + ftpstream idle", sample: async () => rss(await runWorker({ kind: "rss-baseline" })) },
        {
          name: "basic-ftp, same download",
          sample: async () =>
            rss(await runWorker({ kind: "rss-basicftp-download", ftp, path: server.bigPath, size, bytesPerSecond: options.slowRate })),
        },
        {
          name: "raw socket, same consumer",
          sample: async () =>
            rss(
              await runWorker({ kind: "rss-raw-download", host: "127.0.0.1", port: sender!.port, size, bytesPerSecond: options.slowRate }),
            ),
        },
        { name: "node idle, no client loaded", sample: async () => rss(await runWorker({ kind: "rss-node" })) },
      ],
      ratioTargets: [],
      limitTargets: [
        { contender: `download, ${options.slowRate / MiB} MiB/s consumer`, max: 64 },
        { contender: "upload, fast source", max: 64 },
      ],
    },
    smallRow(4, `${options.smallCount} files of ${formatSize(options.smallSize)} downloaded one after another on one connection`, {
      work: "retr",
      count: options.smallCount,
      batch: 10,
      endpoint: ftp,
      contenders: options.baseline
        ? ["ftpstream", BASELINE]
        : ["ftpstream", "ftpstream, callback", "ftpstream, pipeline", "by hand", "ftplib", "basic-ftp"],
      note: "wall time of the downloads alone, 10 files each in turn; ftpstream: retrbinary(cmd, sink); callback: retrbinary(cmd, block => ...); pipeline: pipeline(retrbinary(cmd), sink); by hand: EPSV, then the data connect and RETR at the same moment, on plain sockets (the limit); ftplib: CPython's retrbinary loop in its own process",
      ratioTargets: options.baseline
        ? [{ peer: BASELINE, min: 1.0 }]
        : [
            { peer: "by hand", min: 0.9 },
            { subject: "ftpstream, callback", peer: "by hand", min: 0.9 },
            { subject: "ftpstream, pipeline", peer: "by hand", min: 0.8 },
            { peer: "ftplib" },
            { peer: "basic-ftp", min: 1.0 },
          ],
    }),
    smallRow(5, `${options.noops} NOOP round trips, one after another`, {
      work: "noop",
      count: options.noops,
      batch: 20,
      endpoint: ftp,
      contenders: ["ftpstream", "by hand", "ftplib", "basic-ftp"],
      note: 'wall time of the NOOPs alone, 20 each in turn; ftpstream: sendcmd("NOOP"); by hand: NOOP written and its 200 read on a plain socket (the limit; target: a round trip ≤ 1.1× by hand\'s, a speed ratio ≥ 0.91); ftplib: voidcmd("NOOP")',
      ratioTargets: [{ peer: "by hand", min: 1 / 1.1 }, { peer: "ftplib" }, { peer: "basic-ftp", min: 1.0 }],
    }),
    smallRow(6, `${options.smallCount} files of ${formatSize(options.smallSize)} uploaded one after another on one connection`, {
      work: "stor",
      count: options.smallCount,
      batch: 10,
      endpoint: ftp,
      contenders: options.baseline ? ["ftpstream", BASELINE] : ["ftpstream", "by hand", "ftplib", "basic-ftp"],
      note: "wall time of the uploads alone (each up to its 226), 10 files each in turn; ftpstream: storbinary(cmd, buffer); by hand: EPSV, then the data connect and STOR at the same moment (the limit); ftplib: storbinary(cmd, BytesIO); basic-ftp: uploadFrom(Readable)",
      ratioTargets: options.baseline
        ? [{ peer: BASELINE, min: 1.0 }]
        : [{ peer: "by hand", min: 0.9 }, { peer: "ftplib" }, { peer: "basic-ftp", min: 1.0 }],
    }),
    smallRow(7, `${options.smallCount} files of ${formatSize(options.smallSize)} over FtpPool of 4 against one connection`, {
      work: "retr",
      count: options.smallCount,
      batch: 100,
      endpoint: ftp,
      contenders: ["FtpPool of 4", "ftpstream", EMPTY_POOL_TASK],
      note: `wall time of the downloads alone, 100 files each in turn; FtpPool of 4: pool.use(c => c.retrbinary(cmd, sink)) for all 100 at once; ftpstream: one connection, one after another; ${EMPTY_POOL_TASK}: pool.use(() => Promise.resolve()) 100 at a time on the same kind of pool, no FTP at all: the pool's own overhead per task`,
      ratioTargets: [{ subject: "FtpPool of 4", peer: "ftpstream", min: 1.6, serverBound: true }],
    }),
    smallRow(8, `${options.wanFiles} files of ${formatSize(options.smallSize)} through a ${options.wanDelay} ms delay each way (WAN)`, {
      work: "retr",
      count: options.wanFiles,
      batch: 10,
      ...throughWan,
      note: `through bench/delay-proxy.ts, which holds every chunk ${options.wanDelay} ms each way (data connections too) but cannot hold back TCP handshakes; 10 files each in turn; ftpstream, pipelined: the 10 of a turn issued at once on a client with pipelining: true (transfers still run one after another)`,
    }),
    smallRow(9, `${options.wanCommands} NOOPs through a ${options.wanDelay} ms delay each way (WAN)`, {
      work: "noop",
      count: options.wanCommands,
      batch: 40,
      ...throughWan,
      note: "through the same proxy; 40 each in turn; ftpstream, pipelined: the 40 of a turn issued at once with pipelining: true",
    }),
    smallRow(10, `${options.noops} commands issued at once on one client`, {
      work: "noop",
      count: options.noops,
      batch: options.noops,
      endpoint: ftp,
      contenders: options.baseline
        ? [
            "ftpstream, pipelined",
            `${BASELINE}, pipelined`,
            "ftpstream, pipelined size()",
            `${BASELINE}, pipelined size()`,
            "by hand, pipelined",
          ]
        : ["ftpstream, pipelined", "ftpstream, pipelined size()", `ftpstream, pipelined, ${ONE_WINDOW}`, "by hand, pipelined", "ftpstream"],
      note: `all at once on a client with pipelining: true: NOOPs (sendcmd) and SIZE of one 4 KiB file (size()); ftpstream, pipelined, ${ONE_WINDOW}: the NOOPs on a client with pipelineWindow: ${options.noops}, all written at once as by hand does (reference, no target); by hand, pipelined: all the NOOPs written in one go on a plain socket, then their replies read (the limit; target: a NOOP's time ≤ 2.5× by hand's, a speed ratio ≥ 0.4); ftpstream: the same NOOPs one after another on a client without pipelining`,
      ratioTargets: options.baseline
        ? [
            { subject: "ftpstream, pipelined", peer: `${BASELINE}, pipelined`, min: 1.0 },
            { subject: "ftpstream, pipelined size()", peer: `${BASELINE}, pipelined size()`, min: 1.0 },
            { subject: "ftpstream, pipelined", peer: "by hand, pipelined", min: 0.4 },
            { subject: `${BASELINE}, pipelined`, peer: "by hand, pipelined" },
          ]
        : [
            { subject: "ftpstream, pipelined", peer: "ftpstream", min: 10, serverBound: true },
            { subject: "ftpstream, pipelined size()", peer: "ftpstream", min: 10, serverBound: true },
            { subject: "by hand, pipelined", peer: "ftpstream", serverBound: true },
            { subject: "ftpstream, pipelined", peer: "by hand, pipelined", min: 0.4 },
            { subject: "ftpstream, pipelined size()", peer: "by hand, pipelined" },
            { subject: `ftpstream, pipelined, ${ONE_WINDOW}`, peer: "by hand, pipelined" },
          ],
    }),
    smallRow(11, `${options.smallCount} files of ${formatSize(options.smallSize)} issued at once on one pipelined client`, {
      work: "retr",
      count: options.smallCount,
      batch: options.smallCount,
      endpoint: ftp,
      contenders: options.baseline
        ? ["ftpstream, pipelined", `${BASELINE}, pipelined`, "by hand, pipelined", "ftplib"]
        : ["ftpstream, pipelined", `ftpstream, pipelined, ${WRITTEN_AHEAD}`, "by hand, pipelined", "ftplib", "ftpstream"],
      note: `ftpstream, pipelined: retrbinary(cmd, sink) for every file at once on a client with pipelining: true; ftpstream, pipelined, ${WRITTEN_AHEAD}: the same with writeAhead: true (each EPSV and RETR written behind the one in front's, on vsftpd); by hand, pipelined: per file EPSV and RETR written together on plain sockets, the data connection opened on the 229 (the same steps, no library); ftplib: its sequential retrbinary loop; ftpstream: one after another without pipelining`,
      ratioTargets: options.baseline
        ? [
            { subject: "ftpstream, pipelined", peer: `${BASELINE}, pipelined`, min: 1.0 },
            { subject: "ftpstream, pipelined", peer: "ftplib", min: 1.0, serverBound: true },
            { subject: `${BASELINE}, pipelined`, peer: "ftplib" },
            { subject: "ftpstream, pipelined", peer: "by hand, pipelined" },
          ]
        : [
            { subject: "ftpstream, pipelined", peer: "ftplib", min: 1.0, serverBound: true },
            { subject: `ftpstream, pipelined, ${WRITTEN_AHEAD}`, peer: "ftplib" },
            { subject: "ftpstream, pipelined", peer: "ftpstream" },
            { subject: "by hand, pipelined", peer: "ftplib" },
            { subject: "ftpstream, pipelined", peer: "by hand, pipelined" },
          ],
    }),
    freshRow(14, `${options.smallCount} files of ${formatSize(options.smallSize)} one after another from a fresh process's first file`, {
      count: options.smallCount,
      from: 0,
      min: 0.9,
    }),
    freshRow(
      15,
      `a long job: files ${4 * options.smallCount + 1}-${5 * options.smallCount} of ${formatSize(options.smallSize)} in a fresh process`,
      {
        count: 5 * options.smallCount,
        from: 4 * options.smallCount,
        min: 0.95,
      },
    ),
  ].filter((row) => options.rows.has(row.id)) as Row[];
}

// ---------------------------------------------------------------------------
// Running and reporting

interface ContenderReport {
  name: string;
  samples: number[];
  median: number;
  /** Median wall time of the samples, ms. */
  medianMs: number;
  /** Median peak RSS of the child, MiB (0 for curl, not measured). */
  medianPeakRssMiB: number;
  /** Median CPU time (user + system) of the child, ms (0 for curl, not measured). */
  medianCpuMs: number;
  /** Median CPU time of the server over this contender's work, ms, where it is known. */
  medianServerCpuMs?: number;
  /** Median time the fresh-process rows' import of the client took, ms (before their clock). */
  medianLoadMs?: number;
}

interface RatioReport {
  subject: string;
  peer: string;
  /** subject speed ÷ peer speed in each run (> 1: subject faster). */
  samples: number[];
  median: number;
  /** null: no target, for reference only. */
  target: number | null;
  holds: boolean | null;
  /**
   * For a `serverBound` target where the server's CPU time is known: the
   * highest ratio the server's core allows, the median over runs of the
   * peer's time ÷ the server's CPU time for the subject's items. The server
   * has one core to itself, so no client makes it answer faster than that.
   */
  ceiling?: number;
}

interface LimitReport {
  contender: string;
  median: number;
  max: number;
  holds: boolean;
}

interface RowReport {
  id: number;
  title: string;
  unit: Unit;
  better: "higher" | "lower";
  note: string;
  /** Items per sample (files, round trips) for the per-item figures, if the row has them. */
  count?: number;
  contenders: ContenderReport[];
  ratios: RatioReport[];
  limits: LimitReport[];
}

interface Report {
  date: string;
  machine: Machine;
  server: { kind: string; label: string; fallbackReason?: string };
  /** "server on core 0, clients on core 1", or why not. */
  pinning: string;
  options: {
    runs: number;
    quick: boolean;
    bigSize: number;
    smallCount: number;
    smallSize: number;
    noops: number;
    wanFiles: number;
    wanCommands: number;
    wanDelayMs: number;
    slowRateMiBps: number;
    highWaterMark: number | null;
    warmPasses: number;
  };
  rows: RowReport[];
  durationSeconds: number;
}

async function runRow(row: Row, runs: number): Promise<RowReport> {
  const samples = new Map<string, number[]>(row.contenders.map((c) => [c.name, []]));
  const results = new Map<string, TaskResult[]>(row.contenders.map((c) => [c.name, []]));
  await row.setup?.();
  try {
    for (let run = 0; run < runs; run++) {
      // Rotate who goes first, so drift (page cache, CPU clocks) spreads evenly.
      const order = row.contenders.map((_, i) => row.contenders[(i + run) % row.contenders.length]);
      const line: string[] = [];
      const together = await row.paired?.(run);
      for (const contender of order) {
        const sample = together ? together.get(contender.name)! : await contender.sample(run);
        samples.get(contender.name)!.push(sample.value);
        results.get(contender.name)!.push(sample.result);
        line.push(`${contender.name} ${sample.value.toFixed(row.unit === "MiB/s" ? 0 : 1)}`);
      }
      log(`  row ${row.id} run ${run + 1}/${runs}: ${line.join(", ")} ${row.unit}`);
    }
  } finally {
    row.teardown?.();
  }
  const speed = (value: number): number => (row.better === "higher" ? value : 1 / value);
  const ratios: RatioReport[] = row.ratioTargets.map(({ subject = "ftpstream", peer, min, serverBound }) => {
    const peerSamples = samples.get(peer)!;
    const perRun = samples.get(subject)!.map((value, run) => speed(value) / speed(peerSamples[run]));
    const m = median(perRun);
    const report: RatioReport = {
      subject,
      peer,
      samples: perRun,
      median: m,
      target: min ?? null,
      holds: min === undefined ? null : m >= min,
    };
    const server = results.get(subject)!.map((r) => r.serverCpuMs);
    // A bound only while the server has its core to itself: unpinned, its sessions may run on several at once.
    if (serverBound && clientCore !== undefined && server.every((ms) => ms !== undefined && ms > 0))
      report.ceiling = median(results.get(peer)!.map((r, run) => r.ms / server[run]!));
    return report;
  });
  const contenders = row.contenders.map((c): ContenderReport => ({
    name: c.name,
    samples: samples.get(c.name)!,
    median: median(samples.get(c.name)!),
    medianMs: median(results.get(c.name)!.map((r) => r.ms)),
    medianPeakRssMiB: median(results.get(c.name)!.map((r) => r.peakRss / MiB)),
    medianCpuMs: median(results.get(c.name)!.map((r) => r.cpuMs)),
    medianLoadMs: results.get(c.name)!.every((r) => r.loadMs !== undefined)
      ? median(results.get(c.name)!.map((r) => r.loadMs!))
      : undefined,
    medianServerCpuMs: results.get(c.name)!.every((r) => r.serverCpuMs !== undefined)
      ? median(results.get(c.name)!.map((r) => r.serverCpuMs!))
      : undefined,
  }));
  const limits = row.limitTargets.map(({ contender, max }): LimitReport => {
    const m = contenders.find((c) => c.name === contender)!.median;
    return { contender, median: m, max, holds: m < max };
  });
  return {
    id: row.id,
    title: row.title,
    unit: row.unit,
    better: row.better,
    note: row.note,
    count: row.count,
    contenders,
    ratios,
    limits,
  };
}

function render(report: Report): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`ftpstream bench, ${report.date}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; node ${m.node}; ${m.curl}; basic-ftp ${m.basicFtp}`);
  out.push(`server:  ${report.server.label}${report.server.fallbackReason ? ` — vsftpd not used: ${report.server.fallbackReason}` : ""}`);
  out.push(`pinning: ${report.pinning}`);
  out.push(
    `runs:    ${report.options.runs} per row (medians; ratios taken run by run)${report.options.quick ? ", --quick sizes" : ""}` +
      `${report.options.highWaterMark ? `, highWaterMark ${report.options.highWaterMark}` : ""}` +
      `${report.options.warmPasses !== 1 ? `, ${report.options.warmPasses} uncounted passes before each counted one in rows 4-11` : ""}`,
  );
  out.push("");
  // One table for all rows, so the columns line up; each row's title sits on its own line above its contenders.
  const cells: string[][] = [["", "contender", "median", "min..max", "ratio", "target", "", ""]];
  const titles = new Map<number, string>();
  const digits = (unit: Unit): number => (unit === "MiB" ? 1 : 0);
  const verdict = (holds: boolean | null | undefined): string => (holds == null ? "" : holds ? "holds" : "MISSED");
  for (const row of report.rows) {
    titles.set(cells.length, `${row.id}. ${row.title} (${row.unit}, ${row.better} is better)`);
    for (const c of row.contenders) {
      const d = digits(row.unit);
      const limit = row.limits.find((l) => l.contender === c.name);
      let extra = "";
      if (row.id === 3 && c.name.startsWith("download")) extra = `took ${(c.medianMs / 1000).toFixed(1)} s`;
      if (row.count) {
        extra = `${((c.median * 1000) / row.count).toFixed(0)} µs each, CPU ${((c.medianCpuMs * 1000) / row.count).toFixed(0)} µs each`;
        if (c.medianServerCpuMs !== undefined) extra += `, server CPU ${((c.medianServerCpuMs * 1000) / row.count).toFixed(0)} µs each`;
        if (c.medianLoadMs) extra += `, import ${c.medianLoadMs.toFixed(0)} ms`;
      }
      if (row.id <= 2 && c.medianPeakRssMiB > 0)
        extra = `CPU ${c.medianCpuMs.toFixed(0)} ms, peak RSS ${c.medianPeakRssMiB.toFixed(0)} MiB`;
      cells.push([
        "",
        c.name,
        `${c.median.toFixed(d)} ${row.unit}`,
        `${Math.min(...c.samples).toFixed(d)}..${Math.max(...c.samples).toFixed(d)}`,
        "",
        limit ? `< ${limit.max} MiB` : "",
        limit ? verdict(limit.holds) : "",
        extra,
      ]);
    }
    // Speed ratios, taken run by run: above 1, the subject is faster.
    for (const r of row.ratios) {
      cells.push([
        "",
        `  ${r.subject} ÷ ${r.peer}`,
        "",
        `${Math.min(...r.samples).toFixed(2)}..${Math.max(...r.samples).toFixed(2)}`,
        r.median.toFixed(2),
        r.target != null ? `≥ ${r.target.toFixed(2)}` : "",
        verdict(r.holds),
        r.ceiling !== undefined ? `the server's core allows at most ${r.ceiling.toFixed(2)}` : "",
      ]);
    }
  }
  const lines = table(cells, [0, 1, 6, 7]).split("\n");
  lines.forEach((line, i) => {
    const title = titles.get(i);
    if (title) out.push(title);
    out.push(line);
  });
  out.push("");
  for (const row of report.rows) out.push(`${row.id}: ${row.note}`);
  const all = report.rows.flatMap((r) => [
    ...r.ratios.flatMap((x) => (x.holds === null ? [] : [x.holds])),
    ...r.limits.map((x) => x.holds),
  ]);
  out.push("");
  out.push(`targets held: ${all.filter(Boolean).length} of ${all.length}; took ${report.durationSeconds.toFixed(0)} s`);
  return out.join("\n");
}

async function runTable(options: Options): Promise<void> {
  const started = performance.now();
  log(`starting the server and writing a ${formatSize(options.bigSize)} file and ${options.smallCount} small files...`);
  const server = await startBenchServer({
    bigSize: options.bigSize,
    smallCount: options.smallCount,
    smallSize: options.smallSize,
    forceFixture: options.forceFixture,
  });
  log(`server: ${server.label}${server.fallbackReason ? ` (${server.fallbackReason})` : ""}`);
  const pinned = os.cpus().length >= 2 && server.pin(0);
  if (pinned) clientCore = 1;
  log(pinned ? "pinned: server on core 0, clients on core 1 (taskset)" : "not pinned: one core, or no taskset");
  const reports: RowReport[] = [];
  try {
    for (const row of rows(options, server)) {
      log(`row ${row.id}: ${row.title}`);
      reports.push(await runRow(row, options.runs));
    }
  } finally {
    await server.stop();
  }
  const report: Report = {
    date: new Date().toISOString(),
    machine: machine(),
    server: { kind: server.kind, label: server.label, fallbackReason: server.fallbackReason },
    pinning: pinned ? "server on core 0, clients on core 1 (taskset)" : "none (one core, or taskset failed)",
    options: {
      runs: options.runs,
      quick: options.quick,
      bigSize: options.bigSize,
      smallCount: options.smallCount,
      smallSize: options.smallSize,
      noops: options.noops,
      wanFiles: options.wanFiles,
      wanCommands: options.wanCommands,
      wanDelayMs: options.wanDelay,
      slowRateMiBps: options.slowRate / MiB,
      highWaterMark: options.highWaterMark ?? null,
      warmPasses: options.warmPasses,
    },
    rows: reports,
    durationSeconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${render(report)}\n`);
  // The tree-download row brings its own server and tree (bench/dirs.ts; alone: node build/bench/dirs.js).
  // A --baseline run compares two builds on rows 4 and 6 only.
  if (!options.json && !options.baseline)
    process.stdout.write(`${formatDirsReport(await runDirsBench(options.quick ? 1 : options.runs)).join("\n")}\n`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (ALL_ROWS.some((id) => options.rows.has(id))) await runTable(options);
  // Like the tree download: text after the table, not in a --baseline run (JSON only when it runs alone).
  // Row 12 the same way, at its own 10 ms each way (issue 23's link; not --delay, which is rows 8 and 9's).
  if (options.rows.has(WAN_TREE_ROW) && !options.baseline && (!options.json || options.rows.size === 1)) {
    const report = await runWanTreeBench({ runs: options.quick ? 1 : Math.min(options.runs, 3), quick: options.quick });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatWanTreeReport(report).join("\n")}\n`);
  }
  if (options.rows.has(QUEUE_ROW) && !options.baseline && (!options.json || options.rows.size === 1)) {
    const report = await runQueueBench({ runs: options.quick ? 1 : Math.min(options.runs, 3), quick: options.quick });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatQueueReport(report).join("\n")}\n`);
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
