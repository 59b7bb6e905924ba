/**
 * A job's data is read from Redis, which other programs (an older or buggy
 * enqueuer, anyone who can write to the queue) write: a field of the wrong
 * type, out of range or missing fails the job at once (ERR_FTP_BAD_JOB),
 * before anything connects or is written. Before, a size of -1 (or any
 * negative, fractional or non-number size) turned off the check of the
 * bytes against it, so a download cut short was renamed into place and
 * reported transferred; a relative local root was taken from the worker's
 * working directory; a time that is no date failed only after the whole
 * download, on every attempt; a path or root that is no string, or holds
 * a CR or LF, failed with a TypeError, tried again on every attempt. No
 * Redis: the jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import type { FtpError } from "../../lib/errors.js";
import { failsAtOnce } from "../../lib/queue-failure.js";
import { enqueueTree, type TreeJob } from "../../lib/queue-jobs.js";
import { createTreeJobProcessor } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { downloadJob, jobBounds } from "./tree-job.js";

describe("queue worker: a job whose fields are of the wrong type, out of range or missing", () => {
  const fx = useFixtures();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-fields-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The download job of /r/a.txt (6 bytes) into `dir`, with `change` made to its data. */
  function jobWith(srv: FixtureServer, change: (data: Record<string, unknown>) => void): ReturnType<typeof downloadJob> {
    const job = downloadJob(srv, dir, "a.txt", 6);
    change(job.data as unknown as Record<string, unknown>);
    return job;
  }

  const changes: Array<[string, (data: Record<string, unknown>) => void]> = [
    ["size -1", (data) => (data.size = -1)],
    ["size 1.5", (data) => (data.size = 1.5)],
    ["size as a string", (data) => (data.size = "6")],
    ["size past 2^53", (data) => (data.size = 2 ** 60)],
    ["size null (NaN as JSON stores it)", (data) => (data.size = null)],
    ["no size", (data) => delete data.size],
    ["a time that is no date", (data) => (data.modified = "yesterday")],
    ["a time as a number", (data) => (data.modified = 1_700_000_000_000)],
    ["no time (not even null)", (data) => delete data.modified],
    ["a path holding a line break", (data) => (data.path = "a\r\nDELE b.txt")],
    ["a remote root holding a line break", (data) => (data.remote = "/r\n")],
    ["a path that is a number", (data) => (data.path = 5)],
    ["no path", (data) => delete data.path],
    ["a remote root that is a number", (data) => (data.remote = 5)],
    ["no remote root", (data) => delete data.remote],
    ["a local root that is a number", (data) => (data.local = 5)],
    ["no local root", (data) => delete data.local],
    ["a relative local root", (data) => (data.local = "down")],
    ["an empty local root", (data) => (data.local = "")],
    ["a local root holding a NUL", (data) => (data.local = `${dir}\0x`)],
    ["a v 1 job with a bound that is no number", (data) => (data.maxFileSize = "10")],
  ];

  for (const [what, change] of changes) {
    it(`fails at once with ERR_FTP_BAD_JOB, nothing sent or written: ${what}`, async () => {
      const srv = await fx.server({ files: { "/r/a.txt": "abcdef" } });
      let connects = 0;
      const processor = createTreeJobProcessor({
        ...jobBounds(srv, dir),
        connect: () => {
          connects++;
          return fx.client(srv);
        },
        poolSize: 1,
      });
      try {
        const job = jobWith(srv, change);
        const error = await rejectionOf(processor.process(job));
        expect(failsAtOnce(error), `${error.name}: ${error.message}`).to.equal(true);
        expect((error as FtpError).code, error.message).to.equal("ERR_FTP_BAD_JOB");
        expect(connects).to.equal(0);
        expect(readdirSync(dir)).to.deep.equal([]);
      } finally {
        await processor.close();
      }
    });
  }

  it("enqueueTree writes a relative local root absolute, as where it ran: each worker would take it from its own working directory", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "abcdef" } });
    const ftp = await fx.client(srv);
    const added: TreeJob[] = [];
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await enqueueTree({ addBulk: (jobs) => Promise.resolve(added.push(...jobs.map((job) => job.data))) }, ftp, {
        direction: "download",
        server: `ftp://user:pass@${srv.host}:${srv.port}`,
        remote: "/r",
        local: "down",
      });
    } finally {
      process.chdir(cwd);
    }
    expect(added.map((job) => [job.path, job.local])).to.deep.equal([["a.txt", join(realpathSync(dir), "down")]]);
  });
});
