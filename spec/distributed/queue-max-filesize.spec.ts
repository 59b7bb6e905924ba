/**
 * `maxFileSize` on the queue, as downloadDir has it (`mirror --queue
 * --max-filesize`): enqueueTree gives a file listed larger no job (it is
 * a failure, FtpLimitError) and every job carries the bound to its worker,
 * which aborts a file the server announces larger or that grows past it.
 * Such jobs are v 2: a worker of an earlier version fails them at once
 * instead of downloading without the bound. Before, the CLI refused
 * `--queue --max-filesize` (its workers would have downloaded without it).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpLimitError } from "../../lib/index.js";
import { enqueueTree, type TreeJob } from "../../lib/queue-jobs.js";
import type { TreeJobLike } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { serveEndless } from "../faults/endless-server.js";
import { runCli } from "../cli/run-cli.js";
import { downloadJob, jobBounds, processJob } from "./tree-job.js";
import { useRedis } from "./redis-server.js";

const MAX = 1000;

describe("queue: maxFileSize carried by download jobs", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-max-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (srv: FixtureServer, job: TreeJobLike): Promise<unknown> => processJob(job, () => fx.client(srv), jobBounds(srv, dir));

  /** A download job of a file enqueued at `size`, bounded by MAX. */
  const boundedJob = (srv: FixtureServer, path: string, size: number): TreeJobLike => {
    const job = downloadJob(srv, dir, path, size);
    return { ...job, data: { ...job.data, v: 2, maxFileSize: MAX } };
  };

  it("enqueueTree: a file listed larger gets no job and is a failure; the others' jobs are v 2 and carry the bound", async () => {
    const srv = await fx.server({ files: { "/r/small.txt": "x".repeat(MAX), "/r/big.bin": "x".repeat(MAX + 1) } });
    const ftp = await fx.client(srv);
    const added: TreeJob[] = [];
    const result = await enqueueTree({ addBulk: (jobs) => Promise.resolve(added.push(...jobs.map((job) => job.data))) }, ftp, {
      direction: "download",
      server: `ftp://user:pass@${srv.host}:${srv.port}`,
      remote: "/r",
      local: dir,
      maxFileSize: MAX,
    });
    expect(added.map((job) => [job.path, job.v, job.maxFileSize])).to.deep.equal([["small.txt", 2, MAX]]);
    expect(result.failures.map(({ path }) => path)).to.deep.equal(["big.bin"]);
    expect(result.failures[0].error).to.be.instanceOf(FtpLimitError);
  });

  it("the worker aborts a file that grew past the bound since it was enqueued (FtpLimitError, at once), keeping the local copy and no part file", async () => {
    const srv = await fx.server({ files: { "/r/grew.bin": "" } });
    // Listed small when enqueued; now the server sends without end and announces no size.
    serveEndless(srv, null);
    srv.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    writeFileSync(join(dir, "grew.bin"), "the old copy");
    const error = await rejectionOf(run(srv, boundedJob(srv, "grew.bin", 10)));
    expect(error.name, error.message).to.equal("UnrecoverableError");
    expect(error.cause).to.be.instanceOf(FtpLimitError);
    expect(readFileSync(join(dir, "grew.bin"), "utf8")).to.equal("the old copy");
    expect(readdirSync(dir)).to.deep.equal(["grew.bin"]);
  });

  it("the worker refuses a v 2 job whose bound is not a whole number of bytes, before anything is fetched", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
    const job = boundedJob(srv, "a.txt", 5);
    const error = await rejectionOf(run(srv, { ...job, data: { ...job.data, maxFileSize: "1000" as unknown as number } }));
    expect(error.message).to.match(/refusing the job's maxFileSize/);
    expect(srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
  });

  describe("ftpstream mirror --queue --max-filesize", () => {
    const redis = useRedis();

    it("is taken: the file listed larger is named and gets no job, exit 3", async () => {
      const srv = await fx.server({ files: { "/t/small.txt": "x".repeat(MAX), "/t/big.bin": "x".repeat(MAX + 1) } });
      mkdirSync(join(dir, "down"));
      const url = `ftp://user:pass@${srv.host}:${srv.port}/t`;
      const run = await runCli(["mirror", url, join(dir, "down"), "--queue", redis().url("max"), "--max-filesize", String(MAX)], {
        stdout: "ignore",
      });
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stderr).to.match(/enqueued 1 files \(1000 bytes\)/);
      expect(run.stderr).to.match(/ftpstream: big\.bin: .*more than maxFileSize \(1000\)/);
    });
  });
});
