/**
 * A queue worker's download job whose path holds a byte the server's
 * encoding did not decode (escaped as U+DC80..U+DCFF, see text-codec.ts)
 * fails at once (FtpPathError, reason "undecodable") before it connects:
 * Node writes such a name with U+FFFD in place of the byte, another file,
 * and two jobs differing only in that byte (`caf\xe9`, `caf\xe8`) wrote one
 * local file, each reported done. The tree download's walk refuses such a
 * name, so enqueueTree never enqueues one; a job from any other enqueuer is
 * refused the same. No Redis: the job is handed to the processor as
 * BullMQ would.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpPathError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { attemptJob, downloadJob, jobBounds } from "./tree-job.js";

describe("queue worker download jobs: a path Node would write as another name", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-worker-local-undecodable-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const path of ["caf\udce9.txt", "d\udce8/x.txt"]) {
    it(`${JSON.stringify(path)}: fails at once (undecodable) before it connects, nothing written`, async () => {
      // The fixture server reads the byte sent for the escape as U+FFFD: it holds the file, as a Latin-1 server would.
      const srv = await fx.server({ files: { [`/r/${path.replace(/[\udc80-\udcff]/g, "\ufffd")}`]: "bytes" } });
      const outcome = await attemptJob(downloadJob(srv, dir, path, 5), () => fx.client(srv), jobBounds(srv, dir));
      expect(outcome.error?.name, String(outcome.error ?? JSON.stringify(outcome.result))).to.equal("UnrecoverableError");
      const cause = (outcome.error as Error & { cause?: unknown }).cause;
      expect(cause)
        .to.be.instanceOf(FtpPathError)
        .and.include({ reason: "undecodable", path: path.split("/")[0] });
      expect(outcome.connects).to.equal(0);
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  }
});
