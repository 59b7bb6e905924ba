/**
 * LIST formats beyond Unix: IIS/Windows in its date orders, EPLF, and a
 * parser of the caller's own; with fast-check properties for every parser
 * (Unix, Windows, EPLF, MLSD facts): a line made from an entry parses back
 * to that entry, and no line makes a parser throw.
 */
import { expect } from "chai";
import fc from "fast-check";
import { FixtureServer } from "../../fixtures/server.js";
import { entryFromFacts, FTP, FtpListingError, isListNoise, ListEntry, parseListLine } from "../../lib/index.js";
import { parseMlsdLine } from "../../lib/protocol.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

/** A file name as servers list them: no leading/trailing space, no tab, CR, LF or slash, not "->". */
const names = fc
  .string({ minLength: 1, maxLength: 30, unit: fc.constantFrom(..."abcXYZ019 ._-()[]é€😀".split(/(?:)/u)) })
  .map((name) => name.trim())
  .filter((name) => name !== "" && !name.includes(" -> "));
/** A time to the minute between 1990 and 2069 (two-digit years are read as 1970-2069). */
const minutes = fc
  .date({ min: new Date("1990-01-01T00:00:00Z"), max: new Date("2069-12-31T23:59:00Z"), noInvalidDate: true })
  .map((date) => new Date(Math.floor(date.getTime() / 60_000) * 60_000));
const sizes = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe("LIST formats beyond Unix", () => {
  it("reads Windows dir lines: slashes, 12-hour times with a space, thousands separators", () => {
    const file = parseListLine("11/25/2026  10:20 PM         1,234,567 big report.csv");
    expect(file).to.include({ name: "big report.csv", type: "file", size: 1234567 });
    expect(file?.modified?.toISOString()).to.equal("2026-11-25T22:20:00.000Z");
  });

  it("reads ISO (year first) and day-first dotted dates, and seconds", () => {
    expect(parseListLine("2026-11-25  22:20:05    <DIR>          logs")?.modified?.toISOString()).to.equal("2026-11-25T22:20:05.000Z");
    const dotted = parseListLine("25.11.2026  09:05            1.024 daten.txt");
    expect(dotted).to.include({ name: "daten.txt", size: 1024 });
    expect(dotted?.modified?.toISOString()).to.equal("2026-11-25T09:05:00.000Z");
  });

  it("reads Windows junctions and symbolic links as links", () => {
    expect(parseListLine("01-02-2024  12:05PM    <JUNCTION>     Documents [C:\\Users\\x\\Documents]")).to.include({ type: "link" });
    expect(parseListLine("01-02-2024  12:05PM    <SYMLINKD>     shared")).to.include({ type: "link", name: "shared", size: null });
  });

  it("reads EPLF: r is a file, / a directory, s the size, m the time in Unix seconds, up the permissions", () => {
    const file = parseListLine("+i8388621.48594,m825718503,r,s280,up644,\tdjb.html");
    expect(file).to.include({ name: "djb.html", type: "file", size: 280, permissions: "644" });
    expect(file?.modified?.toISOString()).to.equal("1996-03-01T22:15:03.000Z");
    expect(parseListLine("+i8388621.50690,m824255907,/,\t514")).to.include({ name: "514", type: "dir", size: null });
  });

  it("lists with the listParser option in place of the built-in one", async () => {
    const srv = await FixtureServer.start({ features: ["EPSV", "SIZE"] });
    srv.handle("LIST", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData("F|12|a.txt\r\nD|0|sub\r\nnot an entry\r\n");
      s.reply(226, "Directory send OK.");
    });
    const custom = (line: string): ListEntry | null => {
      const [kind, size, name] = line.split("|");
      // null: this parser knows the line is no entry.
      if (name === undefined) return null;
      return { name, type: kind === "D" ? "dir" : "file", size: Number(size), modified: null, permissions: null, target: null, raw: line };
    };
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", listParser: custom });
    try {
      const entries: Array<[string, string, number | null]> = [];
      for await (const entry of ftp.list()) entries.push([entry.name, entry.type, entry.size]);
      expect(entries).to.deep.equal([
        ["a.txt", "file", 12],
        ["sub", "dir", 0],
      ]);
    } finally {
      ftp.close();
      await srv.close();
    }
  });
});

