/**
 * Pure helpers for the FTP wire format: command validation and the parsers
 * ftplib calls parse150/parse227/parse229/parse257. No sockets here.
 */
import { FtpProtoError, FtpReplyError } from "./errors.js";

/** A TypeError or RangeError with Node's `code` for invalid arguments. */
function invalidArgument<E extends TypeError | RangeError>(error: E, code: string): E {
  Object.defineProperty(error, "code", { value: code, enumerable: true });
  return error;
}

/**
 * What would split or end a command. The patterns below are made once: a
 * regex literal in a function body is a new RegExp object at every call,
 * and these run for every command and reply.
 */
const LINE_BREAKING = /[\r\n\0]/;
const DIGITS = /^\d+$/;
const PORT_DIGITS = /^\d{1,5}$/;
const SIZE_IN_150 = /^150 .* \((\d+) bytes\)/i;
/** A line that begins with an MLSx fact (`name=value;`). */
const FACT_FIRST = /^[^=;\s]+=[^;\s]*;/;
/** Arguments, and commands (PASS, ACCT), whose text an error must not show. */
const SECRET_ARGUMENT = new Set(["password", "acct"]);
const SECRET_COMMAND = /^\s*(PASS|ACCT)\b/i;

/** Throws unless `text` can go on the control connection: CR, LF or NUL would split or end the command. */
export function assertSafeArgument(text: string, what = "command"): void {
  if (typeof text !== "string") {
    throw invalidArgument(new TypeError(`${what} must be a string, got ${typeof text}`), "ERR_INVALID_ARG_TYPE");
  }
  if (LINE_BREAKING.test(text)) {
    // A password's or account's text is never shown: the error may reach a log, stderr or a failed job's reason.
    const shown = SECRET_ARGUMENT.has(what) || SECRET_COMMAND.test(text) ? "" : `: ${JSON.stringify(text)}`;
    throw invalidArgument(
      new TypeError(`${what} contains CR, LF or NUL, which would inject another command${shown}`),
      "ERR_INVALID_ARG_VALUE",
    );
  }
}

/** Throws unless each of USER, PASS and ACCT's arguments can go on the control connection (see assertSafeArgument). */
export function assertLoginArguments(user: string, passwd: string, acct: string): void {
  assertSafeArgument(user, "user");
  assertSafeArgument(passwd, "password");
  assertSafeArgument(acct, "acct");
}

/** Throws unless `rest` is a whole, non-negative number (or a string of digits, as REST takes). */
export function assertRestOffset(rest: number | string | undefined): void {
  if (rest === undefined) return;
  if (typeof rest === "number" ? Number.isSafeInteger(rest) && rest >= 0 : /^\d+$/.test(rest)) return;
  throw invalidArgument(new RangeError(`rest must be a non-negative integer, got ${JSON.stringify(rest)}`), "ERR_OUT_OF_RANGE");
}

/** Throws unless `blocksize` (ftplib's block size for callbacks) is a positive integer. */
export function assertBlocksize(blocksize: number): void {
  if (Number.isInteger(blocksize) && blocksize >= 1) return;
  throw invalidArgument(new RangeError(`blocksize must be a positive integer, got ${blocksize}`), "ERR_OUT_OF_RANGE");
}

/** Throws unless `highWaterMark` is one a stream would take: a non-negative integer. */
export function assertHighWaterMark(highWaterMark: number): void {
  if (Number.isInteger(highWaterMark) && highWaterMark >= 0) return;
  throw invalidArgument(new RangeError(`highWaterMark must be a non-negative integer, got ${highWaterMark}`), "ERR_OUT_OF_RANGE");
}

/** Throws unless `port` is a valid TCP port. */
export function assertPort(port: number, what = "port"): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArgument(new RangeError(`${what} must be an integer from 1 to 65535, got ${port}`), "ERR_OUT_OF_RANGE");
  }
}

/** ftplib's `sanitize`: a PASS argument shown as asterisks, the rest quoted like Python's repr. */
export function sanitize(line: string): string {
  let shown = line;
  if (/^pass /i.test(line)) {
    const body = line.replace(/[\r\n]+$/, "");
    shown = line.slice(0, 5) + "*".repeat(body.length - 5) + line.slice(body.length);
  }
  return pythonRepr(shown);
}

/**
 * Python's repr() of a str, so debug lines match ftplib's byte for byte:
 * double quotes when the text has a `'` and no `"` (`"550 Can't open"`),
 * and control characters escaped as `\t`, `\xNN`.
 */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return quote + out + quote;
}

/** The size in a `213 n` reply to SIZE; null for any other reply or a number that is not a whole, safe one (never NaN). */
export function parse213(code: number, response: string): number | null {
  if (code !== 213) return null;
  const text = response.slice(3).trim();
  if (!DIGITS.test(text)) return null;
  const size = Number(text);
  return Number.isSafeInteger(size) ? size : null;
}

/** The transfer size from a `150 ... (1234 bytes)` reply, or null (ftplib's parse150). */
export function parse150(response: string): number | null {
  if (!response.startsWith("150")) throw new FtpReplyError(response);
  const match = SIZE_IN_150.exec(response);
  if (!match) return null;
  const size = Number(match[1]);
  return Number.isSafeInteger(size) ? size : null;
}

