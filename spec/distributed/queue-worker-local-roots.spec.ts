/**
 * A worker's local roots and a link on the way to a job's local root (a
 * system's /var/run -> /run under `--local-root /`). Such a link is not
 * followed, whoever made it: the worker cannot tell it from one planted
 * to send a job's writes elsewhere. What serves jobs through it is giving
 * it as a local root too (an allowed root may be a link): the deepest
 * allowed root places a job, whatever the order the roots were given in
 * (before, the first did: `/` given first refused every such job), and
 * the refusal says so. No Redis: the jobs are handed to the processor as
 * BullMQ would.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpPathError, FtpUnrecoverableJobError } from "../../lib/index.js";
import { createTreeJobProcessor } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { downloadJob, jobBounds } from "./tree-job.js";

describe("queue worker: local roots and a link on the way to a job's", () => {
  const fx = useFixtures();
  let top: string;
  let elsewhere: string;
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), "ftpstream-queue-roots-"));
    elsewhere = mkdtempSync(join(tmpdir(), "ftpstream-queue-roots-elsewhere-"));
    mkdirSync(join(elsewhere, "x"));
    // As /var/run -> /run.
    symlinkSync(elsewhere, join(top, "run"));
  });
  afterEach(() => {
    rmSync(top, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it("refuses a job below the link when only a root above it is given, saying to give it as a local root", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
    const processor = createTreeJobProcessor({ ...jobBounds(srv, top), connect: () => fx.client(srv), poolSize: 1 });
    try {
      const error = await rejectionOf(processor.process(downloadJob(srv, join(top, "run", "x"), "a.txt", 5)));
      expect(error).to.be.instanceOf(FtpUnrecoverableJobError);
      const cause = (error as FtpUnrecoverableJobError).cause;
      expect(cause).to.be.instanceOf(FtpPathError);
      expect(cause).to.include({ reason: "link", path: "run" });
      expect(cause.message).to.include(`on the way from the worker's local root ${JSON.stringify(top)}`);
      expect(cause.message).to.include("give it (or where it leads) as a local root (--local-root)");
      expect(srv.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
    } finally {
      await processor.close();
    }
  });

  it("runs the job from the deepest root given, the link itself, whatever the order of the roots", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha" } });
    const processor = createTreeJobProcessor({
      servers: jobBounds(srv, top).servers,
      localRoots: [top, join(top, "run")],
      connect: () => fx.client(srv),
      poolSize: 1,
    });
    try {
      expect(await processor.process(downloadJob(srv, join(top, "run", "x"), "a.txt", 5))).to.deep.equal({
        outcome: "transferred",
        bytes: 5,
      });
      expect(readFileSync(join(elsewhere, "x", "a.txt"), "utf8")).to.equal("alpha");
    } finally {
      await processor.close();
    }
  });
});
