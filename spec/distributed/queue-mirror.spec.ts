/**
 * Issue 25: a mirror spread over worker processes on BullMQ and Redis,
 * against a real vsftpd and a real redis-server, both on loopback. The
 * queue and workers are the built CLI (`build/lib/cli.js mirror … --queue`
 * and `worker …`) in child processes.
 *
 * What is transferred how often is read from vsftpd's own log (one
 * `OK DOWNLOAD` / `OK UPLOAD` line per completed transfer, with its path),
 * not from the client: a RETR counted there happened on the wire.
 *
 * Sizes: 500 files of 0-16 KiB in 20 directories (about 4 MB), so the
 * three workers, Redis and vsftpd fit two cores in well under a minute.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { startCli, type RunningCli } from "../cli/run-cli.js";
import { IN_CI } from "../interop/describe-server.js";
import { findServer, startServer, FTP_PASSWORD, FTP_USER, type RealServer } from "../interop/servers.js";
import { connectionSampler } from "./open-connections.js";
import { findRedis, startRedis, type RedisServer } from "./redis-server.js";

const FILES = 500;

/** `count` files of 0-16 KiB in 20 directories, owned by the account vsftpd writes as; sha256 by path. */
async function makeTree(root: string, count: number, uid?: number, gid?: number): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const rel = `d${i % 4}/s${Math.floor(i / 4) % 5}/f${i}.bin`;
    const bytes = randomBytes((i * 331) % 16384);
    await fs.mkdir(path.join(root, path.dirname(rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), bytes);
    const time = new Date(Date.UTC(2024, 0, 2, 3, 4, 5) + i * 61_000);
    await fs.utimes(path.join(root, rel), time, time);
    digests.set(rel, createHash("sha256").update(bytes).digest("hex"));
  }
  if (uid !== undefined && gid !== undefined) {
    for (const entry of await below(root)) await fs.chown(path.join(root, entry), uid, gid);
    await fs.chown(root, uid, gid);
  }
  return digests;
}

/**
 * Every path below `root`, relative to it. By hand: readdir's `recursive`
 * needs Node 18.17, and the specs run on 18.3 too (npm run test:node18).
 */
async function below(root: string, dir = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await below(root, rel)));
  }
  return out;
}

/** sha256 of every file below `root` by relative path, part files included (so a spec can see one). */
async function digestsOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await below(root)) {
    const full = path.join(root, rel);
    if (!(await fs.lstat(full)).isFile()) continue;
    out.set(
      path.relative(root, full).split(path.sep).join("/"),
      createHash("sha256")
        .update(await fs.readFile(full))
        .digest("hex"),
    );
  }
  return out;
}

