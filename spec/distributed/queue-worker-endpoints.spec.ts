/**
 * What the worker keys its pools and its connection cap on, what it
 * checks before it reaches Redis, and the local files an upload job may
 * read.
 *
 * - The cap (ConnectionLeases) counts the server's endpoint: host as the
 *   URL standard writes it, port, user decoded and in lower case. Before,
 *   it counted the URL as written less its password, so `ftp://User@h`,
 *   `ftp://us%65r@h` and `ftpes://h:21` each had a cap of their own.
 * - A pool holds connections of one credential: a job never runs on a
 *   connection another job's password opened. Before, pools were per
 *   user and host, so a job with a wrong password ran on another's login.
 * - workerCommand checks its bounds and counts before loading bullmq or
 *   reaching Redis.
 * - An upload job refuses a file with more than one hard link unless told
 *   otherwise: a hard link brings a file from outside the roots inside.
 */
import { expect } from "chai";
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { ConnectionLeases, FTP, FtpPathError, FtpUnrecoverableJobError } from "../../lib/index.js";
import { workerCommand } from "../../lib/queue-cli.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import { createTreeJobProcessor, endpointKey, type TreeJobLike } from "../../lib/queue-worker.js";
import { parseFtpUrl } from "../../lib/url.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { countControlConnections } from "./control-connections.js";
import { useRedis } from "./redis-server.js";
import { uploadJob, jobBounds } from "./tree-job.js";

/** A download job of /r/`path` into `local`, on the server `server` names (its password too). */
function downloadFrom(server: string, local: string, path: string, size: number): TreeJobLike {
  const data: TreeJob = { v: 1, direction: "download", server, remote: "/r", local, path, size, modified: null };
  return { data, updateProgress: () => Promise.resolve() };
}

describe("queue worker: pools per credential, the connection cap per endpoint", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-endpoints-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("endpointKey: one key for every spelling of one host, port and user; the scheme and password left out", () => {
    const key = (url: string): string => endpointKey(parseFtpUrl(url));
    const one = key("ftp://user@example.com:21");
    for (const url of [
      "ftp://User:pw@EXAMPLE.com",
      "ftp://us%65r@example.com:21/path",
      "ftpes://USER@Example.COM:21",
      "ftpes://user:other@example.com",
    ])
      expect(key(url), url).to.equal(one);
    expect(key("ftp://[::0001]:2121")).to.equal(key("ftp://anonymous@[0:0:0:0:0:0:0:1]:2121"));
    expect(key("ftps://127.1")).to.equal(key("ftp://127.0.0.1:990"));
    for (const other of ["ftp://user@example.com:2121", "ftp://bob@example.com", "ftp://user@example.org", "ftp://example.com"])
      expect(key(other), other).to.not.equal(one);
  });

  it("runs a job with a wrong password, or none, on a connection of its own, never on one another job's password opened", async () => {
    const srv = await fx.server({
      users: { alice: "right" },
      anonymous: false,
      files: { "/r/a.txt": "alpha", "/r/b.txt": "beta", "/r/c.txt": "gamma" },
    });
    const at = `${srv.host}:${srv.port}`;
    const processor = createTreeJobProcessor({
      servers: [`ftp://${at}`],
      localRoots: [dir],
      connect: (server) => FTP.connect(server, { timeout: 5000 }),
      poolSize: 1,
      idleMs: 60_000,
    });
    try {
      expect(await processor.process(downloadFrom(`ftp://alice:right@${at}`, dir, "a.txt", 5))).to.deep.equal({
        outcome: "transferred",
        bytes: 5,
      });
      for (const [server, path] of [
        [`ftp://alice:wrong@${at}`, "b.txt"],
        [`ftp://alice@${at}`, "c.txt"],
      ]) {
        const error = await rejectionOf(processor.process(downloadFrom(server, dir, path, 4)));
        expect(error, server).to.be.instanceOf(FtpUnrecoverableJobError);
        expect((error as FtpUnrecoverableJobError).replyCode, server).to.equal(530);
      }
      expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("alpha");
      expect(srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /r/a.txt"]);
      // The right password's pool is still there for its jobs.
      expect(await processor.process(downloadFrom(`ftp://alice:right@${at}`, dir, "b.txt", 4))).to.deep.equal({
        outcome: "transferred",
        bytes: 4,
      });
      expect(srv.commands.filter((line) => line === "PASS right")).to.have.length(1);
    } finally {
      await processor.close();
    }
  });

  describe("with a cap in Redis (redis-server)", function () {
    const redis = useRedis();
    const clients: Redis[] = [];
    afterEach(() => {
      for (const client of clients.splice(0)) client.disconnect();
    });

    it("holds the cap across two workers whose jobs spell the same user and host differently", async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "alpha", "/r/b.txt": "beta" } });
      const workers = ["user", "us%65r"].map((user) => {
        const client = new Redis({ host: "127.0.0.1", port: redis().port });
        clients.push(client);
        const leases = new ConnectionLeases(client, { limit: 1, prefix: "ftpstream-spec-endpoints", pollMs: 20 });
        const processor = createTreeJobProcessor({
          ...jobBounds(srv, dir),
          connect: (server) => FTP.connect(server, { timeout: 5000 }),
          leases,
          poolSize: 1,
          // Kept open after its job: the other worker's connection must wait for its lease.
          idleMs: 800,
        });
        return { user, leases, processor };
      });
      const connections = countControlConnections(srv);
      try {
        const [first, second] = workers;
        const server = (user: string): string => `ftp://${user}:pass@${srv.host}:${srv.port}`;
        expect(await first.processor.process(downloadFrom(server(first.user), dir, "a.txt", 5))).to.deep.include({
          outcome: "transferred",
        });
        expect(await second.processor.process(downloadFrom(server(second.user), dir, "b.txt", 4))).to.deep.include({
          outcome: "transferred",
        });
      } finally {
        for (const { processor, leases } of workers) {
          await processor.close();
          await leases.close();
        }
        expect(connections.most, "connections open at once").to.equal(1);
      }
    });
  });
});

