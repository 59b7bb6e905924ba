/**
 * The corpus of real listing lines (fixtures/listings/corpus.json): what
 * the four interop servers print, `ls -l` in the locales and time styles
 * servers run under, `ls -lgA` (inetutils and netkit ftpd), devices,
 * names with leading and trailing spaces, IIS and Windows `dir`, EPLF.
 * Each line gives the entry written beside it; a line marked with no name
 * is one the parser must not read (it is then reported, not guessed at).
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parseListLine } from "../../lib/index.js";
import { monthIndex } from "../../lib/month-names.js";

interface CorpusLine {
  line: string;
  name: string | null;
  type: string | null;
  size: number | null;
  modified: string | null;
  source: string;
}

const corpus = JSON.parse(readFileSync(new URL("../../../fixtures/listings/corpus.json", import.meta.url), "utf8")) as {
  now: string;
  lines: CorpusLine[];
};
const now = new Date(corpus.now);

describe("LIST corpus (fixtures/listings/corpus.json)", () => {
  for (const item of corpus.lines) {
    it(`${item.source}: ${JSON.stringify(item.line)}`, () => {
      const entry = parseListLine(item.line, now);
      if (item.name === null) {
        expect(entry).to.equal(undefined);
        return;
      }
      expect(entry, "read as an entry").to.not.equal(undefined);
      expect({ name: entry!.name, type: entry!.type, size: entry!.size, modified: entry!.modified?.toISOString() ?? null }).to.deep.equal({
        name: item.name,
        type: item.type,
        size: item.size,
        modified: item.modified,
      });
    });
  }

  it("knows March in every locale the issue names, and no month it does not know", () => {
    const march = ["Mar", "Mär", "mars", "mar", "marzo", "mrt", "março", "мар", "3月", "3월"];
    for (const token of march) expect(monthIndex(token), token).to.equal(2);
    expect(monthIndex("Xyz")).to.equal(undefined);
    expect(monthIndex("13月")).to.equal(undefined);
  });
});
