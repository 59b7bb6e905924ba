/**
 * netrc files: ftp(1)'s auto-login file, read by curl (`--netrc`,
 * `--netrc-file`), lftp and Python's `netrc` module. The CLI reads one so
 * that a password need not be on the command line (where `ps` and shell
 * history show it) nor in a queue's jobs.
 *
 * The format, as Python's netrc reads it (its lexer is followed token for
 * token): words separated by spaces, tabs and newlines; `"..."` quotes a
 * word, and a backslash takes the next character as it is, in quotes or
 * not. `machine <host>` or `default` starts an entry; `login` (or `user`),
 * `password` and `account` give its values; `macdef <name>` starts a macro,
 * whose lines run to the first empty line and are skipped. A word starting
 * with `#` where a keyword is expected starts a comment to the end of its
 * line. CRLF reads as LF, and a UTF-8 byte order mark is skipped.
 *
 * Stricter than Python (each of these is an {@link FtpNetrcError}, never a
 * guess): a keyword at the end of the file without its value, a value
 * given twice in one entry, a quote not closed on its own line, a value
 * holding a line break (escaped) or NUL, and a macdef without the empty
 * line that ends it (Python agrees on the last).
 * Where Python 3.11 fails a comment after a blank line or a `#word words`
 * comment at the top, a comment here always runs to the end of its line,
 * as in curl.
 */
import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { FtpNetrcError } from "./errors.js";

/** One entry: a `machine` (or the `default`) and what it gives. */
export interface NetrcEntry {
  /** The host as written after `machine`, or null for `default`. */
  machine: string | null;
  login?: string;
  password?: string;
  account?: string;
  /** The line of its `machine` or `default` keyword. */
  line: number;
}

/** A netrc file larger than this is refused: it is a few lines per host, and memory stays bounded. */
export const NETRC_MAX_BYTES = 1024 * 1024;

interface Token {
  text: string;
  quoted: boolean;
  line: number;
  /** The newline after the word was read with it (so the word's line is already behind). */
  endedLine: boolean;
}

const WHITESPACE = new Set([" ", "\t", "\n"]);

/** Python netrc's _netrclex, over a string whose line ends are already LF. */
class Lexer {
  private pos = 0;
  line = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  next(): Token | undefined {
    const text = this.text;
    while (this.pos < text.length && WHITESPACE.has(text[this.pos])) {
      if (text[this.pos] === "\n") this.line++;
      this.pos++;
    }
    if (this.pos >= text.length) return undefined;
    const line = this.line;
    let word = "";
    if (text[this.pos] === '"') {
      this.pos++;
      for (;;) {
        let ch = text[this.pos++];
        if (ch === '"') return { text: word, quoted: true, line, endedLine: false };
        if (ch === "\\") ch = text[this.pos++];
        if (ch === undefined || ch === "\n") {
          throw new FtpNetrcError(
            this.file,
            "syntax",
            line,
            `${this.file}, line ${line}: a quoted value is not closed on its line (a missing '"'?)`,
          );
        }
        word += ch;
      }
    }
    for (;;) {
      let ch = text[this.pos++];
      if (ch === undefined) return { text: word, quoted: false, line, endedLine: false };
      if (WHITESPACE.has(ch)) {
        if (ch !== "\n") return { text: word, quoted: false, line, endedLine: false };
        this.line++;
        return { text: word, quoted: false, line, endedLine: true };
      }
      if (ch === "\\") {
        ch = text[this.pos++] ?? "";
        if (ch === "\n") this.line++;
      }
      word += ch;
    }
  }

  /** Skips to the start of the next line. */
  skipLine(): void {
    this.readLine();
  }

  /** The rest of the current line with its LF (without one at the end of the file), or undefined at the end. */
  readLine(): string | undefined {
    if (this.pos >= this.text.length) return undefined;
    const newline = this.text.indexOf("\n", this.pos);
    const end = newline < 0 ? this.text.length : newline + 1;
    const rest = this.text.slice(this.pos, end);
    this.pos = end;
    if (newline >= 0) this.line++;
    return rest;
  }
}

/** What no value may hold: it would end the command it is sent in (see assertSafeArgument). */
const UNSENDABLE = /[\r\n\0]/;

const VALUE_KEYWORDS = { login: "login", user: "login", password: "password", account: "account" } as const;

/**
 * Parses the text of a netrc file (`file` names it in errors). Returns its
 * entries in file order; throws {@link FtpNetrcError} (`reason` `"syntax"`)
 * for anything it cannot read as the format.
 */
