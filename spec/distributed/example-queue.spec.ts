/**
 * examples/queue.ts, run as its README shows: `enqueue` then `work`, each
 * its own process, against a redis-server and a loopback FTP server.
 * Type-checked but never run before, it was broken: its planner's
 * clients connected with the URL's path, so FTP.connect changed into it,
 * and the tree's root was then named from there again (`MLSD data` in
 * /data: 550, and the enqueue died of it).
 */
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FixtureServer } from "../../fixtures/server.js";
import { useRedis } from "./redis-server.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/queue.js", import.meta.url));

describe("examples/queue.ts (redis-server, fixture FTP server)", function () {
  const redis = useRedis();
  let server: FixtureServer | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-example-queue-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("enqueue adds a job per file of the URL's tree; work moves each, and exits 0 on SIGINT", async () => {
    server = await FixtureServer.start({ files: { "/data/a.txt": "alpha", "/data/sub/b.txt": "beta", "/other.txt": "no" } });
    const env = {
      PATH: process.env.PATH ?? "",
      FTP_URL: `ftp://user:pass@${server.host}:${server.port}/data`,
      REDIS_URL: redis().url(`example-${process.pid}-${Date.now()}`),
    };
    const enqueued = await promisify(execFile)(process.execPath, [EXAMPLE, "enqueue", dir], { env, timeout: 15_000 });
    expect(enqueued.stdout.trim()).to.equal("enqueued 2 files (9 bytes), 0 unchanged");
    const worker = spawn(process.execPath, [EXAMPLE, "work", dir], { env, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      worker.once("exit", (code, signal) => resolve([code, signal])),
    );
    let out = "";
    let err = "";
    worker.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    worker.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    try {
      const deadline = Date.now() + 15_000;
      while (!(out.includes("transferred a.txt\n") && out.includes("transferred sub/b.txt\n"))) {
        if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`the worker moved not both files: ${out}${err}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      worker.kill("SIGINT");
    }
    expect(await exited, err).to.deep.equal([0, null]);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("alpha");
    expect(readFileSync(join(dir, "sub", "b.txt"), "utf8")).to.equal("beta");
    expect(out.split("\n").filter((line) => line.startsWith("failed"))).to.deep.equal([]);
  });
});
