/**
 * Structured listings: MLSD facts (RFC 3659) and the two LIST formats real
 * servers send, Unix `ls -l` and DOS/IIS, turned into one entry shape.
 */

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
}

/** An entry from an MLSD `[name, facts]` pair; `cdir`/`pdir` come back as `dir`. */
export function entryFromFacts(name: string, facts: Record<string, string>, raw = ""): ListEntry {
  const kind = (facts.type ?? "").toLowerCase();
  let type: ListEntry["type"] = "unknown";
  if (kind === "file") type = "file";
  else if (kind === "dir" || kind === "cdir" || kind === "pdir") type = "dir";
  else if (kind.startsWith("os.unix=slink") || kind.startsWith("os.unix=symlink")) type = "link";
  const size = facts.size ?? facts.sizd;
  return {
    name,
    type,
    size: size !== undefined && /^\d+$/.test(size) ? Number(size) : null,
    modified: facts.modify ? parseMlsdTime(facts.modify) : null,
    permissions: facts["unix.mode"] ?? facts.perm ?? null,
    target: null,
    raw,
  };
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

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

// -rw-r--r--   1 owner group   1234 Nov 25 10:20 name  |  ... Jan  3  1994 name
const UNIX_LINE =
  /^([-dlbcps])([-rwxsStTl]{9})[+@.]?\s+\d+\s+(?:\S+\s+){1,2}?(\d+)\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d{2}|\d{4})\s(.*)$/;
// 11-25-26  10:20AM       <DIR>          name  |  11-25-2026  10:20PM  1234 name
const DOS_LINE = /^(\d{2})-(\d{2})-(\d{2,4})\s+(\d{1,2}):(\d{2})\s*([AP]M)?\s+(<DIR>|\d+)\s+(.+)$/i;

/**
 * Parses one LIST line (Unix or DOS style). Returns undefined for lines
 * that are not entries (`total 12`, blank lines, unknown formats).
 */
export function parseListLine(line: string, now = new Date()): ListEntry | undefined {
  const unix = UNIX_LINE.exec(line);
  if (unix) return unixEntry(unix, line, now);
  const dos = DOS_LINE.exec(line);
  if (dos) return dosEntry(dos, line);
  return undefined;
}

function unixEntry(match: RegExpExecArray, line: string, now: Date): ListEntry {
  const [, kind, permissions, size, monthName, day, timeOrYear, rest] = match;
  const type: ListEntry["type"] = kind === "d" ? "dir" : kind === "l" ? "link" : kind === "-" ? "file" : "unknown";
  let name = rest;
  let target: string | null = null;
  if (type === "link") {
    const arrow = name.indexOf(" -> ");
    if (arrow >= 0) {
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    }
  }
  return {
    name,
    type,
    size: Number(size),
    modified: unixTime(monthName, Number(day), timeOrYear, now),
    permissions: permissions,
    target,
    raw: line,
  };
}

/** `ls` shows a time for the last six months and a year otherwise; the year of a time is inferred. */
function unixTime(monthName: string, day: number, timeOrYear: string, now: Date): Date | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0) return null;
  if (timeOrYear.includes(":")) {
    const [hour, minute] = timeOrYear.split(":").map(Number);
    let year = now.getUTCFullYear();
    const candidate = Date.UTC(year, month, day, hour, minute);
    // A date "in the future" by more than a day belongs to last year.
    if (candidate > now.getTime() + 86_400_000) year--;
    return new Date(Date.UTC(year, month, day, hour, minute));
  }
  return new Date(Date.UTC(Number(timeOrYear), month, day));
}

function dosEntry(match: RegExpExecArray, line: string): ListEntry {
  const [, month, day, yearText, hourText, minute, meridiem, sizeOrDir, name] = match;
  let year = Number(yearText);
  if (yearText.length === 2) year += year < 70 ? 2000 : 1900;
  let hour = Number(hourText);
  if (meridiem) {
    const pm = meridiem.toUpperCase() === "PM";
    if (hour === 12) hour = pm ? 12 : 0;
    else if (pm) hour += 12;
  }
  const isDir = sizeOrDir.toUpperCase() === "<DIR>";
  return {
    name: name,
    type: isDir ? "dir" : "file",
    size: isDir ? null : Number(sizeOrDir),
    modified: new Date(Date.UTC(year, Number(month) - 1, Number(day), hour, Number(minute))),
    permissions: null,
    target: null,
    raw: line,
  };
}