export function parseNetrc(source: string, file: string): NetrcEntry[] {
  const text = source.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const lexer = new Lexer(text, file);
  const syntax = (line: number, what: string): FtpNetrcError => new FtpNetrcError(file, "syntax", line, `${file}, line ${line}: ${what}`);
  const valueOf = (keyword: Token): Token => {
    const value = lexer.next();
    if (!value) throw syntax(keyword.line, `"${keyword.text}" has no value after it`);
    return value;
  };
  const entries: NetrcEntry[] = [];
  let entry: NetrcEntry | undefined;
  for (;;) {
    const token = lexer.next();
    if (!token) return entries;
    if (!token.quoted && token.text.startsWith("#")) {
      if (!token.endedLine) lexer.skipLine();
      continue;
    }
    switch (token.text) {
      case "machine": {
        const name = valueOf(token);
        if (!name.text) throw syntax(token.line, `"machine" has an empty name`);
        if (UNSENDABLE.test(name.text)) throw syntax(token.line, `this machine's name holds a line break or NUL`);
        entry = { machine: name.text, line: token.line };
        entries.push(entry);
        break;
      }
      case "default":
        entry = { machine: null, line: token.line };
        entries.push(entry);
        break;
      case "macdef": {
        const name = valueOf(token);
        // Its lines run to the first empty one; after it, only a new entry may give values.
        entry = undefined;
        if (!name.endedLine) lexer.readLine();
        for (;;) {
          const line = lexer.readLine();
          if (line === undefined) {
            throw syntax(token.line, "this macdef has no empty line after its body, so every line after it would be read as the macro");
          }
          if (line === "\n") break;
        }
        break;
      }
      case "login":
      case "user":
      case "password":
      case "account": {
        if (!entry) throw syntax(token.line, `"${token.text}" is not inside an entry: it must follow "machine <host>" or "default"`);
        const field = VALUE_KEYWORDS[token.text];
        if (entry[field] !== undefined) throw syntax(token.line, `this entry gives its ${field} twice`);
        const value = valueOf(token).text;
        // An escaped newline or a NUL could never go in a command; said here, without the value (it may be a password).
        if (UNSENDABLE.test(value)) throw syntax(token.line, `this ${field} holds a line break or NUL, which no FTP command can carry`);
        entry[field] = value;
        break;
      }
      default:
        // The word itself is not shown: it may be the second half of an unquoted password.
        throw syntax(
          token.line,
          "a word where a keyword (machine, default, login, password, account, macdef) should be; " +
            'a value holding spaces, or starting with "#", must be in double quotes',
        );
    }
  }
}

/**
 * The entry for `host` (and `login`, when given), as curl and ftp(1)
 * choose it: the first `machine` entry for the host (compared without
 * case, IPv6 brackets or not) whose login is `login` or that names no
 * login; failing that, the first `default` entry that fits the same way.
 * Without `login`, the first entry for the host, whatever its login.
 * (Python's netrc keeps the last entry of a host instead, and ignores the
 * login.)
 */
export function findNetrcEntry(entries: readonly NetrcEntry[], host: string, login?: string): NetrcEntry | undefined {
  const bare = (name: string): string => name.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const wanted = bare(host);
  const fits = (entry: NetrcEntry): boolean => login === undefined || entry.login === undefined || entry.login === login;
  return (
    entries.find((entry) => entry.machine !== null && bare(entry.machine) === wanted && fits(entry)) ??
    entries.find((entry) => entry.machine === null && fits(entry))
  );
}

/** The file `--netrc` reads: `$NETRC` when set (as curl 8.16 and GNU inetutils' ftp), else `~/.netrc`. */
export function defaultNetrcPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETRC ? env.NETRC : join(homedir(), ".netrc");
}

/**
 * Why a netrc file may not be used as one's own (`"owner"`, `"permissions"`),
 * or null: Python's netrc rule for `~/.netrc`, the file ftp(1) reads. It
 * applies only when an entry gives a password for a login other than
 * `anonymous` (an anonymous login's password is an e-mail address, and a
 * file of logins alone holds no secret); then the file must belong to
 * `uid` and grant nothing (read, write or execute) to group or others.
 */
export function netrcExposure(
  stats: Pick<Stats, "uid" | "mode">,
  entries: readonly NetrcEntry[],
  uid: number,
): "owner" | "permissions" | null {
  if (!entries.some((entry) => entry.password !== undefined && entry.login !== "anonymous")) return null;
  if (stats.uid !== uid) return "owner";
  if ((stats.mode & 0o077) !== 0) return "permissions";
  return null;
}

export interface ReadNetrcOptions {
  /**
   * Refuse the file when {@link netrcExposure} finds it readable or
   * writable by others, or owned by another user (POSIX only). For the
   * file `--netrc` reads; `--netrc-file` names a file on purpose (a
   * mounted secret is often root's, mode 0444).
   */
  private: boolean;
}

/**
 * Reads and parses a netrc file. Throws {@link FtpNetrcError}: `"unreadable"`
 * (missing, not a regular file, over {@link NETRC_MAX_BYTES}), `"encoding"`
 * (not UTF-8), `"syntax"`, and with `private`, `"owner"` or `"permissions"`.
 * The checks are made on the file as opened (fstat), not on its name.
 */
export async function readNetrc(file: string, options: ReadNetrcOptions): Promise<NetrcEntry[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO opens at once (and is refused below as no regular file); without it, open waited for a writer, for ever.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new FtpNetrcError(file, "unreadable", null, `cannot read the netrc file ${file} (${why})`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new FtpNetrcError(file, "unreadable", null, `the netrc file ${file} is not a regular file`);
    if (stats.size > NETRC_MAX_BYTES) {
      throw new FtpNetrcError(file, "unreadable", null, `the netrc file ${file} is larger than ${NETRC_MAX_BYTES} bytes`);
    }
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      throw new FtpNetrcError(file, "encoding", null, `the netrc file ${file} is not UTF-8`, { cause: error });
    }
    const entries = parseNetrc(text, file);
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    const exposure = options.private && uid !== undefined ? netrcExposure(stats, entries, uid) : null;
    if (exposure === "owner") {
      throw new FtpNetrcError(
        file,
        "owner",
        null,
        `the netrc file ${file} holds passwords but belongs to uid ${stats.uid}, not to this user (uid ${uid}); ` +
          `refusing it, as ftp(1) and Python's netrc do (--netrc-file takes a file on purpose)`,
      );
    }
    if (exposure === "permissions") {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
      throw new FtpNetrcError(
        file,
        "permissions",
        null,
        `the netrc file ${file} holds passwords and is open to group or others (mode ${mode}); ` +
          `refusing it, as ftp(1) and Python's netrc do: run chmod 600 ${file}`,
      );
    }
    return entries;
  } finally {
    await handle.close();
  }
}
