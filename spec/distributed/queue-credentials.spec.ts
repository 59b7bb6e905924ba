/**
 * `mirror --queue` and `worker` with the password off the command line and
 * out of Redis: when it comes from a netrc file or FTPSTREAM_PASSWORD, the
 * jobs name the server and user only, and each worker finds the password
 * itself (its own --netrc or --env-password). Against a real redis-server
 * and the fixture FTP server, both on loopback; the queue and workers are
 * the built CLI in child processes, each with an environment built here.
 *
 * That no password reached Redis is read back from Redis itself: every
 * value of every key (jobs, events, failed reasons, the summary), not just
 * the jobs' data.
 *
 * And Redis's own password off the command line: a queue URL without one
 * takes REDISCLI_AUTH, as redis-cli does (before, only
 * `redis://:password@host/name` could give it, which `ps` shows).
 */
import { expect } from "chai";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { runCli } from "../cli/run-cli.js";
import { startAliceServer, useQueues, useRedis } from "./redis-server.js";

const SECRET = "qu3ue-s3cret";

/** The commands of ioredis used here (the Queue's own connection). */
interface RedisReader {
  keys(pattern: string): Promise<string[]>;
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  smembers(key: string): Promise<string[]>;
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  xrange(key: string, start: string, end: string): Promise<unknown[]>;
}

/** Every key and value in Redis, as text: each key's type read with the command that reads it whole. */
async function everything(redis: RedisReader): Promise<string> {
  const parts: string[] = [];
  for (const key of await redis.keys("*")) {
    const type = await redis.type(key);
    // Gone since KEYS listed it: BullMQ's stalled-check key lives for its interval only (a worker's may run out between the two).
    if (type === "none") continue;
    parts.push(key);
    if (type === "string") parts.push((await redis.get(key)) ?? "");
    else if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === "list") parts.push(...(await redis.lrange(key, 0, -1)));
    else if (type === "set") parts.push(...(await redis.smembers(key)));
    else if (type === "zset") parts.push(...(await redis.zrange(key, 0, -1)));
    else if (type === "stream") parts.push(JSON.stringify(await redis.xrange(key, "-", "+")));
    else throw new Error(`key ${key} has a type this spec cannot read: ${type}`);
  }
  return parts.join("\n");
}