describe("LIST lines the parser cannot read", () => {
  const listing = "total 8\r\n-rw-r--r-- 1 ftp ftp 5 Nov 10 12:00 ok.txt\r\n\r\n-rw-r--r-- 1 ftp ftp 5 Brumaire 10 12:00 maerz.txt\r\n";
  const serve = async (): Promise<FixtureServer> => {
    const srv = await FixtureServer.start({ features: ["EPSV", "SIZE"] });
    srv.handle("LIST", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(listing);
      s.reply(226, "Directory send OK.");
    });
    return srv;
  };

  it("list() throws FtpListingError naming the line after yielding the entries it read, and skips blank and total lines", async () => {
    const srv = await serve();
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
    try {
      const names: string[] = [];
      let caught: unknown;
      try {
        for await (const entry of ftp.list()) names.push(entry.name);
      } catch (error) {
        caught = error;
      }
      expect(names).to.deep.equal(["ok.txt"]);
      expect(caught).to.be.instanceOf(FtpListingError);
      expect(caught).to.include({ code: "ERR_FTP_LISTING", total: 1 });
      expect((caught as FtpListingError).lines).to.deep.equal(["-rw-r--r-- 1 ftp ftp 5 Brumaire 10 12:00 maerz.txt"]);
    } finally {
      ftp.close();
      await srv.close();
    }
  });

  it("list() hands each unreadable line to onUnreadable instead, when the caller gives one", async () => {
    const srv = await serve();
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
    try {
      const names: string[] = [];
      const unreadable: string[] = [];
      for await (const entry of ftp.list("", { onUnreadable: (line) => unreadable.push(line) })) names.push(entry.name);
      expect(names).to.deep.equal(["ok.txt"]);
      expect(unreadable).to.deep.equal(["-rw-r--r-- 1 ftp ftp 5 Brumaire 10 12:00 maerz.txt"]);
    } finally {
      ftp.close();
      await srv.close();
    }
  });

  it("a listParser's undefined is a line it could not read, and is reported like the built-in parser's", async () => {
    const srv = await serve();
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", listParser: () => undefined });
    try {
      const unreadable: string[] = [];
      for await (const entry of ftp.list("", { onUnreadable: (line) => unreadable.push(line) }))
        expect.fail(`no entry expected, got ${entry.name}`);
      // Blank lines and "total N" are no entries whatever the parser says.
      expect(unreadable).to.have.length(2);
    } finally {
      ftp.close();
      await srv.close();
    }
  });

  it("keeps the first 100 unreadable lines of a flood for its error and counts the rest", async () => {
    const srv = await FixtureServer.start({ features: ["EPSV", "SIZE"] });
    srv.handle("LIST", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(Array.from({ length: 20_000 }, (_, i) => `garbage line ${i}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    const ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
    try {
      let caught: unknown;
      try {
        for await (const entry of ftp.list()) expect.fail(`no entry expected, got ${entry.name}`);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(FtpListingError);
      expect(caught).to.include({ total: 20_000 });
      expect((caught as FtpListingError).lines).to.have.length(100);
    } finally {
      ftp.close();
      await srv.close();
    }
  });

  it("isListNoise knows blank lines and ls's total line, and nothing else", () => {
    expect(["", "  ", "total 8", "TOTAL 0 "].every(isListNoise)).to.equal(true);
    expect(["total", "totals 8", "Total of 8 files", "-rw-r--r-- 1 a b 5 Nov 10 12:00 x"].some(isListNoise)).to.equal(false);
  });
});

describe("LIST parser properties (fast-check)", () => {
  it("Unix: a line made from an entry parses back to it", () => {
    const now = new Date(Date.UTC(2026, 10, 25, 12, 0));
    fc.assert(
      fc.property(names, sizes, minutes, fc.constantFrom("-", "d"), fc.boolean(), (name, size, when, kind, withYear) => {
        // ls shows a year for anything older than six months or in the future.
        const date = withYear ? new Date(Date.UTC(when.getUTCFullYear(), when.getUTCMonth(), when.getUTCDate())) : recent(when, now);
        const stamp = withYear ? String(date.getUTCFullYear()).padStart(5) : `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
        const line = `${kind}rw-r--r--   1 owner group ${String(size).padStart(8)} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2)} ${stamp} ${name}`;
        const entry = parseListLine(line, now);
        expect(entry).to.deep.include({ name, size, type: kind === "d" ? "dir" : "file", modified: date });
      }),
    );
  });

  it("Windows: a line in any of its date orders parses back to the entry", () => {
    fc.assert(
      fc.property(names, sizes, minutes, fc.boolean(), fc.constantFrom("iis", "slash", "iso", "dotted"), (name, size, when, dir, order) => {
        const [y, m, d] = [when.getUTCFullYear(), pad(when.getUTCMonth() + 1), pad(when.getUTCDate())];
        const date = { iis: `${m}-${d}-${pad(y % 100)}`, slash: `${m}/${d}/${y}`, iso: `${y}-${m}-${d}`, dotted: `${d}.${m}.${y}` }[order];
        const hour = when.getUTCHours();
        const time =
          order === "iis"
            ? `${pad(hour % 12 || 12)}:${pad(when.getUTCMinutes())}${hour < 12 ? "AM" : "PM"}`
            : `${pad(hour)}:${pad(when.getUTCMinutes())}`;
        const sizeText = dir ? "<DIR>" : order === "slash" ? size.toLocaleString("en-US") : String(size);
        const entry = parseListLine(`${date}  ${time}    ${sizeText.padStart(14)} ${name}`);
        // `123 456 x` on a 24-hour line reads two ways (a size grouped with a space, as some
        // locales print it, or a name starting with digits): unreadable, not guessed at.
        if (!dir && order !== "iis" && size >= 1 && size < 1000 && /^\d{3} /.test(name)) expect(entry).to.equal(undefined);
        else expect(entry).to.deep.include({ name, type: dir ? "dir" : "file", size: dir ? null : size, modified: when });
      }),
    );
  });

  it("Unix and Windows: a name's leading and trailing spaces are kept", () => {
    const spaced = fc
      .tuple(fc.integer({ min: 0, max: 3 }), names, fc.integer({ min: 0, max: 3 }))
      .map(([lead, name, trail]) => " ".repeat(lead) + name + " ".repeat(trail));
    fc.assert(
      fc.property(spaced, sizes, fc.boolean(), (name, size, dir) => {
        const unix = parseListLine(`${dir ? "d" : "-"}rw-r--r--   1 owner group ${String(size).padStart(8)} Nov 25  2024 ${name}`);
        expect(unix?.name).to.equal(name);
        // IIS pads <DIR> to its column; a size is right-aligned before one space.
        const iis = parseListLine(`11-25-26  10:20AM       ${dir ? "<DIR>          " : `${String(size).padStart(14)} `}${name}`);
        expect(iis?.name).to.equal(name);
      }),
    );
  });

  it("EPLF: facts in any order parse back to the entry", () => {
    fc.assert(
      fc.property(names, sizes, fc.integer({ min: 0, max: 4_000_000_000 }), fc.boolean(), (name, size, seconds, dir) => {
        const facts = fc.sample(fc.shuffledSubarray([`m${seconds}`, dir ? "/" : "r", `s${size}`, "i1.2"], { minLength: 4 }), 1)[0];
        const entry = parseListLine(`+${facts.join(",")},\t${name}`);
        expect(entry).to.deep.include({ name, type: dir ? "dir" : "file", size, modified: new Date(seconds * 1000) });
      }),
    );
  });

  it("MLSD: facts made from an entry parse back to it, fact names in any case", () => {
    fc.assert(
      fc.property(names, sizes, minutes, fc.boolean(), fc.boolean(), (name, size, when, dir, upper) => {
        const stamp = when.toISOString().replace(/[-:T]/g, "").slice(0, 14);
        const facts = `${upper ? "Type" : "type"}=${dir ? "dir" : "file"};${upper ? "Size" : "size"}=${size};modify=${stamp};`;
        const [parsedName, parsed] = parseMlsdLine(`${facts} ${name}`);
        expect(entryFromFacts(parsedName, parsed)).to.deep.include({ name, type: dir ? "dir" : "file", size, modified: when });
      }),
    );
  });

  it("no line makes a parser throw, and anything it returns has a name", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (line) => {
        for (const text of [line, `+${line}`, `01-02-2024  12:05PM ${line}`, `-rw-r--r-- 1 a b 1 Jan 1 2020 ${line}`]) {
          const entry = parseListLine(text);
          if (entry) expect(entry.name).to.be.a("string").and.not.equal("");
        }
        const [name, facts] = parseMlsdLine(line);
        expect(entryFromFacts(name, facts).type).to.be.oneOf(["file", "dir", "link", "unknown"]);
      }),
    );
  });
});

/** `when` moved into the six months before `now`, to the minute (ls shows those with a time). */
function recent(when: Date, now: Date): Date {
  const span = 180 * 86_400_000;
  return new Date(now.getTime() - (Math.abs(when.getTime()) % span) - 86_400_000 * 2);
}
