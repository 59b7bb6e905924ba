/**
 * Issue 25 with issue 23's round trips: a queue worker's job writes its
 * RETR or STOR right behind the EPSV once the connection has reached an
 * EPSV port (commandWithEpsv), as the tree transfers do; on a link 20 ms
 * away that is a round trip of the two or three a small file costs (bench
 * row 13, bench/README.md "Mirror over a job queue"). Seen on the
 * fixture's side: the 229 held back, and whether the client wrote the
 * transfer command without waiting for it. No Redis: the jobs are handed
 * to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import { createTreeJobProcessor, type TreeJobLike } from "../../lib/queue-worker.js";
import { useFixtures, watchOverlap } from "../core/helpers.js";
import { jobBounds } from "./tree-job.js";

/** What vsftpd offers: no MLSD. */
const FEATURES = ["EPSV", "MDTM", "PASV", "SIZE"];
const FILES = { "/r/a.txt": "alpha\n", "/r/b.txt": "beta\n", "/r/c.txt": "gamma\n" };
const TIME = new Date(Date.UTC(2024, 2, 3, 4, 5, 6));

describe("queue worker jobs write each transfer command with its EPSV", () => {
  const fx = useFixtures();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-rtt-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** One job per file, run one after another on a pool of one connection. */
  async function runJobs(srv: FixtureServer, direction: TreeJob["direction"], files: Record<string, string>): Promise<void> {
    const processor = createTreeJobProcessor({ ...jobBounds(srv, dir), connect: () => fx.client(srv), poolSize: 1 });
    try {
      for (const [name, content] of Object.entries(files)) {
        const job: TreeJobLike = {
          data: {
            v: 1,
            direction,
            server: `ftp://user:pass@${srv.host}:${srv.port}`,
            remote: "/r",
            local: dir,
            path: name,
            size: Buffer.byteLength(content),
            modified: TIME.toISOString(),
          },
          updateProgress: () => Promise.resolve(),
        };
        expect(await processor.process(job)).to.deep.equal({ outcome: "transferred", bytes: Buffer.byteLength(content) });
      }
    } finally {
      await processor.close();
    }
  }

  it("download jobs: the first RETR waits for its 229 (the port is not known to be reachable yet), every later one goes with its EPSV", async () => {
    const srv = await fx.server({ files: FILES, features: FEATURES });
    const epsv = watchOverlap(srv, "EPSV");
    await runJobs(srv, "download", { "a.txt": "alpha\n", "b.txt": "beta\n", "c.txt": "gamma\n" });
    expect(epsv).to.deep.equal([false, true, true]);
    expect(readFileSync(join(dir, "c.txt"), "utf8")).to.equal("gamma\n");
  });

  it("upload jobs: the first STOR waits for its 229, every later one goes with its EPSV", async () => {
    const srv = await fx.server({ files: { "/r/": "" }, features: FEATURES });
    const local = { "a.txt": "one\n", "b.txt": "two\n", "c.txt": "three\n" };
    for (const [name, content] of Object.entries(local)) {
      writeFileSync(join(dir, name), content);
      utimesSync(join(dir, name), TIME, TIME);
    }
    const epsv = watchOverlap(srv, "EPSV");
    await runJobs(srv, "upload", local);
    expect(epsv).to.deep.equal([false, true, true]);
    expect(srv.vfs.get("/r/c.txt")?.toString()).to.equal("three\n");
  });
});
