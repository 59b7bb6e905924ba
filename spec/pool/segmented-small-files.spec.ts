/**
 * downloadSegmented cuts a file into `count` ranges of ceil(size / count)
 * bytes. A file of no more than count × (count - 1) bytes (with
 * `minSegmentSize` below `count`) left the last ranges empty, or starting
 * past its end: 5 bytes in 4 segments made 0-2, 2-4, 4-5 and 6-5, whose
 * RETR after REST 6 brought nothing, which the check on the last range
 * took for a server that ignored REST (FtpSizeMismatchError), failing the
 * download of a whole, healthy file. 6 bytes sent a REST at the very end
 * for an empty range. Only ranges with bytes in them are fetched now.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patternFile, patternMismatch } from "../../fixtures/server.js";
import { usePoolFixture } from "./pool-fixture.js";

const SIZES = [1, 2, 5, 6, 7, 9, 10, 12, 13];

describe("FtpPool.downloadSegmented: a file of fewer bytes than its segments need", () => {
  const fixture = usePoolFixture({ files: Object.fromEntries(SIZES.map((size) => [`/f${size}.bin`, patternFile(size)])) });
  let local: string;
  beforeEach(() => void (local = mkdtempSync(join(tmpdir(), "ftpstream-segmented-small-"))));
  afterEach(() => rmSync(local, { recursive: true, force: true }));

  for (const size of SIZES) {
    it(`takes ${size} bytes in 4 segments of at least 1 byte: each REST inside the file, the file whole`, async () => {
      const p = fixture.poolOf(4);
      const target = join(local, "out.bin");
      expect(await p.downloadSegmented(`/f${size}.bin`, target, { segments: 4, minSegmentSize: 1 })).to.equal(size);
      const bytes = readFileSync(target);
      expect(bytes).to.have.length(size);
      expect(patternMismatch(bytes, 0)).to.equal(-1);
      const rests = fixture.server.commands.filter((line) => line.startsWith("REST ")).map((line) => Number(line.slice(5)));
      expect(rests.filter((rest) => rest <= 0 || rest >= size)).to.deep.equal([]);
      // One RETR from byte 0, one after each REST: no connection for a range with nothing in it.
      expect(fixture.server.commands.filter((line) => line.startsWith("RETR"))).to.have.length(rests.length + 1);
    });
  }
});
