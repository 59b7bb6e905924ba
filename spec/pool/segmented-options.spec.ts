/**
 * downloadSegmented's `segments` and `minSegmentSize` are checked before
 * anything is sent. A count that was no whole number made ranges that did
 * not reach the file's end: `segments: 1.5` left the last third of the
 * file as zeros, `segments: NaN` (or `minSegmentSize: NaN`) the whole
 * file, and the call resolved with the file's size and renamed it into
 * place as complete.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patternFile, patternMismatch } from "../../fixtures/server.js";
import type { SegmentedDownloadOptions } from "../../lib/index.js";
import { rejection, usePoolFixture } from "./pool-fixture.js";

describe("FtpPool.downloadSegmented: its segments and minSegmentSize", () => {
  const fixture = usePoolFixture({ files: { "/f.bin": patternFile(1000) } });
  let local: string;
  beforeEach(() => void (local = mkdtempSync(join(tmpdir(), "ftpstream-segmented-options-"))));
  afterEach(() => rmSync(local, { recursive: true, force: true }));

  const refused: Array<[string, SegmentedDownloadOptions, ErrorConstructor, string]> = [
    ["segments 1.5", { segments: 1.5, minSegmentSize: 1 }, RangeError, "ERR_OUT_OF_RANGE"],
    ["segments NaN", { segments: Number.NaN }, RangeError, "ERR_OUT_OF_RANGE"],
    ["segments 0", { segments: 0, minSegmentSize: 1 }, RangeError, "ERR_OUT_OF_RANGE"],
    ["segments -2", { segments: -2, minSegmentSize: 1 }, RangeError, "ERR_OUT_OF_RANGE"],
    ["segments '2' (a string)", { segments: "2" as unknown as number }, TypeError, "ERR_INVALID_ARG_TYPE"],
    ["minSegmentSize NaN", { minSegmentSize: Number.NaN }, RangeError, "ERR_OUT_OF_RANGE"],
    ["minSegmentSize 0", { minSegmentSize: 0 }, RangeError, "ERR_OUT_OF_RANGE"],
    ["minSegmentSize -1", { minSegmentSize: -1 }, RangeError, "ERR_OUT_OF_RANGE"],
  ];
  for (const [what, options, type, code] of refused) {
    it(`refuses ${what} with a ${type.name} before anything is sent, making no file`, async () => {
      const p = fixture.poolOf(3);
      const target = join(local, "out.bin");
      const error = await rejection(p.downloadSegmented("/f.bin", target, options));
      expect(error).to.be.instanceOf(type);
      expect(error).to.include({ code });
      expect(readdirSync(local)).to.deep.equal([]);
      expect(fixture.made).to.have.length(0);
    });
  }

  it("still downloads the whole file byte for byte in whole-number segments down to 1 byte", async () => {
    const p = fixture.poolOf(3);
    const target = join(local, "out.bin");
    expect(await p.downloadSegmented("/f.bin", target, { segments: 3, minSegmentSize: 1 })).to.equal(1000);
    expect(existsSync(target)).to.equal(true);
    const bytes = readFileSync(target);
    expect(bytes).to.have.length(1000);
    expect(patternMismatch(bytes, 0)).to.equal(-1);
    expect(fixture.server.commands.filter((line) => line.startsWith("RETR"))).to.have.length(3);
  });
});
