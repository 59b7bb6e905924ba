/**
 * The queue's connections keep FTPS as the rest of the CLI does: `mirror
 * --queue` over ftpes:// walks on protected connections, and `ftpstream
 * worker --server ftpes://…` (or ftps://) runs its jobs on them. Against a
 * server that refuses PROT P or PBSZ, answers AUTH TLS with 234 and speaks
 * no TLS, or serves data in the clear, no login and no byte of a file
 * reaches it in the clear, and the jobs fail. A real redis-server and the
 * built CLI in a child process.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TREE_JOB_NAME, type TreeJob } from "../../lib/queue-jobs.js";
import { useQueues, useRedis } from "../distributed/redis-server.js";
import { CLEAR_PAYLOAD, leaks, makeHostile, NO_LEAK, UPLOAD_SECRET, type Hostility } from "./hostile-paths.js";
import { useTlsFixture } from "./tls-fixture.js";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));
const HOSTILITIES: readonly Hostility[] = ["PROT refused", "PBSZ refused", "234 then no TLS", "clear data"];

describe("FTPS in the queue: mirror --queue and worker send no login and no file data in the clear", function () {
  this.timeout(60_000);
  const fx = useTlsFixture();
  const redis = useRedis();
  const queueOf = useQueues(redis);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-cleartext-queue-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the built CLI to its end; resolves to its exit code and stderr. */
  function cli(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      const env = { PATH: process.env.PATH ?? "", HOME: dir };
      execFile(process.execPath, [CLI, ...args, "--quiet", "--timeout", "3000"], { cwd: dir, env }, (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
      });
    });
  }

  for (const implicit of [false, true]) {
    const scheme = implicit ? "ftps" : "ftpes";
    for (const how of HOSTILITIES) {
      if (implicit && how === "234 then no TLS") continue;
      it(`worker --server ${scheme}://: ${how}: both jobs fail, nothing in the clear`, async () => {
        const srv = await fx.start({ files: { "/t/a.txt": "alpha\n" }, tls: { implicit } });
        const watch = makeHostile(srv, how, () => true);
        const ca = join(dir, "ca.pem");
        writeFileSync(ca, fx.cert().cert);
        const root = join(dir, "root");
        mkdirSync(root);
        writeFileSync(join(root, "up.txt"), UPLOAD_SECRET);
        const server = `${scheme}://user:pass@${srv.host}:${srv.port}`;
        const job = (direction: TreeJob["direction"], path: string, size: number): TreeJob => ({
          v: 1,
          direction,
          server,
          remote: "/t",
          local: root,
          path,
          size,
          modified: null,
        });
        const name = `q-${scheme}-${how.replace(/\W+/g, "-")}`;
        const opts = { attempts: 1, removeOnComplete: true, removeOnFail: false };
        await queueOf(name).addBulk([
          { name: TREE_JOB_NAME, data: job("download", "a.txt", 6), opts },
          { name: TREE_JOB_NAME, data: job("upload", "up.txt", UPLOAD_SECRET.length), opts },
        ]);
        const worker = await cli([
          "worker",
          redis().url(name),
          "--until-drained",
          "--lock-ms",
          "2000",
          "--server",
          `${scheme}://${srv.host}:${srv.port}`,
          "--local-root",
          root,
          "--ca",
          ca,
        ]);
        expect(leaks(watch)).to.deep.equal(NO_LEAK);
        if (how === "clear data") expect(watch.bytes, "no data connection served in the clear").to.not.deep.equal([]);
        const got = join(root, "a.txt");
        expect(existsSync(got) && readFileSync(got).includes(CLEAR_PAYLOAD), "took data served in the clear").to.equal(false);
        expect(worker.code, worker.stderr).to.equal(3);
        expect((await queueOf(name).getFailed()).length).to.equal(2);
      });
    }
  }

  for (const how of HOSTILITIES) {
    it(`mirror --queue over ftpes://: ${how}: the walk fails, nothing in the clear, nothing enqueued`, async () => {
      const srv = await fx.start({ files: { "/t/a.txt": "alpha\n", "/t/sub/b.txt": "beta\n" } });
      const watch = makeHostile(srv, how, () => true);
      const ca = join(dir, "ca.pem");
      writeFileSync(ca, fx.cert().cert);
      mkdirSync(join(dir, "up"));
      writeFileSync(join(dir, "up", "x.txt"), UPLOAD_SECRET);
      const name = `mq-${how.replace(/\W+/g, "-")}`;
      const url = `ftpes://user:pass@${srv.host}:${srv.port}/t`;
      const down = await cli(["mirror", url, join(dir, "down"), "--queue", redis().url(name), "--ca", ca]);
      const up = await cli(["mirror", join(dir, "up"), url, "--queue", redis().url(name), "--ca", ca]);
      expect(leaks(watch)).to.deep.equal(NO_LEAK);
      // "clear data" touches only RETR and STOR, which the walk does not send: it ends well, on protected listings.
      if (how === "clear data") return;
      expect(down.code, down.stderr).to.not.equal(0);
      expect(up.code, up.stderr).to.not.equal(0);
      expect(await queueOf(name).count()).to.equal(0);
    });
  }
});
