/**
 * An upload job on a server that refuses to rename over a file that exists
 * (RNTO 553): the target is deleted and the part renamed again only where
 * MLST shows a plain file there (uploadThroughPart, lib/part-upload.ts). A
 * directory at the target is never deleted. Once the target was deleted
 * and the rename refused again, the part is the only copy left: the job
 * fails at once, as another attempt would STOR over it.
 * No Redis: the jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpError } from "../../lib/index.js";
import { failsAtOnce } from "../../lib/queue-failure.js";
import { createTreeJobProcessor } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { refuseOverExisting } from "../faults/rename-refused.js";
import { uploadJob, jobBounds } from "./tree-job.js";

const PART = "/r/.a.txt.ftpstream-part";

describe("queue worker: an upload job on a server that will not rename over a file", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-rename-"));
    writeFileSync(join(dir, "a.txt"), "0123456789");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("deletes the file at the target once MLST shows it, then renames the part over it", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old one" } });
    refuseOverExisting(srv);
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      expect(await processor.process(uploadJob(srv, dir, "a.txt", 10))).to.deep.equal({ outcome: "transferred", bytes: 10 });
      expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("0123456789");
      expect(srv.vfs.exists(PART)).to.equal(false);
      expect(srv.commands.filter((line) => /^(MLST|DELE) \/r\/a\.txt/.test(line))).to.deep.equal(["MLST /r/a.txt", "DELE /r/a.txt"]);
    } finally {
      await processor.close();
    }
  });

  it("never deletes a directory at the target: the refusal fails the job, the part is deleted", async () => {
    const srv = await fx.server({ files: { "/r/a.txt/inside.txt": "kept" } });
    refuseOverExisting(srv);
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      const error = (await rejectionOf(processor.process(uploadJob(srv, dir, "a.txt", 10)))) as FtpError;
      expect(error.response).to.equal("553 Rename failed: file exists.");
      expect(srv.vfs.get("/r/a.txt/inside.txt")?.toString()).to.equal("kept");
      expect(srv.vfs.exists(PART)).to.equal(false);
      expect(srv.commands.filter((line) => /^(DELE|RMD) \/r\/a\.txt/.test(line))).to.deep.equal([]);
    } finally {
      await processor.close();
    }
  });

  it("fails the job at once, naming the part, when the rename is refused again once the target was deleted: another attempt would STOR over the only copy", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old one" } });
    refuseOverExisting(srv, true);
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      const error = (await rejectionOf(processor.process(uploadJob(srv, dir, "a.txt", 10)))) as FtpError;
      expect(failsAtOnce(error), String(error)).to.equal(true);
      expect(error.code).to.equal("ERR_FTP_PART_FILE");
      expect(error.message).to.include(`the complete upload stays at "${PART}"`);
      expect(srv.vfs.exists("/r/a.txt")).to.equal(false);
      expect(srv.vfs.get(PART)?.toString()).to.equal("0123456789");
    } finally {
      await processor.close();
    }
  });
});
