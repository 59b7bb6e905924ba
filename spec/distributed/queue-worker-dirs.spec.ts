/**
 * The directories an upload job's processor remembers as made on the
 * server (so that later jobs there skip ensureDir): only once ensureDir
 * succeeded, and only so many. Before, a directory was remembered before
 * its MKD went out, so a job whose MKD was cut off (a dropped connection)
 * failed again on every retry in that process (STOR into a directory that
 * was never made); and the set grew with every directory a worker ever
 * uploaded to, for as long as it ran. No Redis: the jobs are handed to the
 * processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTreeJobProcessor, MAX_KNOWN_DIRS } from "../../lib/queue-worker.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { uploadJob, jobBounds } from "./tree-job.js";

describe("queue worker: remote directories remembered as made", () => {
  const fx = useFixtures();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-dirs-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function localFile(path: string): void {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), "data");
  }

  it("a job whose MKD was cut off makes the directory when it runs again", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    localFile("sub/a.txt");
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      srv.once("MKD", (s) => s.drop());
      await rejectionOf(processor.process(uploadJob(srv, dir, "sub/a.txt", 4)));
      expect(srv.vfs.get("/r/sub/a.txt")).to.equal(undefined);
      // The retry, in the same process.
      expect(await processor.process(uploadJob(srv, dir, "sub/a.txt", 4))).to.deep.equal({ outcome: "transferred", bytes: 4 });
      expect(srv.vfs.get("/r/sub/a.txt")?.toString()).to.equal("data");
    } finally {
      await processor.close();
    }
  });

  it(`remembers at most ${MAX_KNOWN_DIRS} directories: past that the oldest is made (ensured) again`, async function () {
    // 1,003 uploads, client and server in this process: 5 s alone, over 20 s with three spec processes
    // and other suites on two cores (timed out so, every file and command answered, in three loaded runs).
    this.timeout(90_000);
    const srv = await fx.server({ files: { "/r/": "" } });
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    let mkds: string[] = [];
    srv.handle("MKD", (s, arg, verb) => {
      mkds.push(arg);
      return s.defaultHandler(verb, arg);
    });
    try {
      for (let i = 0; i <= MAX_KNOWN_DIRS; i++) {
        localFile(`d${i}/a.txt`);
        await processor.process(uploadJob(srv, dir, `d${i}/a.txt`, 4));
      }
      expect(mkds).to.have.length(MAX_KNOWN_DIRS + 1);
      // Within the bound: d1 is still known (no MKD); d0, the oldest, was forgotten and is ensured again.
      mkds = [];
      for (const i of [1, 0]) {
        // Another size: not skipped as already there.
        writeFileSync(join(dir, `d${i}/a.txt`), "more!");
        await processor.process(uploadJob(srv, dir, `d${i}/a.txt`, 4));
      }
      expect(mkds).to.deep.equal(["/r/d0"]);
    } finally {
      await processor.close();
    }
  });
});