/** Host and port from a 227 reply: `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`. */
export function parse227(response: string): { host: string; port: number } {
  if (!response.startsWith("227")) throw new FtpReplyError(response);
  const match = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(response);
  if (!match) throw new FtpProtoError(`no address in PASV reply: ${response}`, response);
  const numbers = match.slice(1).map(Number);
  if (numbers.some((n) => n > 255)) {
    throw new FtpProtoError(`PASV reply has a number out of range: ${response}`, response);
  }
  const port = numbers[4] * 256 + numbers[5];
  if (port === 0) throw new FtpProtoError(`PASV reply names port 0: ${response}`, response);
  return { host: numbers.slice(0, 4).join("."), port };
}

/** The port from a 229 reply: `229 Entering Extended Passive Mode (|||port|)` (ftplib's parse229). */
export function parse229(response: string): number {
  if (!response.startsWith("229")) throw new FtpReplyError(response);
  const left = response.indexOf("(");
  const right = left < 0 ? -1 : response.indexOf(")", left + 1);
  if (left < 0 || right < 0 || right - left < 2) {
    throw new FtpProtoError(`malformed EPSV reply: ${response}`, response);
  }
  const delimiter = response[left + 1];
  if (response[right - 1] !== delimiter) throw new FtpProtoError(`malformed EPSV reply: ${response}`, response);
  const parts = response.slice(left + 1, right).split(delimiter);
  if (parts.length !== 5 || !PORT_DIGITS.test(parts[3])) {
    throw new FtpProtoError(`malformed EPSV reply: ${response}`, response);
  }
  const port = Number(parts[3]);
  if (port < 1 || port > 65535) throw new FtpProtoError(`EPSV reply port out of range: ${response}`, response);
  return port;
}

/** The directory name in a 257 reply, with doubled quotes undone (ftplib's parse257). */
export function parse257(response: string): string {
  if (!response.startsWith("257")) throw new FtpReplyError(response);
  if (response.slice(3, 5) !== ' "') return "";
  let name = "";
  for (let i = 5; i < response.length; i++) {
    const c = response[i];
    if (c === '"') {
      if (response[i + 1] !== '"') break;
      i++;
    }
    name += c;
  }
  return name;
}

/** The PORT argument for an IPv4 address and port: `h1,h2,h3,h4,p1,p2`. */
export function formatPort(host: string, port: number): string {
  return [...host.split("."), String(port >> 8), String(port & 255)].join(",");
}

/** The EPRT argument: `|1|host|port|` or `|2|host|port|`. */
export function formatEprt(host: string, port: number, family: 4 | 6): string {
  return `|${family === 6 ? 2 : 1}|${host}|${port}|`;
}

/** Strips the IPv4-mapped prefix Node reports on dual-stack sockets. */
export function plainAddress(address: string): { address: string; family: 4 | 6 } {
  if (address.startsWith("::ffff:") && address.includes(".")) return { address: address.slice(7), family: 4 };
  return { address, family: address.includes(":") ? 6 : 4 };
}

/**
 * The facts line of an MLST reply (RFC 3659 7.2: the one that begins with
 * a space), without the space; undefined if it has none. Where no line
 * begins with a space, the one line between the first and the last that
 * begins with a fact: proftpd 1.3.6 and 1.3.7a with `MultilineRFC2228 on`
 * send it with the reply's code and `-` in place of the space
 * (`250-modify=...;size=6; /a.txt`), and Android servers ("FTP Serveur
 * WiFi", "Serveur FTP": jlaffaye/ftp issue #321) with nothing before it,
 * between blank lines. Two such lines are no answer: undefined.
 */
export function mlstFactsLine(reply: string): string | undefined {
  const lines = reply.split("\n");
  const spaced = lines.find((text) => text.startsWith(" "));
  if (spaced !== undefined) return spaced.slice(1);
  const codeDash = `${lines[0].slice(0, 3)}-`;
  let found: string | undefined;
  for (let at = 1; at < lines.length - 1; at++) {
    const text = lines[at].startsWith(codeDash) ? lines[at].slice(codeDash.length) : lines[at];
    if (!FACT_FIRST.test(text)) continue;
    if (found !== undefined) return undefined;
    found = text;
  }
  return found;
}

/**
 * One MLSD/MLST line → `[name, facts]`, fact names lower-cased (ftplib's
 * mlsd). Unlike ftplib, the last character of the facts is dropped only
 * when it is the `;` RFC 3659 ends them with: from a server that leaves it
 * out, ftplib's `size=1234 name` is size "123".
 */
export function parseMlsdLine(line: string): [string, Record<string, string>] {
  const trimmed = line.replace(/[\r\n]+$/, "");
  const space = trimmed.indexOf(" ");
  const factText = space < 0 ? trimmed : trimmed.slice(0, space);
  const name = space < 0 ? "" : trimmed.slice(space + 1);
  const facts: Record<string, string> = {};
  for (const fact of (factText.endsWith(";") ? factText.slice(0, -1) : factText).split(";")) {
    const equals = fact.indexOf("=");
    const key = (equals < 0 ? fact : fact.slice(0, equals)).toLowerCase();
    facts[key] = equals < 0 ? "" : fact.slice(equals + 1);
  }
  return [name, facts];
}