describe("queue worker: an upload job's file with more than one hard link", () => {
  const fx = useFixtures();
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-hardlink-"));
    outside = mkdtempSync(join(tmpdir(), "ftpstream-queue-hardlink-outside-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("is refused by default (FtpPathError, failing the job at once, nothing sent); allowHardLinks sends it", async () => {
    writeFileSync(join(outside, "secret"), "SECRET");
    linkSync(join(outside, "secret"), join(dir, "a.txt"));
    writeFileSync(join(dir, "b.txt"), "plain");
    const srv = await fx.server({ files: { "/r/": "" } });
    const refusing = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      const error = await rejectionOf(refusing.process(uploadJob(srv, dir, "a.txt", 6)));
      expect(error).to.be.instanceOf(FtpUnrecoverableJobError);
      const cause = (error as FtpUnrecoverableJobError).cause;
      expect(cause).to.be.instanceOf(FtpPathError);
      expect(cause).to.include({ reason: "link", path: "a.txt" });
      expect(cause.message).to.include("2 hard links");
      expect(srv.commands.some((line) => line.startsWith("STOR"))).to.equal(false);
      // A file with one link goes as before.
      expect(await refusing.process(uploadJob(srv, dir, "b.txt", 5))).to.deep.equal({ outcome: "transferred", bytes: 5 });
    } finally {
      await refusing.close();
    }
    const allowing = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1, allowHardLinks: true });
    try {
      expect(await allowing.process(uploadJob(srv, dir, "a.txt", 6))).to.deep.equal({ outcome: "transferred", bytes: 6 });
      expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("SECRET");
    } finally {
      await allowing.close();
    }
  });
});

describe("workerCommand: its bounds and counts are checked before Redis is reached", () => {
  let listener: net.Server;
  let connections: number;
  let port: number;
  const sockets: net.Socket[] = [];
  beforeEach(async () => {
    connections = 0;
    // Stands for a Redis that never answers: a worker that reached it would wait for ever.
    listener = net.createServer((socket) => {
      connections++;
      sockets.push(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    port = (listener.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => listener.close(resolve));
  });

  it("rejects bad bounds (TypeError) and counts (RangeError) at once, without a connection to the queue's Redis", async () => {
    const base = {
      queue: `redis://127.0.0.1:${port}/q`,
      connect: () => Promise.reject(new Error("not to be called")),
      localRoots: ["/srv"],
      servers: ["ftp://127.0.0.1"],
      log: () => undefined,
    };
    for (const [change, type] of [
      [{ localRoots: [] }, TypeError],
      [{ servers: [""] }, TypeError],
      [{ servers: ["http://h"] }, TypeError],
      [{ remoteRoots: ["a/../b"] }, FtpPathError],
      [{ concurrency: 0 }, RangeError],
      [{ maxConnections: 1.5 }, RangeError],
      [{ lockMs: -1 }, RangeError],
    ] as const) {
      const outcome = await Promise.race([
        workerCommand({ ...base, ...change }).then(
          () => "resolved",
          (error: unknown) => error,
        ),
        sleep(1500).then(() => "still waiting"),
      ]);
      expect(outcome, JSON.stringify(change)).to.be.instanceOf(type);
    }
    expect(connections, "connections to the queue's Redis").to.equal(0);
  });
});