/** Completed transfers per path from vsftpd's log: `OK DOWNLOAD: Client "…", "/path", n bytes`. */
function transfersOf(server: RealServer, kind: "DOWNLOAD" | "UPLOAD"): Map<string, number> {
  const counts = new Map<string, number>();
  const log = readFileSync(server.logFiles[0], "utf8");
  for (const match of log.matchAll(new RegExp(`OK ${kind}: Client "[^"]*", "([^"]*)"`, "g"))) {
    counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return counts;
}

const missing = [findRedis(), findServer("vsftpd")].filter((found) => !found.found);

describe("mirror over a job queue (BullMQ on redis-server, vsftpd, worker processes)", function () {
  this.timeout(120_000);
  let redis: RedisServer;
  let server: RealServer;
  let work: string;
  const running: RunningCli[] = [];

  before(async function () {
    if (missing.length > 0) {
      if (IN_CI) throw new Error(`CI=true and ${missing.map((m) => m.why).join("; ")}`);
      this.skip();
    }
    [redis, server] = await Promise.all([startRedis(), startServer("vsftpd")]);
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-queue-"));
  });

  afterEach(async function () {
    for (const { child } of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  after(async function () {
    await Promise.all([redis?.stop(), server?.stop(), work && fs.rm(work, { recursive: true, force: true })]);
  });

  function cli(args: string[]): RunningCli {
    const run = startCli(args);
    running.push(run);
    return run;
  }

  const ftpUrl = (remote: string): string => `ftp://${FTP_USER}:${FTP_PASSWORD}@127.0.0.1:${server.port}/${remote}`;
  /** What every worker must be given: the server (without its login) and the local tree. */
  const bounds = (local: string): string[] => ["--server", `ftp://127.0.0.1:${server.port}`, "--local-root", local];

  it("downloads 500 files over 3 workers, one killed mid-run: every file byte-exact, no part file, none fetched again once complete, a refused file failed alone", async function () {
    const source = path.join(server.home, "tree");
    const want = await makeTree(source, FILES);
    // One file the server refuses (root's, mode 0600: vsftpd runs as the ftpstream account).
    await fs.writeFile(path.join(source, "d0/secret.bin"), "no");
    await fs.chmod(path.join(source, "d0/secret.bin"), 0o600);
    const local = path.join(work, "down");
    const queue = redis.url("down");

    const enqueue = cli(["mirror", ftpUrl("tree"), local, "--queue", queue]);
    expect(await enqueue.exit, enqueue.lines.join("\n")).to.equal(0);
    expect(enqueue.lines.join("\n")).to.match(new RegExp(`enqueued ${FILES + 1} files`));

    const sampler = connectionSampler(server.port);
    const worker = (): RunningCli =>
      cli(["worker", queue, "--concurrency", "3", "--max-connections", "6", "--lock-ms", "4000", "--until-drained", ...bounds(local)]);
    const workers = [worker(), worker(), worker()];
    // The first worker to have done 40 files is killed, with jobs in flight.
    const done = (lines: string[]): number => lines.filter((line) => /^(transferred|skipped) /.test(line)).length;
    const victim = await Promise.race(workers.map((w) => w.waitFor((lines) => done(lines) >= 40).then(() => w)));
    victim.child.kill("SIGKILL");
    await victim.exit;
    const started = new Set(victim.lines.filter((l) => l.startsWith("start ")).map((l) => l.split(" ")[2]));
    // A failed or retry line has a colon after the path (`failed <id> <path>: <reason>`).
    const finished = new Set(
      victim.lines.filter((l) => /^(transferred|skipped|failed|retry) /.test(l)).map((l) => l.split(" ")[2].replace(/:$/, "")),
    );
    const inFlight = [...started].filter((p) => !finished.has(p));
    expect(inFlight.length, victim.lines.slice(-10).join("\n")).to.be.greaterThan(0);

    const survivors = workers.filter((w) => w !== victim);
    const codes = await Promise.all(survivors.map((w) => w.exit));
    const most = sampler.stop();
    // 3 from the survivor that failed the refused file (none when the killed worker did), else 0.
    const failedSecret = (w: RunningCli): boolean => w.lines.some((line) => /^failed \w+ d0\/secret\.bin: /.test(line));
    expect(codes, survivors[0].lines.slice(-10).join("\n")).to.deep.equal(survivors.map((w) => (failedSecret(w) ? 3 : 0)));

    // Every file arrived, byte for byte, and nothing else: no part file.
    const got = await digestsOf(local);
    expect([...got.keys()].filter((p) => p.includes("ftpstream-part"))).to.deep.equal([]);
    expect(got).to.deep.equal(want);

    // Fetched again only where the killed worker was in the middle of it.
    const retrs = transfersOf(server, "DOWNLOAD");
    for (const rel of want.keys()) expect(retrs.get(`/tree/${rel}`) ?? 0, rel).to.be.at.least(1);
    const twice = [...retrs].filter(([, n]) => n > 1).map(([p]) => p.replace(/^\/tree\//, ""));
    const story = (p: string): string =>
      workers
        .flatMap((w, i) =>
          w.lines.filter((line) => line.includes(` ${p}`)).map((line) => `worker ${i}${w === victim ? " (killed)" : ""}: ${line}`),
        )
        .join("\n");
    const unexpected = twice.filter((p) => !inFlight.includes(p));
    expect(unexpected, `in flight: ${inFlight.join(", ")}\n${unexpected.map(story).join("\n")}`).to.deep.equal([]);
    // The killed worker's jobs were taken over by the others, unless it had
    // finished one already: BullMQ marks a job done before the worker prints
    // "transferred", so a kill in between leaves a done job that looks in
    // flight. Such a file was fetched and is in place (checked above), and
    // the queue holds nothing active (checked below): none is left hanging.
    const others = survivors.flatMap((w) => w.lines);
    for (const p of inFlight) {
      const takenOver = others.some((line) => line.endsWith(` ${p}`) || line.includes(` ${p} `));
      const doneBeforeKill = (retrs.get(`/tree/${p}`) ?? 0) >= 1 && got.get(p) === want.get(p);
      expect(takenOver || doneBeforeKill, `${p}\n${story(p)}`).to.equal(true);
    }

    // The refused file failed at once (a 550 comes again on every attempt), with the server's reply recorded.
    const bull = new Queue<{ path: string }>("down", { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const failed = await bull.getFailed();
      expect(failed.map((job) => job.data.path)).to.deep.equal(["d0/secret.bin"]);
      expect(failed[0].attemptsMade).to.equal(1);
      expect(failed[0].failedReason).to.match(/^ERR_FTP_PERM: 550 /);
      const counts = await bull.getJobCounts("waiting", "active", "delayed", "completed");
      expect([counts.waiting, counts.active, counts.delayed, counts.completed]).to.deep.equal([0, 0, 0, 0]);
    } finally {
      await bull.close();
    }
    // The summary the survivors print when the queue drains.
    const summary = survivors[1].lines.find((line) => line.startsWith("summary: "));
    const [transferred, skipped, failedCount] = summary!.match(/\d+/g)!.map(Number);
    expect(transferred + skipped).to.equal(FILES);
    expect(failedCount).to.equal(1);
    // --max-connections 6 across the three workers (3 × 3 jobs at once).
    expect(most).to.be.within(1, 6);

    // A second run over the unchanged tree enqueues nothing (the refused file is still listed, and failed: it is enqueued again).
    await fs.rm(path.join(source, "d0/secret.bin"));
    const again = cli(["mirror", ftpUrl("tree"), local, "--queue", queue]);
    expect(await again.exit, again.lines.join("\n")).to.equal(0);
    expect(again.lines.join("\n")).to.match(new RegExp(`enqueued 0 files \\(0 bytes\\), ${FILES} unchanged`));
  });

  it("uploads a tree over 2 workers: byte-exact on the server, no part file left there, a second run enqueues nothing", async function () {
    const local = path.join(work, "up");
    const want = await makeTree(local, 120);
    const queue = redis.url("up");
    const enqueue = cli(["mirror", local, ftpUrl("uploaded"), "--queue", queue]);
    expect(await enqueue.exit, enqueue.lines.join("\n")).to.equal(0);
    expect(enqueue.lines.join("\n")).to.match(/enqueued 120 files/);
    const workers = [0, 1].map(() =>
      cli(["worker", queue, "--concurrency", "4", "--lock-ms", "2000", "--until-drained", ...bounds(local)]),
    );
    expect(await Promise.all(workers.map((w) => w.exit))).to.deep.equal([0, 0]);
    const got = await digestsOf(path.join(server.home, "uploaded"));
    expect(got).to.deep.equal(want);
    // Each file went up once, under its part name, and was renamed into place.
    const stors = transfersOf(server, "UPLOAD");
    for (const rel of want.keys()) {
      const part = `/uploaded/${path.posix.dirname(rel)}/.${path.posix.basename(rel)}.ftpstream-part`;
      expect(stors.get(part), rel).to.equal(1);
    }
    const again = cli(["mirror", local, ftpUrl("uploaded"), "--queue", queue]);
    expect(await again.exit, again.lines.join("\n")).to.equal(0);
    expect(again.lines.join("\n")).to.match(/enqueued 0 files \(0 bytes\), 120 unchanged/);
  });
});
