/**
 * A queue worker's upload job renames its part over the target only while
 * the part holds what it sent. Two workers running one job at once (a
 * stalled lock hands it to a second) share the part name: the second's
 * STOR truncates the part the first has just finished. The first asked
 * SIZE of the part, but then set its time (a round trip) before the
 * rename, and a STOR coming in between was renamed over the target,
 * unfinished, the job reported done; one coming in before the SIZE failed
 * the job and had the first delete the second's part. Now SIZE goes with
 * the RNFR, and a part that is not the first's is left alone. No Redis:
 * the jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpSizeMismatchError, type FTP } from "../../lib/index.js";
import { failsAtOnce } from "../../lib/queue-failure.js";
import { createTreeJobProcessor } from "../../lib/queue-worker.js";
import { controlWrites, rejectionOf, useFixtures } from "../core/helpers.js";
import { heldBeforePart } from "../sync/part-race.js";
import { uploadJob, jobBounds } from "./tree-job.js";

const PART = "/r/.a.txt.ftpstream-part";
const A_COPY = "worker A's whole copy of a.txt";
const B_FIRST = "worker B's fi";

describe("queue worker upload jobs and a second worker writing the same part at once", () => {
  const fx = useFixtures();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-part-raced-"));
    writeFileSync(join(dir, "a.txt"), A_COPY);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Worker B: its STOR of the part, of which the server holds the first bytes so far. */
  function workerB(srv: FixtureServer, then?: (b: FTP) => Promise<unknown>): () => Promise<void> {
    return async () => {
      const b = await fx.client(srv);
      await b.storbinary(`STOR ${PART}`, Buffer.from(B_FIRST));
      await then?.(b);
    };
  }

  /** Worker A's job, B's STOR coming in just before A's `verb` of the part; how the job failed. */
  async function raced(srv: FixtureServer, verb: "SIZE" | "RNFR", b = workerB(srv)): Promise<Error> {
    const race = heldBeforePart(verb, PART, b);
    const processor = createTreeJobProcessor({
      ...jobBounds(srv, dir),
      connect: () => fx.client(srv, { createConnection: race.createConnection }),
      poolSize: 1,
    });
    try {
      const error = await rejectionOf(processor.process(uploadJob(srv, dir, "a.txt", A_COPY.length)));
      expect(race.raced(), "worker B came in").to.equal(true);
      return error;
    } finally {
      await processor.close();
    }
  }

  it("B's STOR between A's SIZE and its rename: the job fails (to run again) instead of renaming B's unfinished part over the target", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old copy" } });
    const error = await raced(srv, "RNFR");
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error).to.include({ expected: A_COPY.length, received: B_FIRST.length });
    expect(failsAtOnce(error), "left to the queue's attempts").to.equal(false);
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("the old copy");
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
  });

  it("B's STOR before A's SIZE: the job fails and B's part is left to B, not deleted", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old copy" } });
    const error = await raced(srv, "SIZE");
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error.message).to.include("another run is writing it");
    // The part holds more than A sent: no short transfer, but the job's next attempt compares afresh.
    expect(failsAtOnce(error), "left to the queue's attempts").to.equal(false);
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("the old copy");
    expect(srv.vfs.get(PART)?.toString()).to.equal(B_FIRST);
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal([]);
  });

  it("B's part holds more than A sent: the job fails, to run again (it is no failure the next attempt would meet again)", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old copy" } });
    const longer = `${A_COPY}, and then some more of worker B's`;
    const error = await raced(srv, "SIZE", async () => {
      const b = await fx.client(srv);
      await b.storbinary(`STOR ${PART}`, Buffer.from(longer));
    });
    expect(error).to.be.instanceOf(FtpSizeMismatchError);
    expect(error).to.include({ expected: A_COPY.length, received: longer.length });
    expect(failsAtOnce(error), "left to the queue's attempts").to.equal(false);
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("the old copy");
  });

  it("B already renamed its part over the target: the job fails and B's file is not deleted to make room", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old copy" } });
    const bFinished = workerB(srv, async (b) => {
      await b.storbinary(`STOR ${PART}`, Buffer.from("worker B's whole copy"));
      await b.rename(PART, "/r/a.txt");
    });
    const error = await raced(srv, "SIZE", bFinished);
    expect(error).to.include({ code: "ERR_FTP_PART_FILE" });
    // Its next attempt finds the file B finished and skips it.
    expect(failsAtOnce(error), "left to the queue's attempts").to.equal(false);
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal("worker B's whole copy");
    expect(srv.commands.filter((line) => line.startsWith("DELE"))).to.deep.equal([]);
  });

  it("a part that stayed its own is renamed with SIZE written with the RNFR: a round trip less than SIZE, MFMT, RNFR, RNTO", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "the old copy" } });
    const wire = controlWrites();
    const processor = createTreeJobProcessor({
      ...jobBounds(srv, dir),
      connect: () => fx.client(srv, { createConnection: wire.createConnection }),
      poolSize: 1,
    });
    try {
      expect(await processor.process(uploadJob(srv, dir, "a.txt", A_COPY.length))).to.deep.equal({
        outcome: "transferred",
        bytes: A_COPY.length,
      });
    } finally {
      await processor.close();
    }
    expect(srv.vfs.get("/r/a.txt")?.toString()).to.equal(A_COPY);
    expect(srv.vfs.exists(PART)).to.equal(false);
    // What the job wrote after the part's STOR (the pool's QUIT at close() aside).
    const afterStor = wire.writes.slice(wire.writes.findIndex((w) => w.includes(`STOR ${PART}`)) + 1).filter((w) => w !== "QUIT\r\n");
    expect(afterStor.map((w) => w.replace(/MFMT \d{14} /, "MFMT <time> "))).to.deep.equal([
      `MFMT <time> ${PART}\r\n`,
      `SIZE ${PART}\r\nRNFR ${PART}\r\n`,
      "RNTO /r/a.txt\r\n",
    ]);
  });
});
