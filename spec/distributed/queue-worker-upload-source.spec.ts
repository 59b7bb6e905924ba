/**
 * An upload job sends the local file its job names only while it is still
 * the file the job's lstat found: the processor's SIZE, MDTM and MKD round
 * trips come between that lstat and the read, time enough for the file to
 * be swapped for a link to one outside the tree, which was then sent (a
 * key uploaded as a.txt). Now the file is opened, as the one the lstat
 * found, before them. And once the
 * processor deleted the target for a server that will not rename over it,
 * a failing rename no longer deletes the part too: both copies were lost.
 * No Redis: the jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpPathError, FtpUnrecoverableJobError } from "../../lib/index.js";
import { createTreeJobProcessor } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { uploadJob, jobBounds } from "./tree-job.js";

describe("queue worker: the local file an upload job sends", () => {
  const fx = useFixtures();
  let dir: string;
  let outside: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-source-"));
    outside = mkdtempSync(join(tmpdir(), "ftpstream-queue-outside-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("sends the file the job found, not a link to one outside swapped in while the job asked the server", async () => {
    writeFileSync(join(outside, "id_rsa"), "PRIVATEKEY");
    writeFileSync(join(dir, "a.txt"), "0123456789");
    const srv = await fx.server({ files: { "/r/": "" } });
    srv.once("SIZE", (s, arg) => {
      unlinkSync(join(dir, "a.txt"));
      symlinkSync(join(outside, "id_rsa"), join(dir, "a.txt"));
      return s.defaultHandler("SIZE", arg);
    });
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      expect(await processor.process(uploadJob(srv, dir, "a.txt", 10))).to.deep.equal({ outcome: "transferred", bytes: 10 });
      expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("0123456789");
    } finally {
      await processor.close();
    }
  });

  it("fails, sending nothing, a job whose file is a FIFO now, without opening it for ever", async () => {
    execFileSync("mkfifo", [join(dir, "a.txt")]);
    const srv = await fx.server({ files: { "/r/": "" } });
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      const error = await rejectionOf(processor.process(uploadJob(srv, dir, "a.txt", 10)));
      // Failed at once (see queue-permanent-failures): the queue would meet the same FIFO again.
      expect(error).to.be.instanceOf(FtpUnrecoverableJobError);
      expect((error as FtpUnrecoverableJobError).cause).to.be.instanceOf(FtpPathError);
      expect(srv.commands.some((line) => line.startsWith("STOR"))).to.equal(false);
    } finally {
      await processor.close();
    }
  });

  it("keeps the part, the only copy left, when the rename fails again after the target was deleted", async () => {
    writeFileSync(join(dir, "a.txt"), "0123456789");
    const srv = await fx.server({ files: { "/r/a.txt": "the old one" } });
    srv.handle("RNTO", (s) => s.reply(553, "Rename refused."));
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      await rejectionOf(processor.process(uploadJob(srv, dir, "a.txt", 10)));
      expect(srv.vfs.get("/r/a.txt"), "deleted for the second rename").to.equal(undefined);
      expect(srv.vfs.get("/r/.a.txt.ftpstream-part")?.toString()).to.equal("0123456789");
    } finally {
      await processor.close();
    }
  });
});
