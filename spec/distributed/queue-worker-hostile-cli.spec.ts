/**
 * `ftpstream worker --server <url> --local-root <dir> --remote-root <path>`:
 * a worker told what it serves runs only such jobs; the first two are required. Jobs are written into
 * Redis here as anyone who can write to the queue could write them: one
 * naming another server as alice (with --env-password, the worker sent
 * FTPSTREAM_PASSWORD to it), one writing outside the worker's directory,
 * one reading the remote root's parent. Each fails at once, before a
 * connection; the job within the bounds is done. A worker without
 * --server or --local-root does not start (exit 2): it would go wherever
 * a job says, and send its FTPSTREAM_PASSWORD or netrc default password
 * to a job's host. Against a real
 * redis-server and the fixture FTP server, both on loopback; the worker
 * is the built CLI in a child process.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { workerCommand } from "../../lib/queue-cli.js";
import { TREE_JOB_NAME, type TreeJob } from "../../lib/queue-jobs.js";
import { runCli } from "../cli/run-cli.js";
import { startAliceServer, useQueues, useRedis } from "./redis-server.js";

const SECRET = "w0rker-s3cret";

describe("worker --server, --local-root, --remote-root: jobs outside them fail at once (redis-server, fixture FTP server)", function () {
  this.timeout(60_000);
  let server: FixtureServer;
  let elsewhere: FixtureServer;
  let dir: string;

  const redis = useRedis();
  const queueOf = useQueues(redis);

  beforeEach(async () => {
    server = await startAliceServer(SECRET);
    // Anyone's server, as a job may name it: it takes any login.
    elsewhere = await FixtureServer.start({ files: { "/t/a.txt": "theirs\n" } });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-hostile-cli-"));
    mkdirSync(join(dir, "root"));
    mkdirSync(join(dir, "outside"));
  });

  afterEach(async () => {
    await server?.close();
    await elsewhere?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the job within them, fails the others at once, and sends the password nowhere else", async () => {
    const own = `ftp://alice@${server.host}:${server.port}`;
    const job = (path: string, change: Partial<TreeJob>): TreeJob => ({
      v: 1,
      direction: "download",
      server: own,
      remote: "/t",
      local: join(dir, "root"),
      path,
      size: 6,
      modified: null,
      ...change,
    });
    const opts = { attempts: 3, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: true, removeOnFail: false };
    await queueOf("bounds").addBulk([
      { name: TREE_JOB_NAME, data: job("a.txt", {}), opts },
      { name: TREE_JOB_NAME, data: job("b.txt", { server: `ftp://alice@${elsewhere.host}:${elsewhere.port}` }), opts },
      { name: TREE_JOB_NAME, data: job("c.txt", { local: join(dir, "outside") }), opts },
      { name: TREE_JOB_NAME, data: job("d.txt", { remote: "/" }), opts },
    ]);
    const worker = await runCli(
      [
        "worker",
        redis().url("bounds"),
        "--until-drained",
        "--lock-ms",
        "2000",
        "--env-password",
        "--server",
        own,
        "--local-root",
        join(dir, "root"),
        "--remote-root",
        "/t",
      ],
      { env: { HOME: dir, FTPSTREAM_PASSWORD: SECRET }, stdout: "ignore" },
    );
    expect(worker.code, worker.stderr).to.equal(3);
    expect(worker.stderr).to.include("summary: 1 transferred, 0 skipped, 3 failed");
    expect(readFileSync(join(dir, "root", "a.txt"), "utf8")).to.equal("alpha\n");
    expect(readdirSync(join(dir, "outside"))).to.deep.equal([]);
    expect(elsewhere.sessions, "connections to the server the job named").to.deep.equal([]);
    const failed = await queueOf("bounds").getFailed();
    const reasons = Object.fromEntries(failed.map((failure) => [failure.data.path, [failure.attemptsMade, failure.failedReason]]));
    expect(reasons).to.deep.equal({
      "b.txt": [1, "ERR_FTP_BAD_JOB: refusing the job's server: the worker is not given it"],
      "c.txt": [1, `ERR_FTP_BAD_JOB: refusing the job's local root ${JSON.stringify(join(dir, "outside"))}: the worker is not given it`],
      "d.txt": [1, `ERR_FTP_BAD_JOB: refusing the job's remote root "/": the worker is not given it`],
    });
  });

  it("a job whose data is null or a string fails at once with a line saying so, not an error in the worker's listener", async () => {
    const queue = queueOf("no-data");
    const opts = { attempts: 3, removeOnComplete: true, removeOnFail: false };
    await queue.addBulk([
      { name: TREE_JOB_NAME, data: null as unknown as TreeJob, opts },
      { name: TREE_JOB_NAME, data: `ftp://alice:${SECRET}@${server.host}` as unknown as TreeJob, opts },
    ]);
    const lines: string[] = [];
    const worked = await workerCommand({
      queue: redis().url("no-data"),
      connect: () => Promise.reject(new Error("no job gets this far")),
      servers: [`ftp://${server.host}:${server.port}`],
      localRoots: [join(dir, "root")],
      untilDrained: true,
      lockMs: 2000,
      log: (line) => void lines.push(line),
    });
    expect(worked).to.include({ failed: 2, failedHere: 2 });
    const said = lines
      .filter((line) => !line.startsWith("start ") && !line.startsWith("summary: "))
      .map((line) => line.replace(/ \d+ /, " <id> "));
    expect(said.sort()).to.deep.equal([
      "failed <id> (no path: null): ERR_FTP_BAD_JOB: not a tree job this version can run (v undefined, direction undefined)",
      "failed <id> (no path: string): ERR_FTP_BAD_JOB: not a tree job this version can run (v undefined, direction undefined)",
    ]);
    expect(lines.join("\n")).not.to.include(SECRET);
  });

  it("a worker without --server or --local-root is a usage error (exit 2) naming each missing one, before it reaches Redis", async () => {
    const serverLine =
      "ftpstream: worker needs --server <url>: without it a job from the queue picks the server it connects and sends its login to";
    const localLine =
      "ftpstream: worker needs --local-root <dir>: without it a job from the queue picks the local directory it writes or reads (/ allows any)";
    // Nothing listens there: a worker that went on would fail to reach Redis (exit 1), not refuse its command line.
    const unreachable = "redis://127.0.0.1:1/q";
    const cases: Array<[string[], string[]]> = [
      [[], [serverLine, localLine]],
      [["--local-root", dir], [serverLine]],
      [["--server", `ftp://${server.host}:${server.port}`], [localLine]],
      [["--env-password", "--local-root", dir, "--remote-root", "/t"], [serverLine]],
    ];
    for (const [flags, said] of cases) {
      const run = await runCli(["worker", unreachable, "--until-drained", ...flags], {
        env: { HOME: dir, FTPSTREAM_PASSWORD: SECRET },
        stdout: "ignore",
      });
      expect(run.code, `${flags.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(
        run.stderr.split("\n").filter((line) => line.startsWith("ftpstream: ")),
        flags.join(" "),
      ).to.deep.equal(said);
    }
  });

  it("a worker given --server and --local-root / (any directory, explicitly) runs", async () => {
    const worker = await runCli(
      ["worker", redis().url("empty"), "--until-drained", "--lock-ms", "2000", "--server", "ftp://h", "--local-root", "/"],
      { env: { HOME: dir }, stdout: "ignore" },
    );
    expect(worker.code, worker.stderr).to.equal(0);
    expect(worker.stderr).to.include("summary: 0 transferred");
  });

  it("--server that is not an FTP URL, or any of the three on another command, is a usage error (exit 2)", async () => {
    const bad = await runCli(["worker", redis().url("empty"), "--server", "http://example.test", "--local-root", dir], {
      env: { HOME: dir },
    });
    expect(bad.code, bad.stderr).to.equal(2);
    const elsewhereUsed = await runCli(["get", `ftp://${server.host}:${server.port}/t/a.txt`, "--local-root", dir], { env: { HOME: dir } });
    expect(elsewhereUsed.code, elsewhereUsed.stderr).to.equal(2);
    expect(elsewhereUsed.stderr).to.include("--local-root is for worker");
  });
});
