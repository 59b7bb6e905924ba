/**
 * LIST dates that are no real date. Date.UTC rolls its fields over, so a
 * Windows `dir` listing in en-GB (`25/11/2026`, day first, read month first
 * as IIS's `11-25-26` is) was dated January 2028, an IIS `02-30-26` March
 * 2, a `Jan 10 24:61` the 11th at 01:01: times a sync compared and stamped
 * as if the server had given them. Such a line is still an entry (its
 * name, type and size are read), with no time (`modified: null`), which a
 * sync asks MDTM for.
 */
import { expect } from "chai";
import { parseListLine } from "../../lib/index.js";

const NOW = new Date("2026-12-06T12:00:00Z");

/** Lines whose date columns name no real date or time, and the entry each still is. */
const NOT_A_DATE: Array<[string, string, { name: string; type: string; size: number | null }]> = [
  ["Windows dir in en-GB, day first", "25/11/2026  22:20    <DIR>          Reports", { name: "Reports", type: "dir", size: null }],
  ["IIS, February 30", "02-30-26  10:20AM                 5 feb.txt", { name: "feb.txt", type: "file", size: 5 }],
  ["IIS, month 13", "13-01-26  10:20AM                 5 m13.txt", { name: "m13.txt", type: "file", size: 5 }],
  ["IIS, 13:20PM", "11-25-26  13:20PM                 5 ok.txt", { name: "ok.txt", type: "file", size: 5 }],
  ["Unix, February 30 with a year", "-rw-r--r-- 1 ftp ftp 5 Feb 30  2024 feb.txt", { name: "feb.txt", type: "file", size: 5 }],
  ["Unix, a clock of 24:61", "-rw-r--r-- 1 ftp ftp 5 Jan 10 24:61 clock.txt", { name: "clock.txt", type: "file", size: 5 }],
  ["Unix long-iso, February 30", "-rw-r--r-- 1 ftp ftp 5 2026-02-30 12:00 iso.txt", { name: "iso.txt", type: "file", size: 5 }],
  ["Unix iso, February 30", "-rw-r--r-- 1 ftp ftp 5 02-30 12:00 iso2.txt", { name: "iso2.txt", type: "file", size: 5 }],
];

describe("servers: LIST dates that are no real date", () => {
  for (const [what, line, expected] of NOT_A_DATE) {
    it(`${what}: the entry, with no time (${JSON.stringify(line)})`, () => {
      const entry = parseListLine(line, NOW);
      expect(entry).to.include(expected);
      expect(entry!.modified).to.equal(null);
    });
  }

  it("real dates still read as before: a full-iso zone across midnight, February 29 of a leap year, noon and midnight in 12-hour times", () => {
    const at = (line: string): string | undefined => parseListLine(line, NOW)?.modified?.toISOString();
    expect(at("-rw-r--r-- 1 ftp ftp 5 2026-12-06 00:30:00.000000000 +0100 zone.txt")).to.equal("2026-12-05T23:30:00.000Z");
    expect(at("-rw-r--r-- 1 ftp ftp 5 Feb 29  2024 leap.txt")).to.equal("2024-02-29T00:00:00.000Z");
    expect(
      parseListLine("-rw-r--r-- 1 ftp ftp 5 Feb 29 12:00 leap.txt", new Date("2028-03-10T00:00:00Z"))?.modified?.toISOString(),
    ).to.equal("2028-02-29T12:00:00.000Z");
    expect(at("11-25-26  12:20AM                 5 a.txt")).to.equal("2026-11-25T00:20:00.000Z");
    expect(at("11-25-26  12:20PM                 5 a.txt")).to.equal("2026-11-25T12:20:00.000Z");
    expect(at("11/25/2026  10:20 PM         1,234 a.txt")).to.equal("2026-11-25T22:20:00.000Z");
    expect(at("-rw-r--r-- 1 ftp ftp 5 Dec 31 23:59 eve.txt")).to.equal("2025-12-31T23:59:00.000Z");
  });
});
