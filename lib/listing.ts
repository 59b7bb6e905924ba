/**
 * Structured listings: MLSD facts (RFC 3659) and the LIST formats real
 * servers send (Unix `ls -l` in any locale and time style, IIS/Windows in
 * several date orders, EPLF), turned into one entry shape.
 */
import { monthIndex } from "./month-names.js";

/** One directory entry, whatever listing it came from. */
export interface ListEntry {
  name: string;
  type: "file" | "dir" | "link" | "unknown";
  /** Size in bytes when the listing gives it. */
  size: number | null;
  /** Modification time when the listing gives it (UTC for MLSD; as shown for LIST). */
  modified: Date | null;
  /** Unix permission string (`rwxr-xr-x`) or MLSD `perm` fact, when given. */
  permissions: string | null;
  /** Target of a symbolic link in a Unix listing. */
  target: string | null;
  /** The line as the server sent it, or the facts for MLSD. */
  raw: string;
  /**
   * MLSD's `unique` fact (RFC 3659 7.5.2), when the server gives it: two
   * names with one value are one file or directory. proftpd and pyftpdlib
   * give a link the value of what it points to; a walk does not enter a
   * directory whose value it has already entered under another name (a
   * link to an ancestor, or to another directory of the tree).
   */
  unique?: string;
}

/** An entry from an MLSD `[name, facts]` pair; `cdir`/`pdir` come back as `dir`. */
export function entryFromFacts(name: string, facts: Record<string, string>, raw = ""): ListEntry {
  const kind = (facts.type ?? "").toLowerCase();
  let type: ListEntry["type"] = "unknown";
  if (kind === "file") type = "file";
  else if (kind === "dir" || kind === "cdir" || kind === "pdir") type = "dir";
  else if (kind.startsWith("os.unix=slink") || kind.startsWith("os.unix=symlink")) type = "link";
  const size = facts.size ?? facts.sizd;
  const entry: ListEntry = {
    name,
    type,
    size: size !== undefined && /^\d+$/.test(size) ? Number(size) : null,
    modified: facts.modify ? parseMlsdTime(facts.modify) : null,
    permissions: facts["unix.mode"] ?? facts.perm ?? null,
    target: null,
    raw,
  };
  if (facts.unique) entry.unique = facts.unique;
  return entry;
}

/** What comes before an MLSD line's name: `fact=value;` facts (or none), then one space (RFC 3659 7.2). */
const MLSD_FACTS = /^(?:[^=;\s]+=[^;\s]*;)* /;
/** A name that begins as facts do (after any spaces): `size=1; x`, what `type=file; size=1; x` leaves after its first space. */
const FACTS_IN_NAME = /^\s*(?:[^=;\s]+=[^;\s]*;)+\s/;

/**
 * Whether an MLSD line is `fact=value;` facts (or none), one space and
 * the name, as RFC 3659 writes it and every server sends it. Split at its
 * first space (as ftplib splits it), any other line gives a name that is
 * not the file's: a fact value holding a space (`UNIX.ownername=John
 * Smith;`), a space before a `;`, a LIST line sent for MLSD. So does a
 * line with a space between its facts (`type=file; size=1; x`): read as
 * RFC 3659 reads it, its name is `size=1; x`. A name that itself begins
 * as facts do (`fact=value;` and a space) is taken for such a line: a
 * file really named so is reported too, never a name read from a line
 * that was another's. The structured listing reports each such line as
 * unreadable.
 */
export function isMlsdEntryLine(line: string): boolean {
  const facts = MLSD_FACTS.exec(line);
  return facts !== null && !FACTS_IN_NAME.test(line.slice(facts[0].length));
}

/** `YYYYMMDDHHMMSS[.fraction]` (UTC, as MLSx and MDTM give it) → Date to the millisecond, or null if malformed. */
export function parseMlsdTime(value: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?$/.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction] = match;
  const date = new Date(Date.UTC(+year, +month - 1, +day, +hour, +minute, +second, fraction ? +fraction.slice(0, 3).padEnd(3, "0") : 0));
  // Date.UTC rolls month 13 into next year; a real timestamp survives the round trip.
  const valid =
    date.getUTCMonth() === +month - 1 &&
    date.getUTCDate() === +day &&
    date.getUTCHours() === +hour &&
    date.getUTCMinutes() === +minute &&
    date.getUTCSeconds() === +second;
  return valid ? date : null;
}

/**
 * A month as `ls` prints it in some locale: `Nov`, `Mär`, `févr.`, ` 3月`,
 * `3월` (month-names.ts says which). A letter may be an escaped byte
 * (text-codec.ts): `ls` under LANG=de_DE.ISO-8859-1 prints `Mär` in
 * Latin-1, which UTF-8, the default, cannot decode.
 */
