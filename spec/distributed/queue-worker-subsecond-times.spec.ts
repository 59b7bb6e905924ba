/**
 * A download job compares a local copy written in a second's last half
 * millisecond (x.9995 s on) by the second it was written in, x: the time
 * an upload job of that copy stamps on the server. Node's `Stats.mtime`
 * rounds such a time to x+1 s, which fetched the copy again over itself
 * and took a server file changed at x+1 for the same. No Redis: the jobs
 * are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import type { TreeJobLike } from "../../lib/queue-worker.js";
import { downloadJob, jobBounds, processJob, uploadJob } from "./tree-job.js";
import { useFixtures } from "../core/helpers.js";

/** A second, as FTP gives times, and a local time in its last half millisecond. */
const SECOND_MS = Date.UTC(2023, 10, 14, 22, 13, 20);
const LATE_IN_SECOND = (SECOND_MS + 999.7) / 1000;

describe("queue worker: local times in a second's last half millisecond", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-subsecond-"));
    writeFileSync(join(dir, "a.txt"), "alpha\n");
    utimesSync(join(dir, "a.txt"), LATE_IN_SECOND, LATE_IN_SECOND);
    // Else this spec would test nothing: a disk with coarser times cannot hold such a time.
    expect(statSync(join(dir, "a.txt")).mtimeMs - SECOND_MS).to.be.above(999.5);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (srv: FixtureServer, job: TreeJobLike): Promise<unknown> => processJob(job, () => fx.client(srv), jobBounds(srv, dir));

  it("a download job skips the copy an upload job sent, and the upload job skips it the next time", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    expect(await run(srv, uploadJob(srv, dir, "a.txt", 6))).to.deep.equal({ outcome: "transferred", bytes: 6 });
    expect(srv.vfs.stat("/r/a.txt")?.mtime.getTime()).to.equal(SECOND_MS);
    expect(await run(srv, downloadJob(srv, dir, "a.txt", 6))).to.deep.equal({ outcome: "skipped", bytes: 0 });
    expect(await run(srv, uploadJob(srv, dir, "a.txt", 6))).to.deep.equal({ outcome: "skipped", bytes: 0 });
    expect(srv.commands.filter((line) => /^(RETR|STOR) /.test(line))).to.have.length(1);
  });

  it("a download job fetches a file the server gives the next second", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "ALPHA\n" } });
    srv.vfs.setMtime("/r/a.txt", new Date(SECOND_MS + 1000));
    expect(await run(srv, downloadJob(srv, dir, "a.txt", 6))).to.deep.equal({ outcome: "transferred", bytes: 6 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("ALPHA\n");
  });
});
