/**
 * A throwaway Redis for the queue specs: Debian's redis-server (installed
 * by .ci/run through spec/interop/install-servers.sh) on a free loopback
 * port, persisting nothing (`--save '' --appendonly no`), in a temp dir,
 * killed when the spec is done.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { FixtureServer } from "../../fixtures/server.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import { IN_CI } from "../interop/describe-server.js";

export const REDIS_SERVER = process.env.FTPSTREAM_REDIS_SERVER ?? "redis-server";

/** Whether redis-server runs here; `why` says what is missing. */
export function findRedis(): { found: boolean; why?: string } {
  const r = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return { found: false, why: `${REDIS_SERVER} not found (apt-get install redis-server; .ci/run does)` };
  return { found: true };
}

export interface RedisServer {
  port: number;
  url(queue: string): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Answers PING with +PONG (or, asking for a password, with -NOAUTH: it is up all the same). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(500);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** With `password`, the server asks every client for it (`--requirepass`: AUTH for the default user). */
export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-redis-"));
  const auth = options.password === undefined ? [] : ["--requirepass", options.password];
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", ...auth],
      { stdio: "ignore" },
    );
    let exited = false;
    child.once("exit", () => (exited = true));
    child.once("error", () => (exited = true));
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !(await ping(port))) await new Promise((resolve) => setTimeout(resolve, 50));
    if (!exited && (await ping(port))) {
      return {
        port,
        url: (queue) => `redis://127.0.0.1:${port}/${queue}`,
        stop: async () => {
          if (!exited) {
            const gone = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGKILL");
            await gone;
          }
          await fs.rm(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill("SIGKILL");
    // The port was taken between freePort() and the bind: try another.
    if (attempt >= 3) throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
  }
}

/**
 * A redis-server for the calling suite: started in its before() (with
 * `options`), stopped in its after(). Without redis-server the suite is
 * skipped, or fails under CI=true, where it must run. The getter gives the
 * running server inside the suite's hooks and tests.
 */
export function useRedis(options: { password?: string } = {}): () => RedisServer {
  let redis: RedisServer | undefined;
  before(async function () {
    const found = findRedis();
    if (!found.found) {
      if (IN_CI) throw new Error(`CI=true and ${found.why}`);
      this.skip();
    }
    redis = await startRedis(options);
  });
  after(async () => {
    await redis?.stop();
  });
  return () => {
    if (!redis) throw new Error("redis-server is not running (useRedis: outside the suite's hooks and tests)");
    return redis;
  };
}

/**
 * The fixture FTP server of the queue specs: the user alice with
 * `password`, no anonymous login, and a small tree at /t.
 */
export function startAliceServer(password: string): Promise<FixtureServer> {
  return FixtureServer.start({
    users: { alice: password },
    anonymous: false,
    files: { "/t/a.txt": "alpha\n", "/t/sub/b.txt": "beta\n" },
  });
}

/** Opens the calling suite's BullMQ queues by name on `redis()`; each test's are closed after it. */
export function useQueues(redis: () => RedisServer): (name: string) => Queue<TreeJob> {
  const queues: Array<Queue<TreeJob>> = [];
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.close();
  });
  return (name) => {
    const queue = new Queue<TreeJob>(name, { connection: { host: "127.0.0.1", port: redis().port } });
    queues.push(queue);
    return queue;
  };
}