describe("mirror --queue and worker with the password from netrc or the environment (redis-server, fixture FTP server)", function () {
  this.timeout(60_000);
  let server: FixtureServer;
  let dir: string;
  let home: string;

  const redis = useRedis();

  beforeEach(async () => {
    server = await startAliceServer(SECRET);
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-login-"));
    home = join(dir, "home");
    mkdirSync(home);
  });

  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const queueOf = useQueues(redis);
  const netrc = (name: string): string => {
    const file = join(dir, name);
    writeFileSync(file, `machine ${server.host}\n  login alice\n  password ${SECRET}\n`);
    chmodSync(file, 0o600);
    return file;
  };
  const url = (user: string, path: string): string => `ftp://${user}@${server.host}:${server.port}/${path}`;
  const passes = (): string[] => server.commands.filter((line) => line.startsWith("PASS "));
  /** What every worker must be given: the fixture server and the spec's directory. */
  const bounds = (): string[] => ["--server", `ftp://${server.host}:${server.port}`, "--local-root", dir];

  it("jobs from a netrc login hold the user and no password anywhere in Redis; a worker with no password source fails each job before connecting; one with its own netrc moves every file", async () => {
    const enqueuerNetrc = netrc("enqueuer-netrc");
    const local = join(dir, "down");
    const enqueue = await runCli(
      ["mirror", url("alice", "t"), local, "--queue", redis().url("netrc-none"), "--netrc-file", enqueuerNetrc],
      { env: { HOME: home }, stdout: "ignore" },
    );
    expect(enqueue.code, enqueue.stderr).to.equal(0);
    expect(enqueue.stderr).to.include("enqueued 2 files").and.not.include("warning");
    const none = queueOf("netrc-none");
    const waiting = await none.getWaiting();
    expect(waiting.map((job) => job.data.path).sort()).to.deep.equal(["a.txt", "sub/b.txt"]);
    for (const job of waiting) expect(job.data.server).to.equal(`ftp://alice@${server.host}:${server.port}`);

    // A worker with neither --netrc nor --env-password (FTPSTREAM_PASSWORD in its environment is not read without the flag).
    const sessions = server.sessions.length;
    const bare = await runCli(["worker", redis().url("netrc-none"), "--until-drained", "--lock-ms", "2000", ...bounds()], {
      env: { HOME: home, FTPSTREAM_PASSWORD: SECRET },
      stdout: "ignore",
    });
    // Its jobs failed: exit status 3, as mirror --queue --wait's (before, 0, which cron or CI took for success).
    expect(bare.code, bare.stderr).to.equal(3);
    const failed = await none.getFailed();
    expect(failed).to.have.length(2);
    for (const job of failed) {
      // At once: no other attempt finds a password either.
      expect(job.attemptsMade).to.equal(1);
      expect(job.failedReason).to.match(/^ERR_FTP_NO_PASSWORD: no password for user "alice" on 127\.0\.0\.1:\d+: the URL has none/);
    }
    expect(bare.stderr).to.match(/^failed \w+ (a\.txt|sub\/b\.txt): ERR_FTP_NO_PASSWORD: no password for user "alice"/m);
    expect(bare.stderr).to.include("summary: 0 transferred, 0 skipped, 2 failed");
    expect(server.sessions.length, "the worker connected to the FTP server").to.equal(sessions);

    // The same tree on another queue, run by a worker that reads its own netrc through --netrc ($NETRC, mode 0600).
    const enqueueAgain = await runCli(
      ["mirror", url("alice", "t"), local, "--queue", redis().url("netrc-own"), "--netrc-file", enqueuerNetrc],
      { env: { HOME: home }, stdout: "ignore" },
    );
    expect(enqueueAgain.code, enqueueAgain.stderr).to.equal(0);
    const before = passes().length;
    const worker = await runCli(["worker", redis().url("netrc-own"), "--until-drained", "--lock-ms", "2000", "--netrc", ...bounds()], {
      env: { HOME: home, NETRC: netrc("worker-netrc") },
      stdout: "ignore",
    });
    expect(worker.code, worker.stderr).to.equal(0);
    expect(worker.stderr).to.include("summary: 2 transferred, 0 skipped, 0 failed");
    expect(readFileSync(join(local, "sub/b.txt"), "utf8")).to.equal("beta\n");
    expect(passes().slice(before)).to.have.length.at.least(1);
    expect(new Set(passes().slice(before))).to.deep.equal(new Set([`PASS ${SECRET}`]));

    // Everything in Redis: the jobs (failed ones with their reasons), events, summaries.
    const stored = await everything((await none.client) as unknown as RedisReader);
    expect(stored).to.include("sub/b.txt").and.include(`alice@${server.host}`).and.include("no password for user");
    expect(stored).not.to.include(SECRET);
  });

  it("jobs from --env-password hold no password; a worker with --env-password uploads with its own FTPSTREAM_PASSWORD", async () => {
    const local = join(dir, "up");
    mkdirSync(join(local, "d"), { recursive: true });
    writeFileSync(join(local, "d/new.txt"), "new\n");
    const env = { HOME: home, FTPSTREAM_PASSWORD: SECRET };
    const enqueue = await runCli(["mirror", local, url("alice", "up"), "--queue", redis().url("env"), "--env-password"], {
      env,
      stdout: "ignore",
    });
    expect(enqueue.code, enqueue.stderr).to.equal(0);
    expect(enqueue.stderr).to.include("enqueued 1 files").and.not.include("warning");
    const queue = queueOf("env");
    const [job] = await queue.getWaiting();
    expect(job.data.server).to.equal(`ftp://alice@${server.host}:${server.port}`);
    expect(await everything((await queue.client) as unknown as RedisReader))
      .to.include("d/new.txt")
      .and.not.include(SECRET);

    const worker = await runCli(["worker", redis().url("env"), "--until-drained", "--lock-ms", "2000", "--env-password", ...bounds()], {
      env,
      stdout: "ignore",
    });
    expect(worker.code, worker.stderr).to.equal(0);
    expect(server.vfs.get("/up/d/new.txt")?.toString()).to.equal("new\n");
    expect(await everything((await queue.client) as unknown as RedisReader)).not.to.include(SECRET);
  });

  it("a password in the URL is kept in the jobs, as before, and mirror --queue says so in one line on stderr", async () => {
    const local = join(dir, "down");
    const enqueue = await runCli(["mirror", url(`alice:${SECRET}`, "t"), local, "--queue", redis().url("in-url"), "--quiet"], {
      env: { HOME: home },
      stdout: "ignore",
    });
    expect(enqueue.code, enqueue.stderr).to.equal(0);
    const warnings = enqueue.stderr.split("\n").filter((line) => line.includes("warning"));
    expect(warnings).to.deep.equal([
      "ftpstream: warning: the password in the URL is stored in every job in the queue; to keep it out, leave it out of the URL " +
        "and give it with --netrc, --netrc-file or --env-password here and to each worker",
    ]);
    const queue = queueOf("in-url");
    const jobs = await queue.getWaiting();
    expect(jobs).to.have.length(2);
    for (const job of jobs) expect(job.data.server).to.equal(`ftp://alice:${SECRET}@${server.host}:${server.port}`);
    // The scan of Redis sees a password where there is one.
    expect(await everything((await queue.client) as unknown as RedisReader)).to.include(SECRET);
  });
});