const MONTH = String.raw`\d{1,2}\s?[月월]|[\p{L}\udc80-\udcff][\p{L}.\udc80-\udcff]{1,11}`;
/** The time for the last six months, else the year (`2024` or `2024年`). */
const CLOCK_OR_YEAR = String.raw`\d{1,2}:\d{2}|\d{4}年?`;
/**
 * The date columns of `ls -l` in every style servers print: month first
 * (`Nov 25 10:20`, `Jan  3  1994`, ` 3月 10 12:00`), day first (`10 mars
 * 12:00`, `10. Mär 12:00`, as most locales translate it), long-iso
 * (`2026-12-06 12:00`), full-iso (`2026-12-06 12:00:00.000000000 +0100`)
 * and iso (`12-06 12:00`, or `2025-01-01` alone for an older file).
 * A day and its time are one space apart, as ls prints them: iso pads an
 * older file's day to the width of `12-06 12:00` (`2025-01-01  name`), so
 * with two spaces what follows is the name, even one beginning with a
 * clock (`2025-01-01  09:30 notes.txt` is `09:30 notes.txt`, not `notes.txt`).
 */
const UNIX_DATE = [
  String.raw`(?<m1>${MONTH})\s+(?<d1>\d{1,2})[.日]?\s+(?<t1>${CLOCK_OR_YEAR})`,
  String.raw`(?<d2>\d{1,2})\.?\s+(?<m2>${MONTH})\s+(?<t2>${CLOCK_OR_YEAR})`,
  String.raw`(?<isoDay>\d{4}-\d{2}-\d{2}) (?<isoTime>\d{2}:\d{2}(?::\d{2}(?<fraction>\.\d+)?)?)(?:\s+(?<zone>[+-]\d{4}))?`,
  String.raw`(?<isoMonthDay>\d{2}-\d{2})\s+(?<isoClock>\d{2}:\d{2})`,
  String.raw`(?<isoDayOnly>\d{4}-\d{2}-\d{2})\s?`,
].join("|");
// -rw-r--r--   1 owner group   1234 Nov 25 10:20 name  |  ... Jan  3  1994 name
// crw-rw----   1 root  tty     4, 1 Nov 25 10:20 tty1  (a device: major, minor)
// -rw-r--r--   1 ftp   5 Nov 25 10:20 name               (`ls -lgA`, no owner)
const UNIX_LINE = new RegExp(
  String.raw`^(?<kind>[-dlbcpsD])(?<perm>[-rwxsStTlL?]{9})[+@.]?\s+\d+\s+(?:\S+\s+){1,2}?(?<size>\d+|\d+,\s*\d+)\s+(?:${UNIX_DATE})\s(?<name>.*)$`,
  "u",
);
// IIS and Windows `dir`, in the date orders their locales use:
// 11-25-26  10:20AM       <DIR>          name   (IIS, MM-DD-YY)
// 11/25/2026  10:20 PM         1,234 name       (Windows dir, en-US)
// 2026-11-25  22:20:05         1234 name        (ISO dates)
// 25.11.2026  22:20    <DIR>          name      (de-DE and others, DD.MM.YYYY)
const DOS_LINE =
  /^(\d{1,4})([-/.])(\d{1,2})\2(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?\s+(<DIR>|<JUNCTION>|<SYMLINKD?>|\d{1,3}(?:[,.\u00a0]\d{3})+|\d+)( +)(\S.*)$/i;
// +i8388621.48594,m825718503,r,s280,\tdjb.html  (EPLF: facts, a tab, the name)
const EPLF_LINE = /^\+([^\t]*)\t(.+)$/;

/**
 * Parses one LIST line (Unix, IIS/Windows or EPLF). Returns undefined for lines
 * that are not entries (`total 12`, blank lines, unknown formats).
 */
export function parseListLine(line: string, now = new Date()): ListEntry | undefined {
  const entry = parseAnyFormat(line, now);
  // A line cut off before its name is no entry (found by the property specs).
  return entry?.name ? entry : undefined;
}

function parseAnyFormat(line: string, now: Date): ListEntry | undefined {
  const unix = UNIX_LINE.exec(line);
  if (unix?.groups) return unixEntry(unix.groups, line, now);
  const dos = DOS_LINE.exec(line);
  if (dos) return dosEntry(dos, line);
  const eplf = EPLF_LINE.exec(line);
  if (eplf) return eplfEntry(eplf[1], eplf[2], line);
  return undefined;
}

/**
 * A LIST line in a format of the caller's own (the `listParser` option):
 * an entry; null for a line known not to be one (a header, a total); or
 * undefined for a line it could not read, which list() then reports (see
 * `ListOptions.onUnreadable`) rather than drop. `parseListLine` is the
 * built-in one, to fall back on.
 */
export type ListParser = (line: string) => ListEntry | null | undefined;

/**
 * The word `ls -l` heads its listing with (`total 8`) in each language
 * coreutils is translated to: inetutils and netkit ftpd run `ls` in the
 * server's locale, and under LANG=de_DE it prints `insgesamt 8`, under
 * ru_RU `итого 8`, ja_JP `合計 8` (zh_CN: `总计` now, `总用量` before).
 */
const TOTAL_WORDS = new Set(
  (
    "total insgesamt totale totaal totalt totalo razem celkem celkom összesen toplam yhteensä kokku guztira iomlán " +
    "sveukupno skupno skupaj viso jumlah omugatte tổng итого усяго общо укупно загалом σύνολο 合計 합계 总计 总用量 總計 總用量"
  )
    .normalize("NFC")
    .split(" "),
);
const TOTAL_LINE = /^(\S+)\s+\d+\s*$/u;

/**
 * A LIST line that is no entry and hides none: blank, or the `total N`
 * that `ls -l` (and so many servers) prints first, in any language `ls`
 * speaks (TOTAL_WORDS). Any other line the parser cannot read may stand
 * for a file, and is reported.
 */
export function isListNoise(line: string): boolean {
  if (/^\s*$/.test(line)) return true;
  const total = TOTAL_LINE.exec(line);
  return total !== null && TOTAL_WORDS.has(total[1].normalize("NFC").toLowerCase());
}

/** EPLF (D. J. Bernstein's Easily Parsed LIST Format): `r` a file, `/` a directory, `s` size, `m` mtime in Unix seconds, `up` permissions. */
function eplfEntry(factText: string, name: string, line: string): ListEntry {
  let type: ListEntry["type"] = "unknown";
  let size: number | null = null;
  let modified: Date | null = null;
  let permissions: string | null = null;
  for (const fact of factText.split(",")) {
    if (fact === "/") type = "dir";
    else if (fact === "r" && type === "unknown") type = "file";
    else if (/^s\d+$/.test(fact) && Number.isSafeInteger(Number(fact.slice(1)))) size = Number(fact.slice(1));
    else if (/^m\d+$/.test(fact)) {
      const date = new Date(Number(fact.slice(1)) * 1000);
      modified = Number.isNaN(date.getTime()) ? null : date;
    } else if (fact.startsWith("up")) permissions = fact.slice(2);
  }
  return { name, type, size, modified, permissions, target: null, raw: line };
}

/**
 * An entry from the groups of UNIX_LINE, or undefined when its month is
 * none month-names.ts knows, or where its name starts is not known (the
 * line is then reported, not guessed at).
 */
function unixEntry(groups: Record<string, string | undefined>, line: string, now: Date): ListEntry | undefined {
  const kind = groups.kind!;
  // Only full-iso prints a zone, always after seconds and their fraction.
  // After a time without them, `+0100 x` is the name of a long-iso line
  // (`2026-12-06 12:00 +0100 x`) or a zone and `x` in a style of the
  // server's own: which is not known.
  if (groups.zone && !groups.fraction) return undefined;
  const modified = unixTime(groups, now);
  if (modified === undefined) return undefined;
  const type: ListEntry["type"] = kind === "d" ? "dir" : kind === "l" ? "link" : kind === "-" ? "file" : "unknown";
  let name = groups.name!;
  let target: string | null = null;
  if (type === "link") {
    const arrow = name.indexOf(" -> ");
    // `a -> b -> c`: the link `a` to `b -> c`, or `a -> b` to `c`; which is not known.
    if (arrow !== name.lastIndexOf(" -> ")) return undefined;
    if (arrow >= 0) {
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    }
  }
  // A device's "size" is its major and minor numbers.
  const size = /^\d+$/.test(groups.size!) ? Number(groups.size) : null;
  return { name, type, size, modified, permissions: groups.perm!, target, raw: line };
}

/**
 * The time of a Unix line's date columns (UTC of the values shown, except
 * full-iso, whose zone is applied); null when the date is not a real one;
 * undefined when the month is not known.
 */
function unixTime(groups: Record<string, string | undefined>, now: Date): Date | null | undefined {
  if (groups.isoDay || groups.isoDayOnly) {
    const [year, month, day] = (groups.isoDay ?? groups.isoDayOnly)!.split("-").map(Number);
    const [hour, minute, second] = (groups.isoTime ?? "00:00").split(":");
    const millis = Math.floor(Number(`0.${second?.split(".")[1] ?? "0"}`) * 1000);
    const date = utcDate(year, month - 1, day, Number(hour), Number(minute), Math.floor(Number(second ?? 0)), millis);
    if (!date || !groups.zone) return date;
    const sign = groups.zone.startsWith("-") ? -1 : 1;
    return new Date(date.getTime() - sign * (Number(groups.zone.slice(1, 3)) * 60 + Number(groups.zone.slice(3))) * 60_000);
  }
  if (groups.isoMonthDay) {
    const [month, day] = groups.isoMonthDay.split("-").map(Number);
    return recentDate(month - 1, day, groups.isoClock!, now);
  }
  const month = monthIndex((groups.m1 ?? groups.m2)!);
  if (month === undefined) return undefined;
  const day = Number(groups.d1 ?? groups.d2);
  const timeOrYear = (groups.t1 ?? groups.t2)!.replace("年", "");
  if (timeOrYear.includes(":")) return recentDate(month, day, timeOrYear, now);
  return utcDate(Number(timeOrYear), month, day);
}

/** `ls` shows a time for the last six months and a year otherwise; the year of a time is inferred. */
function recentDate(month: number, day: number, clock: string, now: Date): Date | null {
  const [hour, minute] = clock.split(":").map(Number);
  let year = now.getUTCFullYear();
  // A date "in the future" by more than a day belongs to last year.
  if (Date.UTC(year, month, day, hour, minute) > now.getTime() + 86_400_000) year--;
  return utcDate(year, month, day, hour, minute);
}

/**
 * The Date of these UTC fields, or null when they are no real date and
 * time: Date.UTC rolls `Feb 30` into March, `24:61` into the next day and
 * a month 25 (a day-first `25/11/2026` of Windows `dir` in en-GB, read
 * month first) two years on, a time a sync then compared as if the server
 * had given it.
 */
function utcDate(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, millis = 0): Date | null {
  const date = new Date(Date.UTC(year, month, day, hour, minute, second, millis));
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? date : null;
}

/**
 * An entry from a DOS_LINE match, or undefined when its name cannot be
 * read with certainty: then the line is reported, never read as a name
 * that is not the file's (a local file of the real name would look absent
 * from the listing, and a download with `delete` remove it).
 */
function dosEntry(match: RegExpExecArray, line: string): ListEntry | undefined {
  const [, first, separator, second, third, hourText, minute, secondText, meridiem, sizeOrDir, gap, rest] = match;
  // Windows `dir` groups a size's digits as its locale does, and some
  // locales group them with a space: `1 234 x` is then the file `x` of
  // 1,234 bytes, or the file `234 x` of 1 byte, which is not known. Read
  // as the second, `x` looked absent from the listing. Not in IIS's own
  // format (AM/PM), which never groups digits.
  if (!meridiem && gap.length === 1 && /^[1-9]\d{0,2}$/.test(sizeOrDir) && /^\d{3} /.test(rest)) return undefined;
  // The name starts after one space (a size, or a marker right-aligned in
  // its column, is before it), or after the spaces that pad a left-aligned
  // <DIR> or <JUNCTION> to its 14-wide column and the one after it (IIS,
  // Windows dir): spaces beyond those are the name's own. A marker with
  // more than one space after it and fewer than its column's is in a
  // layout of neither: where the name starts is not known.
  const padded = sizeOrDir.startsWith("<") && gap.length > 1 ? 15 - sizeOrDir.length : 1;
  if (gap.length < padded) return undefined;
  let name = gap.slice(padded) + rest;
  // <SYMLINK>, <SYMLINKD> and <JUNCTION> (Windows `dir`) are links, to a file or a directory.
  const marker = sizeOrDir.toUpperCase();
  const isLink = marker !== "<DIR>" && marker.startsWith("<");
  // Windows `dir` shows a link's target after its name: `name [C:\target]`.
  // Read only where one " [" splits them; with two or more, the name may
  // end at either.
  let target: string | null = null;
  if (isLink && name.endsWith("]")) {
    const at = name.indexOf(" [");
    if (at !== name.lastIndexOf(" [")) return undefined;
    if (at > 0) {
      target = name.slice(at + 2, -1);
      name = name.slice(0, at);
    }
  }
  // 2026-11-25 is year first; 25.11.2026 is day first; 11-25-26 and 11/25/2026 are month first.
  const [year, month, day] =
    first.length === 4 ? [first, second, third] : separator === "." ? [third, second, first] : [third, first, second];
  let fullYear = Number(year);
  if (year.length === 2) fullYear += fullYear < 70 ? 2000 : 1900;
  let hour = Number(hourText);
  if (meridiem) {
    const pm = meridiem.toUpperCase() === "PM";
    if (hour === 12) hour = pm ? 12 : 0;
    else if (pm) hour += 12;
  }
  const modified = utcDate(fullYear, Number(month) - 1, Number(day), hour, Number(minute), Number(secondText ?? 0));
  return {
    name: name,
    type: isLink ? "link" : marker === "<DIR>" ? "dir" : "file",
    size: sizeOrDir.startsWith("<") ? null : Number(sizeOrDir.replace(/[,.\u00a0]/g, "")),
    modified,
    permissions: null,
    target,
    raw: line,
  };
}
