/**
 * A queue job that cannot succeed fails on its first attempt, and a job
 * that may succeed later is still tried again. Before, every failure took
 * all of BullMQ's attempts (3, backoff from 1 s): a refused login was
 * sent three times per job (an account that locks after a few refused
 * logins was locked by one run), and a path the worker refuses, or a
 * directory in the way, was refused three times. And a job failed before
 * its last attempt was not counted: the summary (and `mirror --queue
 * --wait`'s exit status) said 0 failed.
 *
 * Against a real redis-server and the fixture FTP server, both on
 * loopback; `mirror --queue --wait` and `worker --until-drained` are the
 * CLI's own functions (enqueueCommand, workerCommand) in this process.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP } from "../../lib/client.js";
import { enqueueCommand, type QueueSummary, type WorkerSummary, workerCommand } from "../../lib/queue-cli.js";
import { TREE_JOB_NAME, type TreeJob } from "../../lib/queue-jobs.js";
import { parseFtpUrl } from "../../lib/url.js";
import { startAliceServer, useQueues, useRedis } from "./redis-server.js";

const SECRET = "s3cret";
describe("queue jobs: failures a new attempt cannot cure fail at once, the others are tried again (redis-server, fixture FTP server)", function () {
  this.timeout(30_000);
  let server: FixtureServer;
  let dir: string;

  const redis = useRedis();

  beforeEach(async () => {
    server = await startAliceServer(SECRET);
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-failures-"));
  });

  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const queueOf = useQueues(redis);

  /** A client of the fixture server, logged in as alice with `password`. */
  const login = (password: string): Promise<FTP> =>
    FTP.create({ host: server.host, port: server.port, user: "alice", password, timeout: 5000 });

  /**
   * `mirror ftp://alice@…/t <local> --queue <name> --wait` (the jobs name
   * alice, no password), with `beforeWork` run once the jobs are in the
   * queue, then `worker <name> --until-drained` with `password`. Resolves
   * to both summaries and the worker's lines.
   */
  async function mirrorAndWork(
    name: string,
    local: string,
    worker: { password: string; concurrency?: number; beforeWork?: () => void },
  ): Promise<{ mirrored: QueueSummary | undefined; worked: WorkerSummary; lines: string[] }> {
    const planner = await login(SECRET);
    try {
      let enqueued!: () => void;
      const added = new Promise<void>((resolve) => (enqueued = resolve));
      const mirror = enqueueCommand({
        queue: redis().url(name),
        direction: "download",
        server: `ftp://alice@${server.host}:${server.port}`,
        remote: "/t",
        local,
        planner,
        wait: true,
        log: (line) => void (line.startsWith("enqueued 2 files") && enqueued()),
      });
      await Promise.race([added, mirror]);
      worker.beforeWork?.();
      const lines: string[] = [];
      const worked = await workerCommand({
        queue: redis().url(name),
        connect: () => login(worker.password),
        servers: [`ftp://${server.host}:${server.port}`],
        localRoots: [local],
        concurrency: worker.concurrency,
        untilDrained: true,
        lockMs: 2000,
        log: (line) => void lines.push(line),
      });
      return { mirrored: (await mirror).summary, worked, lines };
    } finally {
      await planner.quit();
    }
  }

  it("a refused login (530) fails each job on its first attempt, one PASS per job, with the reply and its code as the reason, and counts it failed", async () => {
    const before = server.commands.length;
    const { mirrored, worked, lines } = await mirrorAndWork("refused", join(dir, "down"), { password: "wrong" });

    const passes = server.commands.slice(before).filter((line) => line === "PASS wrong");
    expect(passes, "refused logins sent").to.have.length(2);
    const failed = await queueOf("refused").getFailed();
    expect(failed.map((job) => job.data.path).sort()).to.deep.equal(["a.txt", "sub/b.txt"]);
    for (const job of failed) {
      expect(job.attemptsMade, job.data.path).to.equal(1);
      expect(job.failedReason).to.equal("ERR_FTP_PERM: 530 Login incorrect.");
    }
    const reported = lines.filter((line) => /^(failed|retry) /.test(line)).sort();
    expect(reported).to.have.length(2);
    for (const line of reported) expect(line).to.match(/^failed \w+ (a\.txt|sub\/b\.txt): ERR_FTP_PERM: 530 Login incorrect\.$/);
    // Counted: the worker's summary and its own failures (its exit status 3), and mirror --wait's (exit status 3).
    const summary = { transferred: 0, skipped: 0, failed: 2, bytes: 0 };
    expect(worked).to.deep.equal({ ...summary, failedHere: 2 });
    expect(mirrored).to.deep.equal(summary);
  });

  it("a directory in the way of a download, and a file in the way of its directory, fail at once before any RETR", async () => {
    const local = join(dir, "down");
    const { worked, lines } = await mirrorAndWork("in-the-way", local, {
      password: SECRET,
      beforeWork: () => {
        // Put there after the jobs were planned, as another program would.
        mkdirSync(join(local, "a.txt"), { recursive: true });
        writeFileSync(join(local, "a.txt", "kept"), "mine\n");
        writeFileSync(join(local, "sub"), "a file\n");
      },
    });

    expect(server.commands.filter((line) => line.startsWith("RETR "))).to.deep.equal([]);
    const failed = await queueOf("in-the-way").getFailed();
    const reasons = Object.fromEntries(failed.map((job) => [job.data.path, [job.attemptsMade, job.failedReason]]));
    expect(reasons).to.deep.equal({
      "a.txt": [1, 'ERR_FTP_BAD_PATH: refusing to replace "a.txt": it is a directory in the target'],
      "sub/b.txt": [1, 'ERR_FTP_BAD_PATH: refusing to write below "sub": it is not a directory'],
    });
    expect(lines.filter((line) => line.startsWith("retry "))).to.deep.equal([]);
    expect(worked).to.deep.equal({ transferred: 0, skipped: 0, failed: 2, bytes: 0, failedHere: 2 });
    expect(readFileSync(join(local, "a.txt", "kept"), "utf8")).to.equal("mine\n");
  });

  it("a job whose server is not an FTP URL, or that is no tree job, fails at once with ERR_FTP_BAD_JOB, saying why without the URL's password", async () => {
    const hidden = "url-pa55word";
    const name = "bad-jobs";
    const queue = queueOf(name);
    const job = (path: string, server: string, v = 1): TreeJob =>
      ({ v, direction: "download", server, remote: "/t", local: join(dir, "down"), path, size: 6, modified: null }) as TreeJob;
    // As enqueueTree adds them: 3 attempts, backoff from 1 s.
    const opts = { attempts: 3, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: true, removeOnFail: false };
    await queue.addBulk([
      { name: TREE_JOB_NAME, data: job("a.txt", `http://alice:${hidden}@${server.host}:${server.port}`), opts },
      { name: TREE_JOB_NAME, data: job("b.txt", `ftp://alice:${hidden}@[${server.host}:${server.port}`), opts },
      // v 2 is a job bounded by maxFileSize; 3 is no version yet.
      { name: TREE_JOB_NAME, data: job("c.txt", `ftp://alice:${hidden}@${server.host}:${server.port}`, 3), opts },
    ]);
    const sessions = server.sessions.length;
    const lines: string[] = [];
    // What the CLI's worker does with a job's server.
    const connect = (text: string): Promise<FTP> => {
      const url = parseFtpUrl(text);
      return FTP.create({ host: url.host, port: url.port, user: url.user, password: url.password, timeout: 5000 });
    };
    const worked = await workerCommand({
      queue: redis().url(name),
      connect,
      servers: [`ftp://${server.host}:${server.port}`],
      localRoots: [dir],
      untilDrained: true,
      lockMs: 2000,
      log: (line) => void lines.push(line),
    });

    // Before, the first two failed with TypeErrors from connect and new URL(), each attempt: 3 attempts per job.
    const failed = await queue.getFailed();
    const reasons = Object.fromEntries(failed.map((failure) => [failure.data.path, [failure.attemptsMade, failure.failedReason]]));
    expect(reasons).to.deep.equal({
      "a.txt": [1, "ERR_FTP_BAD_JOB: refusing the job's server: not an FTP URL (ftp://, ftpes://, ftps://): http:"],
      "b.txt": [1, "ERR_FTP_BAD_JOB: refusing the job's server: not a URL"],
      "c.txt": [1, 'ERR_FTP_BAD_JOB: not a tree job this version can run (v 3, direction "download")'],
    });
    // The password is nowhere: not in the reasons, the stack traces BullMQ keeps, or the worker's lines (the last one echoed the whole job).
    const said = [...failed.flatMap((failure) => [failure.failedReason, ...(failure.stacktrace ?? [])]), ...lines].join("\n");
    expect(said).to.include("refusing the job's server").and.not.include(hidden);
    expect(server.sessions.length, "a connection to the FTP server").to.equal(sessions);
    expect(worked).to.deep.equal({ transferred: 0, skipped: 0, failed: 3, bytes: 0, failedHere: 3 });
  });

  it("a 530 saying the server holds too many connections, and a 450, are tried again and the jobs complete", async () => {
    const local = join(dir, "down");
    // One job at a time: the refused login is the only connection, so the pool cannot wait for another instead.
    const { mirrored, worked, lines } = await mirrorAndWork("transient", local, {
      password: SECRET,
      concurrency: 1,
      beforeWork: () => {
        // The worker's first login, and its first RETR.
        server.once("PASS", (s) => s.reply(530, "Sorry, the maximum number of clients (3) for this user are already connected."));
        server.once("RETR", (s) => s.reply(450, "Try again later."));
      },
    });

    const retries = lines.filter((line) => line.startsWith("retry ")).map((line) => line.replace(/^retry \w+ \S+: /, ""));
    expect(retries.sort()).to.deep.equal([
      "450 Try again later.",
      "530 Sorry, the maximum number of clients (3) for this user are already connected.",
    ]);
    const summary = { transferred: 2, skipped: 0, failed: 0, bytes: 11 };
    // Failed attempts that a later one cured are not failures of the worker's (its exit status stays 0).
    expect(worked).to.deep.equal({ ...summary, failedHere: 0 });
    expect(mirrored).to.deep.equal(summary);
    expect(readFileSync(join(local, "sub/b.txt"), "utf8")).to.equal("beta\n");
    expect(await queueOf("transient").getFailed()).to.deep.equal([]);
  });
});