describe("mirror --queue and worker with Redis's password in REDISCLI_AUTH (redis-server --requirepass, fixture FTP server)", function () {
  this.timeout(60_000);
  const REDIS_SECRET = "r3dis-s3cret";
  let server: FixtureServer;
  let dir: string;

  const redis = useRedis({ password: REDIS_SECRET });

  beforeEach(async () => {
    server = await startAliceServer(SECRET);
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-auth-"));
  });

  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Both passwords from the environment: nothing secret on either command line.
  const env = (redisPassword?: string): Record<string, string> => ({
    HOME: dir,
    FTPSTREAM_PASSWORD: SECRET,
    ...(redisPassword === undefined ? {} : { REDISCLI_AUTH: redisPassword }),
  });
  const source = (): string => `ftp://alice@${server.host}:${server.port}/t`;
  const bounds = (): string[] => ["--server", `ftp://${server.host}:${server.port}`, "--local-root", dir];

  it("refused by Redis, mirror --queue (no password) and worker (the wrong one) stop at once with exit 1 and say where the password goes", async () => {
    // Before, ioredis tried again for ever: both waited without a word, and never ended.
    const enqueue = await runCli(["mirror", source(), join(dir, "down"), "--queue", redis().url("refused"), "--env-password"], {
      env: env(),
      stdout: "ignore",
    });
    expect(enqueue.code, enqueue.stderr).to.equal(1);
    expect(enqueue.stderr).to.match(
      /^ftpstream: Redis at 127\.0\.0\.1:\d+ refused the queue's login \(NOAUTH Authentication required\.\): give its password in REDISCLI_AUTH/m,
    );
    const worker = await runCli(["worker", redis().url("refused"), "--until-drained", "--env-password", ...bounds()], {
      env: env("not-the-password"),
      stdout: "ignore",
    });
    expect(worker.code, worker.stderr).to.equal(1);
    expect(worker.stderr).to.match(/^ftpstream: Redis at 127\.0\.0\.1:\d+ refused the queue's login \(WRONGPASS /m);
    expect(worker.stderr).not.to.include("not-the-password");
    // That line alone: no stack trace of an error left unheard.
    for (const run of [enqueue, worker]) expect(run.stderr.trim().split("\n"), run.stderr).to.have.length(1);
  });

  it("mirror --queue and worker take it from REDISCLI_AUTH when the URL has none, and every file moves", async () => {
    const local = join(dir, "down");
    const enqueueArgs = ["mirror", source(), local, "--queue", redis().url("from-env"), "--env-password"];
    const enqueue = await runCli(enqueueArgs, { env: env(REDIS_SECRET), stdout: "ignore" });
    expect(enqueue.code, enqueue.stderr).to.equal(0);
    expect(enqueue.stderr).to.include("enqueued 2 files");
    const workerArgs = ["worker", redis().url("from-env"), "--until-drained", "--lock-ms", "2000", "--env-password", ...bounds()];
    const worker = await runCli(workerArgs, { env: env(REDIS_SECRET), stdout: "ignore" });
    expect(worker.code, worker.stderr).to.equal(0);
    expect(worker.stderr).to.include("summary: 2 transferred, 0 skipped, 0 failed");
    expect(readFileSync(join(local, "sub/b.txt"), "utf8")).to.equal("beta\n");
    expect([...enqueueArgs, ...workerArgs].join(" "))
      .not.to.include(REDIS_SECRET)
      .and.not.include(SECRET);
  });

  it("a password in the URL still works, and wins over REDISCLI_AUTH", async () => {
    const url = `redis://:${REDIS_SECRET}@127.0.0.1:${redis().port}/in-url`;
    const run = await runCli(["mirror", source(), join(dir, "down"), "--queue", url, "--env-password"], {
      env: env("not-the-password"),
      stdout: "ignore",
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include("enqueued 2 files");
  });
});
