#!/usr/bin/env node
/**
 * The `ftpstream` command: get, put, ls and cat over ftp://, ftpes:// and
 * ftps:// URLs, piping through stdin/stdout, with a progress bar on a
 * terminal; mirror (whole trees, only what changed), rm, mkdir and mv.
 * Exit status 0 only when the server confirmed the transfer; 1 for a
 * failure; 2 for a bad command line; 3 when mirror did all but some files.
 *
 * A Unix tool, so: `--help` goes to stdout with status 0, usage errors to
 * stderr with status 2, and when stdout's reader goes away
 * (`ftpstream cat URL | head -c 10`) the transfer is aborted, the session
 * ends with QUIT, and the command exits 0 without a word.
 *
 * Each command is a row of {@link COMMANDS}; a new one needs only a row.
 */
import { createReadStream, readFileSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { basename, dirname, posix } from "node:path";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { FTP, FtpOptions } from "./client.js";
import { jobServer, LoginSources, resolveLogin } from "./credentials.js";
import { FtpDeleteLimitError, FtpDirTransferError, FtpError, FtpPathError, isRefusal, type FtpPathFailure } from "./errors.js";
import type { LineStream } from "./line-stream.js";
import { assertNoClimb, unsafeNameReason } from "./path-safety.js";
import { codecFor } from "./text-codec.js";
import { SIGNAL_STATUS, StoppedBySignal, stopOnSignal } from "./cli-signals.js";
import { defaultNetrcPath, readNetrc } from "./netrc.js";
import { assertNameFits } from "./local-names.js";
import { remotePartName, writeThroughPart } from "./part-file.js";
import { isPlainFile, keptAtPart, uploadThroughPart } from "./part-upload.js";
import { FtpPool } from "./pool.js";
import type { DirProgress, DirTransferOptions } from "./sync.js";
import type { DirTransferResult } from "./tree-types.js";
import type { TransferProgress } from "./streams.js";
import { FTP_TLS, FtpTlsOptions } from "./tls.js";
import { FtpUrl, parseFtpUrl } from "./url.js";
import { MAX_TIMER_MS } from "./timeout-option.js";
import { compileGlob, globFilter, GlobPatternError, type GlobRule } from "./glob-filter.js";

/** The options every command takes, with their help text. */
const OPTIONS = {
  active: { type: "boolean", help: "active mode (PORT/EPRT) instead of passive" },
  "active-address": { type: "string", arg: "<ip>", help: "active mode behind NAT: announce this address in PORT/EPRT (implies --active)" },
  "active-ports": { type: "string", arg: "<lo-hi>", help: "active mode: listen on a port of this range (implies --active)" },
  timeout: { type: "string", arg: "<ms>", help: "connect/reply/idle timeout (default 30000)" },
  retry: { type: "string", arg: "<n>", help: "reconnect and resume up to n times after a dropped connection or a 4xx" },
  ca: { type: "string", arg: "<file>", help: "trust this CA certificate (PEM) for FTPS" },
  insecure: { type: "boolean", help: "do not verify the server's certificate" },
  quiet: { type: "boolean", help: "no progress bar" },
  debug: { type: "boolean", help: "print the control conversation (ftplib's debug level 1; passwords masked)" },
  netrc: { type: "boolean", help: "take the login for the URL's host from ~/.netrc ($NETRC when set; refused if others may read it)" },
  "netrc-file": { type: "string", arg: "<path>", help: "take the login for the URL's host from this netrc file" },
  "env-password": { type: "boolean", help: "take the password from $FTPSTREAM_PASSWORD (a URL with a user and no password)" },
  parallel: { for: ["mirror"], type: "string", arg: "<n>", help: "mirror over an FtpPool of n connections (default 1)" },
  queue: {
    for: ["mirror"],
    type: "string",
    arg: "<redis-url>",
    help: "mirror: enqueue one job per changed file on redis://host:port/name, for workers; Redis's password may come from $REDISCLI_AUTH instead of the URL",
  },
  wait: { for: ["mirror"], type: "boolean", help: "mirror --queue: wait until the queue drains, print its summary" },
  concurrency: {
    for: ["worker"],
    type: "string",
    arg: "<n>",
    help: "worker: jobs at once (and connections per server) in this process (default 4)",
  },
  "max-connections": {
    for: ["worker"],
    type: "string",
    arg: "<n>",
    help: "worker: most connections to one server across all workers (held in Redis)",
  },
  "lock-ms": {
    for: ["worker"],
    type: "string",
    arg: "<ms>",
    help: "worker: a dead worker's job is taken over after this long (default 30000)",
  },
  "until-drained": { for: ["worker"], type: "boolean", help: "worker: exit once the queue has nothing pending" },
  "allow-hard-links": {
    for: ["worker"],
    type: "boolean",
    help: "worker: upload a file with more than one hard link (refused by default: a link can bring in a file outside --local-root)",
  },
  "local-root": {
    for: ["worker"],
    type: "string",
    multiple: true,
    arg: "<dir>",
    help: "worker (required; / allows any): run only jobs whose local directory is this one or below it (repeatable); others fail at once",
  },
  "remote-root": {
    for: ["worker"],
    type: "string",
    multiple: true,
    arg: "<path>",
    help: "worker: run only jobs whose remote directory is this one or below it (repeatable); others fail at once",
  },
  server: {
    for: ["worker"],
    type: "string",
    multiple: true,
    arg: "<url>",
    help: "worker (required): connect only to this server (scheme, host, port; user if given; repeatable): a job naming another fails at once",
  },
  delete: { for: ["mirror"], type: "boolean", help: "mirror: remove from the target what the source lacks" },
  "dry-run": { for: ["mirror"], type: "boolean", help: "mirror: change nothing, say what would be done" },
  "max-delete": {
    for: ["mirror"],
    type: "string",
    arg: "<n>",
    help:
      "mirror --delete: if it would delete more than n entries (files and directories), delete none of them (exit 3); " +
      "without it, a source that lists nothing at all deletes nothing (exit 3)",
  },
  "max-filesize": {
    for: ["get", "cat", "mirror"],
    type: "string",
    arg: "<bytes>",
    help: "get, cat, mirror (download), and mirror --queue's jobs: a file larger than this is not fetched, or aborted once it grows past it; mirror goes on with the rest (exit 3)",
  },
  "part-files": {
    for: ["put", "mirror"],
    type: "boolean",
    help: "put, mirror (upload): send each file to a hidden .name.ftpstream-part on the server and rename it over the file only once whole (downloads always write local part files)",
  },
  exclude: {
    for: ["mirror"],
    type: "string",
    multiple: true,
    arg: "<glob>",
    help: "mirror (and --queue): leave out what matches, repeatable: neither transferred nor, with --delete, deleted (see globs above)",
  },
  include: {
    for: ["mirror"],
    type: "string",
    multiple: true,
    arg: "<glob>",
    help: "mirror (and --queue): take in what matches, repeatable; once one is given, a file no rule matches is left out (see globs above)",
  },
  "no-pipelining": {
    for: ["mirror"],
    type: "boolean",
    help: "mirror: one command at a time (no MDTM/MKD/MFMT bursts, no command written with its EPSV)",
  },
  recursive: { for: ["rm"], type: "boolean", short: "r", help: "rm: a directory and everything in it" },
  parents: { for: ["mkdir"], type: "boolean", short: "p", help: "mkdir: make missing parents too; fine if it exists" },
  help: { type: "boolean", short: "h", help: "print this help and exit" },
} as const satisfies Record<
  string,
  {
    type: "boolean" | "string";
    short?: string;
    multiple?: true;
    arg?: string;
    /**
     * The commands that take it, where not every one does: given to another
     * it is a usage error, never ignored (`rm --dry-run` deleted the file).
     */
    for?: readonly string[];
    help: string;
  }
>;

interface CliOptions {
  active: boolean;
  activeAddress: string | undefined;
  activePortRange: [number, number] | undefined;
  timeout: number | undefined;
  retry: number | undefined;
  ca: string | undefined;
  insecure: boolean;
  quiet: boolean;
  debug: boolean;
  parallel: number;
  delete: boolean;
  dryRun: boolean;
  pipelining: boolean;
  /** --max-filesize: the most bytes a downloaded file may have, or undefined. */
  maxFileSize: number | undefined;
  /** --max-delete: the most entries mirror --delete may delete (over it, none), or undefined. */
  maxDelete: number | undefined;
  /** --part-files: uploads go to a remote part name, renamed over the target once whole. */
  partFiles: boolean;
  /** mirror's --exclude and --include, in the order given (see glob-filter.ts); each pattern compiles. */
  filterRules: GlobRule[];
  recursive: boolean;
  parents: boolean;
  queue: string | undefined;
  wait: boolean;
  concurrency: number | undefined;
  maxConnections: number | undefined;
  lockMs: number | undefined;
  untilDrained: boolean;
  /** worker's --allow-hard-links: upload jobs may read a file with more than one hard link. */
  allowHardLinks: boolean;
  /** worker's --local-root, --remote-root and --server: what its jobs may name (worker requires --local-root and --server). */
  localRoots: string[] | undefined;
  remoteRoots: string[] | undefined;
  servers: string[] | undefined;
  netrc: boolean;
  netrcFile: string | undefined;
  envPassword: boolean;
  /** Where passwords come from besides the URL: read by main() before the command runs. */
  login: LoginSources;
}

/** One subcommand: its arguments as the usage shows them, how many it takes, and what it does. */
interface Command {
  args: string;
  summary: string;
  arity: readonly [min: number, max: number];
  run(args: string[], options: CliOptions): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  get: {
    args: "<url> [file|-]",
    summary: "download a file (default: its name here; - for stdout)",
    arity: [1, 2],
    run: ([url, target], options) => get(urlArgument(url), target, options),
  },
  put: {
    args: "<file|-> <url>",
    summary: "upload a file (- for stdin)",
    arity: [2, 2],
    run: ([source, url], options) => put(source, urlArgument(url), options),
  },
  ls: {
    args: "<url>",
    summary: "list a directory (MLSD, or LIST if the server lacks it)",
    arity: [1, 1],
    run: ([url], options) => list(urlArgument(url), options),
  },
  cat: {
    args: "<url>",
    summary: "download a file to stdout",
    arity: [1, 1],
    run: ([url], options) => get(urlArgument(url), "-", options),
  },
  mirror: {
    args: "<url> <dir> | <dir> <url>",
    summary: "mirror a tree, only what changed (url first: download; dir first: upload)",
    arity: [2, 2],
    run: ([from, to], options) => mirror(from, to, options),
  },
  rm: {
    args: "[-r] <url>",
    summary: "delete a file; -r: a directory and everything in it",
    arity: [1, 1],
    run: ([url], options) => remove(urlArgument(url), options),
  },
  mkdir: {
    args: "[-p] <url>",
    summary: "make a directory; -p: with every missing parent, fine if it exists",
    arity: [1, 1],
    run: ([url], options) => makeDirectory(urlArgument(url), options),
  },
  mv: {
    args: "<url> <path|url>",
    summary: "rename on the server (a relative path is taken from the login directory)",
    arity: [2, 2],
    run: ([url, to], options) => move(urlArgument(url), to, options),
  },
  worker: {
    args: "<redis-url>",
    summary: "run the jobs of `mirror --queue` (redis://host:port/name), on any number of machines; exit status 3 if one it ran failed",
    arity: [1, 1],
    run: ([queue], options) => worker(queue, options),
  },
};

const URL_FORMS =
  "ftp://[user[:password]@]host[:port]/path[;type=a|i|d], ftpes:// (AUTH TLS), ftps:// (implicit TLS); " +
  "a path with a '..' or '.' segment (%2F and %5C decoded too) is refused";

/** How mirror's --exclude and --include globs match (lib/glob-filter.ts). */
const GLOB_RULES = [
  "globs (--exclude, --include): matched against the path below the tree's root, '/' between names; without '/', the name in",
  "  any directory; with one, the whole path (a leading '/' only anchors); ending in '/', directories only (and all below them).",
  "  * ? [a-z] [!a-z] within one name (* matches a leading '.' too), ** across '/', \\ takes the next character as itself;",
  "  case counts. The first rule given that matches decides; an entry none matches goes with the nearest directory above it",
  "  that one matched; else a directory is walked, and a file is in unless some rule is an --include (then the directory",
  "  is made on the target only for what is taken in below it, and --delete does not remove it for itself).",
].join("\n");

function usage(): string {
  const column = (left: string, width: number): string => left.padEnd(width);
  const commands = Object.entries(COMMANDS).map(([name, command]) => `  ${column(`${name} ${command.args}`, 20)} ${command.summary}`);
  const options = Object.entries(OPTIONS).map(([name, option]) => {
    const flag = `${"short" in option ? `-${option.short}, ` : ""}--${name}${"arg" in option ? ` ${option.arg}` : ""}`;
    return `  ${column(flag, 18)} ${option.help}`;
  });
  return ["usage: ftpstream <command> [options] ...", ...commands, `urls: ${URL_FORMS}`, GLOB_RULES, "options:", ...options].join("\n");
}

/** A bad command line: reported on stderr with the usage, exit status 2. */
class UsageError extends Error {}

/** The command line, parsed. */
function parseCommandLine(argv: string[]): { help: boolean; command: string; args: string[]; options: CliOptions } {
  const config: ParseArgsConfig = {
    args: argv,
    allowPositionals: true,
    strict: true,
    // For the order of --exclude and --include among each other: the first rule that matches decides.
    tokens: true,
    options: Object.fromEntries(
      Object.entries(OPTIONS).map(([name, option]) => [
        name,
        { type: option.type, ...("short" in option ? { short: option.short } : {}), ...("multiple" in option ? { multiple: true } : {}) },
      ]),
    ),
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    // parseArgs' TypeErrors (ERR_PARSE_ARGS_*) say what was wrong with the line.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Partial<Record<keyof typeof OPTIONS, string | boolean | string[]>>;
  const [command = "", ...args] = parsed.positionals;
  const whole = (name: keyof typeof OPTIONS, message: string, min: number, max?: number): number | undefined =>
    values.help ? undefined : wholeNumber(values[name], `--${name} ${message}`, min, max);
  // A timer longer than MAX_TIMER_MS fires at once: --timeout 2147483648 timed out every connect after 1 ms.
  const timeout = whole("timeout", `takes a whole number of milliseconds, at most ${MAX_TIMER_MS}`, 0, MAX_TIMER_MS);
  const retry = whole("retry", "takes a whole number of attempts", 0);
  const parallel = whole("parallel", "takes a whole number of connections, 1 or more", 1) ?? 1;
  const maxFileSize = whole("max-filesize", "takes a whole number of bytes, 0 or more", 0);
  const maxDelete = whole("max-delete", "takes a whole number of entries, 0 or more", 0);
  const activeAddress = typeof values["active-address"] === "string" ? values["active-address"] : undefined;
  if (!values.help && activeAddress !== undefined && isIP(activeAddress) === 0)
    throw new UsageError("--active-address takes an IPv4 or IPv6 address");
  const activePortRange = values["active-ports"] === undefined || values.help ? undefined : portRange(String(values["active-ports"]));
  // As curl's --netrc and --netrc-file: one file or the other.
  if (!values.help && values.netrc === true && values["netrc-file"] !== undefined)
    throw new UsageError("give --netrc or --netrc-file, not both");
  const filterRules = values.help ? [] : globRules(parsed.tokens ?? []);
  if (filterRules.length > 0 && command !== "mirror") throw new UsageError("--exclude and --include are for mirror");
  if (!values.help) assertOptionsFor(command, values);
  const list = (name: "local-root" | "remote-root" | "server"): string[] | undefined => {
    const given = values[name];
    if (given === undefined || values.help) return undefined;
    const items = given as string[];
    if (items.some((item) => item === "")) throw new UsageError(`--${name} takes a value that is not empty`);
    return items;
  };
  const localRoots = list("local-root");
  const remoteRoots = list("remote-root");
  const servers = list("server");
  // Checked now: a URL that does not parse is a usage error, not a failure of every job.
  for (const server of servers ?? []) urlArgument(server);
  if (!values.help) assertTlsOptionsUsed(values, command === "worker" ? (servers ?? []) : args);
  // Empty (`--queue "$UNSET"`), it was no queue at all: mirror ran the transfer itself, and took the --delete that --queue refuses.
  if (!values.help && values.queue === "") throw new UsageError("--queue takes a redis:// URL, not an empty one");
  return {
    help: values.help === true,
    command,
    args,
    options: {
      active: values.active === true || activeAddress !== undefined || activePortRange !== undefined,
      activeAddress,
      activePortRange,
      timeout,
      retry,
      ca: typeof values.ca === "string" ? values.ca : undefined,
      insecure: values.insecure === true,
      quiet: values.quiet === true,
      debug: values.debug === true,
      parallel,
      delete: values.delete === true,
      dryRun: values["dry-run"] === true,
      pipelining: values["no-pipelining"] !== true,
      maxFileSize,
      maxDelete,
      partFiles: values["part-files"] === true,
      filterRules,
      recursive: values.recursive === true,
      parents: values.parents === true,
      queue: typeof values.queue === "string" ? values.queue : undefined,
      wait: values.wait === true,
      concurrency: whole("concurrency", "takes a whole number, 1 or more", 1),
      maxConnections: whole("max-connections", "takes a whole number, 1 or more", 1),
      // Bounded as --timeout is: BullMQ and the connection leases time their renewals on it.
      lockMs: whole("lock-ms", `takes a whole number, 1 or more (at most ${MAX_TIMER_MS})`, 1, MAX_TIMER_MS),
      untilDrained: values["until-drained"] === true,
      allowHardLinks: values["allow-hard-links"] === true,
      localRoots,
      remoteRoots,
      servers,
      netrc: values.netrc === true,
      netrcFile: typeof values["netrc-file"] === "string" ? values["netrc-file"] : undefined,
      envPassword: values["env-password"] === true,
      login: {},
    },
  };
}

/**
 * The --exclude and --include rules in the order the command line gives
 * them, each pattern compiled once here so that a bad one is a UsageError
 * before anything connects.
 */
function globRules(tokens: NonNullable<ReturnType<typeof parseArgs>["tokens"]>): GlobRule[] {
  const rules: GlobRule[] = [];
  for (const token of tokens) {
    if (token.kind !== "option" || (token.name !== "exclude" && token.name !== "include")) continue;
    const rule = { pattern: token.value ?? "", include: token.name === "include" };
    try {
      compileGlob(rule.pattern);
    } catch (error) {
      if (error instanceof GlobPatternError) throw new UsageError(`--${token.name}: ${error.message}`);
      throw error;
    }
    rules.push(rule);
  }
  return rules;
}

/**
 * A UsageError for an option given to a command it is not for (see
 * OPTIONS' `for`): ignored, `rm -r --dry-run` removed the tree it was
 * asked only to show, and `get --delete` or `put --max-filesize` looked
 * as if they did something. An unknown command is left to main to name.
 */
function assertOptionsFor(command: string, values: Partial<Record<keyof typeof OPTIONS, unknown>>): void {
  if (!Object.hasOwn(COMMANDS, command)) return;
  for (const [name, option] of Object.entries(OPTIONS) as [keyof typeof OPTIONS, (typeof OPTIONS)[keyof typeof OPTIONS]][]) {
    if (values[name] === undefined || !("for" in option)) continue;
    const commands: readonly string[] = option.for;
    if (!commands.includes(command)) throw new UsageError(`--${name} is for ${commands.join(", ")}, not ${command}: it would be ignored`);
  }
  if (values.wait !== undefined && values.queue === undefined) throw new UsageError("--wait is for mirror --queue: it would be ignored");
}

/**
 * A UsageError for --ca or --insecure when none of `args` (the command's
 * arguments, a worker's --server URLs) is an FTPS URL: they secure a TLS
 * connection, and ftp:// has none. Taken silently, `get ftp://u:pw@h/f
 * --ca ca.pem` sent the password in clear to a user who asked for a
 * verified server. Each argument is read as the URL parser reads it, not
 * by its first letters: ` ftp://…` (a blank first, or a tab inside the
 * scheme) is a URL to get and put, and passed the check that looked for
 * `ftps:` or `ftpes:` at its start.
 */
function assertTlsOptionsUsed(values: Partial<Record<keyof typeof OPTIONS, unknown>>, args: string[]): void {
  const given = (["ca", "insecure"] as const).filter((name) => values[name] !== undefined);
  if (given.length === 0) return;
  const security = args.map(urlSecurity).filter((found) => found !== undefined);
  if (security.length === 0 || security.some((found) => found !== "none")) return;
  throw new UsageError(
    `--${given[0]} is for FTPS (ftpes://, ftps://): ftp:// is not encrypted, so it would be ignored and the login sent in clear`,
  );
}

/** How `text` is secured as an FTP URL (read as the URL parser reads it), or undefined for what is none. */
function urlSecurity(text: string): FtpUrl["security"] | undefined {
  try {
    return parseFtpUrl(text).security;
  } catch {
    return undefined;
  }
}

/**
 * The number an option was given, written in decimal digits alone, at
 * least `min` and at most `max`; else a UsageError saying `message`. Number() took "" and
 * " " for 0 (`--timeout "$UNSET"`: no timeout at all, a run that may hang
 * for ever; `--max-filesize ""`: nothing fetched), and "0x10", "1e3" and
 * "0b11" for 16, 1000 and 3.
 */
function wholeNumber(value: unknown, message: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) throw new UsageError(message);
  return number;
}

/** `--active-ports lo-hi` (curl's `--ftp-port addr:lo-hi` range), or a UsageError. */
function portRange(text: string): [number, number] {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const [low, high] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!match || low < 1 || high > 65535 || low > high)
    throw new UsageError("--active-ports takes a range of ports lo-hi, 1 <= lo <= hi <= 65535");
  return [low, high];
}

/**
 * A URL argument, or a UsageError saying what a URL must look like; a URL
 * whose path as written has a dot segment is refused (see foldedDot).
 */
function urlArgument(text: string): FtpUrl {
  let url: FtpUrl;
  try {
    url = parseFtpUrl(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`expected a URL such as ${URL_FORMS}; got ${JSON.stringify(withoutLogin(text))} (${reason})`);
  }
  const dot = foldedDot(text);
  if (dot !== undefined) {
    throw new FtpPathError(
      url.path,
      "climbs",
      `refusing ${JSON.stringify(withoutLogin(text))}: its path has a segment ${JSON.stringify(dot)}, which the URL parser resolves away (a/b/.. is a)`,
    );
  }
  return url;
}

/**
 * The first `.` or `..` segment (any spelling the URL parser folds: `%2e`
 * either case, a tab or newline inside, `\` as a separator) of the path of
 * URL `text` as written, or undefined. The parser resolves them before the
 * path is seen, so `rm -r "ftp://h/home/$name"` with name `..` removed
 * `home`, and remotePathOf's rule for `..` held only where a separator was
 * encoded.
 */
function foldedDot(text: string): string | undefined {
  // As the URL parser reads its input: tabs and newlines dropped, C0 controls and spaces at the ends trimmed.
  const input = text.replace(/[\t\n\r]/g, "").replace(/^[\0-\x20]+|[\0-\x20]+$/g, "");
  const match = /^[A-Za-z][A-Za-z0-9+.-]*:[\\/]*[^\\/?#]*([^?#]*)/.exec(input);
  if (!match) return undefined;
  return match[1].split(/[\\/]/).find((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

/**
 * The remote path a command acts on, from a URL (or mv's target): refused
 * before anything connects (FtpPathError, reason "climbs", as removeDir
 * refuses one) when a segment of it, split at `/` and `\` once decoded,
 * climbs (`..` in any spelling) or is `.` (or dots and spaces). The URL
 * parser folds `/../` and `/%2e%2e/` away, but not `%2F..%2F`: decoded,
 * `rm ftp://h/a%2F..%2Fb` sent `DELE a/../b`, and deleted `b`.
 */
function remotePathOf(path: string, what: string): string {
  assertNoClimb(path, what);
  const dot = path.split(/[\\/]/).find((segment) => segment.includes(".") && /^[. ]+$/.test(segment));
  if (dot !== undefined)
    throw new FtpPathError(path, "climbs", `refusing ${what} ${JSON.stringify(path)}: it has a segment ${JSON.stringify(dot)}`);
  return path;
}

/** Which typecodes (`;type=`) each command takes: get and cat a, i, d; put a, i; ls d; the others none. */
const TYPECODES: Record<string, readonly NonNullable<FtpUrl["typecode"]>[]> = {
  get: ["a", "i", "d"],
  put: ["a", "i"],
  ls: ["d"],
};

/** A UsageError unless `command` takes the URL's typecode (see TYPECODES). */
function assertTypecode(url: FtpUrl, command: string): void {
  if (url.typecode === undefined || (TYPECODES[command] ?? []).includes(url.typecode)) return;
  throw new UsageError(
    `${command} takes no ';type=${url.typecode}' (a: ASCII and i: binary are for get, cat and put; d, a listing of names, ` +
      "for get, cat and ls); write a ';' that is part of a name as %3B",
  );
}

/**
 * get's local file when none is given: the last segment of the URL's
 * path. Refused (FtpPathError) unless it is one segment on every platform
 * (no `\`, not `.` or `..`, not empty): never a name that would put the
 * file outside the current directory.
 */
function localNameOf(path: string): string {
  const name = posix.basename(path);
  const reason = unsafeNameReason(name);
  if (reason !== undefined)
    throw new FtpPathError(
      name,
      reason,
      `refusing to take the local file's name from ${JSON.stringify(path)}: ${JSON.stringify(name)} is not one path segment ` +
        `(${reason}); name it: get <url> <file>`,
    );
  return name;
}

/**
 * `text` with whatever stands between its scheme (and the slashes after
 * it) and the last "@" masked: a URL that failed to parse may still hold a
 * password. The URL parser takes `ftp:u:pw@h` and `ftp:\\u:pw@h` for
 * `ftp://u:pw@h`: the scheme, not "//", is where the login may start
 * (before, such a password was shown whole).
 */
function withoutLogin(text: string): string {
  const scheme = /^[\0-\x20]*[A-Za-z][A-Za-z0-9+.-]*:[\\/\t\n\r]*/.exec(text);
  const start = scheme ? scheme[0].length : 0;
  const at = text.lastIndexOf("@");
  return at >= start ? `${text.slice(0, start)}***${text.slice(at)}` : text;
}

/**
 * `text` (a server's reply, a name from its listing) as it may go to a
 * terminal: every control character but tab and line break escaped as
 * `\xNN`. Written raw, a name holding ESC or CSI sequences could move the
 * cursor and write over the lines saying what failed. A lone surrogate
 * (no UTF-8 writes it: it went out as U+FFFD) is escaped too: U+DC80 to
 * U+DCFF, how a name's byte that did not decode is kept (text-codec.ts),
 * as that byte `\xNN`, as the library's messages show it; any other as
 * `\uNNNN`.
 */
function shown(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const control = (code < 0x20 && ch !== "\t" && ch !== "\n") || (code >= 0x7f && code <= 0x9f);
    if (control) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (ch.length === 1 && code >= 0xdc80 && code <= 0xdcff) out += `\\x${(code - 0xdc00).toString(16)}`;
    else if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return out;
}

/**
 * True once stdout's reader has gone away (EPIPE), as with `| head`. The
 * listener is also what keeps that EPIPE from becoming an uncaught 'error'.
 */
let stdoutClosed = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") stdoutClosed = true;
});

/**
 * Pipes `source` to stdout. If stdout's reader goes away, pipeline has
 * destroyed `source` (which aborts its transfer) and this returns quietly:
 * stopping is what the reader asked for.
 */
async function toStdout(source: Readable | (() => AsyncIterable<string | Buffer>)): Promise<void> {
  try {
    // A Readable, never a generator: before Node 18.17, pipeline() with
    // `end: false` and a generator as source never settled (nodejs/node#47708).
    await pipeline(typeof source === "function" ? Readable.from(source()) : source, process.stdout, { end: false });
  } catch (error) {
    if (!stdoutClosed) throw error;
  }
}

/** Ends the session with QUIT; after the reader of stdout went away, a failure to do so is not worth a word. */
async function finish(ftp: FTP): Promise<void> {
  if (stdoutClosed) await ftp.quit().catch(() => undefined);
  else await ftp.quit();
}

async function open(url: FtpUrl, options: CliOptions): Promise<FTP> {
  const common: FtpOptions = {
    host: url.host,
    port: url.port,
    timeout: options.timeout,
    retry: options.retry === undefined ? undefined : { attempts: options.retry },
    passive: !options.active,
    activeAddress: options.activeAddress,
    activePortRange: options.activePortRange,
    debugLevel: options.debug ? 1 : 0,
  };
  // Throws FtpNoPasswordError, before anything connects, for a user without a password.
  const { user, password, account } = resolveLogin(url, options.login);
  const login = { user, password, acct: account };
  if (url.security === "none") return FTP.create({ ...common, ...login, host: url.host });
  const settings: FtpTlsOptions = {
    ...common,
    ...login,
    implicit: url.security === "implicit",
    tls: { ...(options.ca ? { ca: readFileSync(options.ca) } : {}), rejectUnauthorized: !options.insecure },
    // The default, spelled out: ready resolves after PBSZ 0 and PROT P.
    protectData: true,
  };
  const client = new FTP_TLS(settings);
  try {
    await client.ready;
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

function progressBar(label: string, quiet: boolean): (progress: TransferProgress) => void {
  if (quiet || !process.stderr.isTTY) return () => undefined;
  return (progress) => {
    const mib = (progress.bytes / 1048576).toFixed(1);
    const rate = (progress.bytesPerSecond / 1048576).toFixed(1);
    let bar = "";
    if (progress.total) {
      const share = Math.min(1, progress.bytes / progress.total);
      const width = 30;
      bar = `[${"#".repeat(Math.round(share * width)).padEnd(width)}] ${(share * 100).toFixed(0).padStart(3)}% `;
    }
    process.stderr.write(`\r${label} ${bar}${mib} MiB ${rate} MiB/s   `);
  };
}

function endBar(quiet: boolean): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write("\n");
}

/**
 * `get` and `cat`: RETR in binary (TYPE I), or with `;type=a` in ASCII
 * (TYPE A, each line written with a LF: see localText), or with
 * `;type=d` the names NLST gives for the path (its directory), one a line.
 */
async function get(url: FtpUrl, target: string | undefined, options: CliOptions): Promise<void> {
  assertTypecode(url, "get");
  const listing = url.typecode === "d";
  if (!url.path && !listing) throw new UsageError("the URL must name a file");
  const path = remotePathOf(url.path, listing ? "to list" : "to download");
  const intoStdout = target === "-";
  if (!url.path && target === undefined) throw new UsageError("the URL names no file to name the local one after: get <url> <file>");
  const file = target ?? localNameOf(path);
  // A name no disk holds: refused typed before the connection, not by assertPlainTarget's lstat (ENAMETOOLONG).
  if (!intoStdout) assertNameFits(file);
  if (!intoStdout) await assertPlainTarget(file);
  // On a signal the connection is closed at once: the download fails now, and its part file is removed.
  const stop = stopOnSignal(intoStdout ? "the output is cut short" : `${JSON.stringify(file)} left as it was, its part file removed`);
  await stop.run(async () => {
    const ftp = await stop.track(open(url, options));
    try {
      const retrieve = (): Readable => {
        const progress = progressBar(posix.basename(path), options.quiet || intoStdout);
        if (url.typecode === "a" || listing) {
          // No verifySize: SIZE counts the file as stored, not in the CRLF form TYPE A sends it (vsftpd refuses it in ASCII mode).
          const lines = ftp.retrlines(listing ? (path ? `NLST ${path}` : "NLST") : `RETR ${path}`, {
            maxFileSize: options.maxFileSize,
          });
          lines.source.on("progress", progress);
          return Readable.from(localText(lines));
        }
        // verifySize: SIZE first, the count checked against it at the end. A
        // data connection cut with a FIN on a server whose 150 gives no size
        // (pure-ftpd, pyftpdlib) ends in 226 too: without it, a cut file
        // would be put in place, or written out, as the whole file, exit 0.
        const download = ftp.retrbinary(`RETR ${path}`, { maxFileSize: options.maxFileSize, verifySize: true });
        download.on("progress", progress);
        return download;
      };
      if (intoStdout) {
        await toStdout(retrieve());
      } else {
        // As a tree download writes each file: into a part file created
        // exclusively beside the target (never through a link planted at
        // either name), renamed into place only after the server's 226, so a
        // failed download never leaves a file that looks complete and removes
        // nothing but its own part file.
        await writeThroughPart(dirname(file), basename(file), async (sink) => {
          let bytes = 0;
          const download = retrieve();
          download.on("data", (chunk: Buffer) => (bytes += chunk.length));
          await pipeline(download, sink);
          return { bytes, modified: null };
        });
      }
      stop.completed(intoStdout ? "the output was written whole" : `${JSON.stringify(file)} was downloaded whole`);
      endBar(options.quiet || intoStdout);
      await finish(ftp);
    } finally {
      ftp.close();
    }
  });
}

/**
 * The lines of an ASCII transfer (their endings stripped: CRLF, LF or a
 * lone CR) as the bytes they came as, each with a LF, but for a last line
 * that came without an ending: the local form of a text file. The CLI's
 * client reads text as UTF-8, keeping bytes that are not as escapes (see
 * text-codec.ts): encoded back, every byte is what was sent.
 */
async function* localText(lines: LineStream): AsyncGenerator<Buffer> {
  const codec = codecFor("utf8");
  let count = 0;
  for await (const line of lines) {
    count++;
    yield codec.encode(lines.unterminatedLine === count ? (line as string) : `${line as string}\n`);
  }
}

/**
 * Refuses, before anything connects, a target of get's that is there and
 * is no regular file: the part file renamed over it would replace a FIFO
 * or device (/dev/null, run as root) with a regular file, and a directory
 * fails only once the whole file has come. A link is refused by
 * writeThroughPart; what is not there yet is made.
 */
async function assertPlainTarget(file: string): Promise<void> {
  const there = await lstat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!there || there.isFile() || there.isSymbolicLink()) return;
  const what = there.isDirectory() ? "a directory" : there.isFIFO() ? "a FIFO" : "a special file";
  throw new FtpPathError(
    file,
    "special",
    `refusing to write over ${JSON.stringify(file)}: it is ${what} (get <url> - > ${file} writes into what is there)`,
  );
}

/**
 * `put <file|-> <url>`: STOR, or with --part-files STOR to the hidden part
 * name beside the target, renamed over it only once the 226 came and SIZE
 * of the part gives the bytes sent, as uploadDir's partFiles (uploadThroughPart,
 * part-upload.ts): a cut or failed upload leaves the target as it was.
 */
async function put(source: string, url: FtpUrl, options: CliOptions): Promise<void> {
  assertTypecode(url, "put");
  if (!url.path) throw new UsageError("the URL must name the remote file");
  const remote = remotePathOf(url.path, "to upload to");
  const ascii = url.typecode === "a";
  // What the server stores of an ASCII upload is its own line endings' form: the part's SIZE cannot be checked against what was sent.
  if (ascii && options.partFiles) throw new UsageError("--part-files checks the part's size against what was sent: not with ;type=a");
  const path = JSON.stringify(remote);
  // On a signal the upload is aborted through its signal, not its connection closed: the part is deleted on that connection.
  const stop = stopOnSignal(
    options.partFiles
      ? `${path} left as it was`
      : `${path} on the server may hold part of the file (--part-files keeps an upload under a part name until it is whole)`,
  );
  await stop.run(async () => {
    const ftp = await stop.connect(open(url, options));
    try {
      const input: Readable = source === "-" ? process.stdin : createReadStream(source);
      const response = options.partFiles
        ? await putThroughPart(ftp, input, remote, stop.signal, options).catch((error: unknown) => {
            // The target is gone and the part is the only copy: a signal that came meanwhile must not say "left as it was".
            if (keptAtPart(error)) {
              stop.completed(
                `${path} was deleted to make room, and the complete upload stays at ${JSON.stringify(remotePartName(remote))}`,
              );
            }
            throw error;
          })
        : (await send(ftp, input, remote, stop.signal, options, ascii)).response;
      stop.completed(`${path} was uploaded whole`);
      // Nothing is left to clean up on it: from now on a signal closes it at once, as a QUIT left unanswered must not hold the exit.
      await stop.track(Promise.resolve(ftp));
      endBar(options.quiet);
      if (!options.quiet) process.stderr.write(`${shown(response)}\n`);
      await ftp.quit();
    } finally {
      ftp.close();
    }
  });
}

/**
 * STORs `input` to `remotePath`, aborted by `signal`, in binary (TYPE I),
 * or with `ascii` as text (TYPE A, every line ending sent as CRLF, as
 * storlines does); resolves to the server's final reply and the bytes sent.
 */
async function send(
  ftp: FTP,
  input: Readable,
  remotePath: string,
  signal: AbortSignal,
  options: CliOptions,
  ascii = false,
): Promise<{ response: string; bytes: number }> {
  const upload = ascii ? ftp.storlines(`STOR ${remotePath}`, { signal }) : ftp.storbinary(`STOR ${remotePath}`, { signal });
  upload.on("progress", progressBar(posix.basename(remotePath), options.quiet));
  await pipeline(input, upload);
  return { response: String(upload.response), bytes: upload.bytes };
}

/**
 * put --part-files: `input` to the part name beside `target`, then the part
 * renamed over it while it holds the bytes sent (uploadThroughPart,
 * part-upload.ts). A server that refuses to rename over a file has the
 * target deleted first, then the rename tried again, where MLST or SIZE
 * proves a plain file there (isPlainFile); never a directory or what cannot
 * be told. On any failure (a signal's abort too) the part is deleted,
 * unless it turned out to be another run's (two runs putting one file at
 * once: that run's part is left alone) or the target was deleted (the part
 * is the only copy left, and the error names it).
 */
async function putThroughPart(ftp: FTP, input: Readable, target: string, signal: AbortSignal, options: CliOptions): Promise<string> {
  const part = remotePartName(target);
  let response = "";
  await uploadThroughPart(ftp, {
    name: target,
    part,
    target,
    send: async () => {
      const sent = await send(ftp, input, part, signal, options);
      signal.throwIfAborted();
      response = sent.response;
      return sent.bytes;
    },
    targetIsFile: () => isPlainFile(ftp, target),
    pipelining: true,
    deletePart: () =>
      ftp.delete(part).then(
        () => undefined,
        (failure: unknown) => {
          // 550: nothing there to delete (the STOR was refused before it made the part).
          if (isRefusal(failure) && failure.replyCode === 550) return;
          const reason = failure instanceof Error ? failure.message : String(failure);
          process.stderr.write(`ftpstream: the part file ${shown(JSON.stringify(part))} may be left on the server (${shown(reason)})\n`);
        },
      ),
  });
  return response;
}

/**
 * `lines` (of a listing) as the bytes the server sent: a name's bytes
 * that did not decode as UTF-8 are kept in it as escapes (text-codec.ts)
 * and encoded back here. Written as strings, each went out as U+FFFD, and
 * `ls | while read name` had a name that is on no server.
 */
async function* sentBytes(lines: AsyncIterable<string>): AsyncGenerator<Buffer> {
  const codec = codecFor("utf8");
  for await (const line of lines) yield codec.encode(line);
}

/** `lines` with their control characters escaped (see shown). */
async function* shownLines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield shown(line);
}

/** The lines of `ls`: MLSD facts, or the server's LIST lines where it has no MLSD. */
async function* listingLines(ftp: FTP, path: string): AsyncGenerator<string> {
  try {
    for await (const [name, facts] of ftp.mlsd(path)) {
      // Fact values are case-insensitive (RFC 3659 7.5.1): IIS and others send TYPE=CDIR.
      const type = facts.type?.toLowerCase();
      if (type === "cdir" || type === "pdir") continue;
      yield `${(facts.type ?? "?").padEnd(4)} ${(facts.size ?? "-").padStart(12)} ${facts.modify ?? ""} ${name}\n`;
    }
  } catch (error) {
    // Servers without MLSD answer 500/502; fall back to LIST.
    if (!(error instanceof FtpError) || (error.replyCode !== 500 && error.replyCode !== 502)) throw error;
    for await (const line of ftp.retrlines(path ? `LIST ${path}` : "LIST")) yield `${line as string}\n`;
  }
}

async function list(url: FtpUrl, options: CliOptions): Promise<void> {
  assertTypecode(url, "ls");
  // ;type=d: the names alone, as NLST gives them (curl's reading of it).
  if (url.typecode === "d") return get(url, "-", options);
  const ftp = await open(url, options);
  // On a terminal, as GNU ls: a name's control characters could move the
  // cursor and rewrite what is shown. Into a pipe or file, names go as sent.
  const onTerminal = process.stdout.isTTY === true;
  try {
    await toStdout(() => (onTerminal ? shownLines(listingLines(ftp, url.path)) : sentBytes(listingLines(ftp, url.path))));
    await finish(ftp);
  } finally {
    ftp.close();
  }
}

/** Whether a command-line argument is meant as a URL rather than a local path. */
function looksLikeUrl(text: string): boolean {
  return /^ftps?:\/\/|^ftpes:\/\//i.test(text);
}

/**
 * `mirror <url> <dir>` downloads the tree, `mirror <dir> <url>` uploads it:
 * only what changed (size and mtime), with `--delete`, `--dry-run` and
 * `--parallel N` (an FtpPool of N connections). Exit status 3 when some
 * files failed and the rest were done (each is named on stderr).
 */
async function mirror(from: string, to: string, options: CliOptions): Promise<void> {
  const download = looksLikeUrl(from);
  if (download === looksLikeUrl(to)) throw new UsageError("mirror takes one URL and one local directory");
  const url = urlArgument(download ? from : to);
  assertTypecode(url, "mirror");
  const local = download ? to : from;
  const remote = remotePathOf(url.path, download ? "to download" : "to upload to") || ".";
  if (!download && options.maxFileSize !== undefined) throw new UsageError("--max-filesize limits downloads: mirror <url> <dir>");
  // A download always writes local part files; this asks for remote ones.
  if (download && options.partFiles)
    throw new UsageError("--part-files is for uploads: mirror <dir> <url> (downloads always write local part files)");
  // Its jobs delete nothing (mirror --queue takes no --delete): a bound on deletions there would be ignored.
  if (options.queue && options.maxDelete !== undefined) throw new UsageError("mirror --queue takes no --max-delete: it deletes nothing");
  if (!options.delete && options.maxDelete !== undefined) throw new UsageError("--max-delete bounds mirror --delete: it would be ignored");
  if (options.queue) return enqueueMirror(options.queue, url, download, remote, local, options);
  const settings: DirTransferOptions = {
    delete: options.delete,
    maxDelete: options.maxDelete,
    dryRun: options.dryRun,
    pipelining: options.pipelining,
    maxFileSize: options.maxFileSize,
    partFiles: options.partFiles,
    filter: mirrorFilter(options),
    onProgress: mirrorProgress(options.quiet),
    // Not left out under --quiet ("no progress bar"): the listing is what a dry run is run for.
    ...(options.dryRun ? dryRunListing() : {}),
  };
  // On a signal the connections are closed at once: the running files fail now, whatever the server does with an ABOR, and a
  // download's remove their part files; the old copies stay, and deletion, which waits for the transfers, does not start.
  const stop = stopOnSignal("no more files started, nothing deleted");
  settings.signal = stop.signal;
  // A pool of one too: its tree download writes each file's EPSV and RETR
  // behind the one in front where the server allows it (transfer-ahead.ts),
  // which FTP.downloadDir on a client of the caller's does not.
  const pool = new FtpPool({ size: options.parallel, connect: () => stop.track(open(url, options)) });
  // Kept for a run a signal stops: its rejection is the signal's, and says nothing of the files that failed before it.
  const failed: FtpPathFailure[] = [];
  const onFailure = (failure: FtpPathFailure): number => failed.push(failure);
  settings.onFailure = onFailure;
  const result = await stop.run(async () => {
    try {
      return download ? await pool.downloadDir(remote, local, settings) : await pool.uploadDir(local, remote, settings);
    } catch (error) {
      // Named as a run that ends with failures names them: the signal is said after them (main), and the exit status is its.
      if (stop.signal.aborted && failed.length > 0) {
        const what = download ? `downloadDir of ${remote}` : `uploadDir to ${remote}`;
        process.stderr.write(`ftpstream: ${shown(new FtpDirTransferError(what, failed, emptyResult()).message)}\n`);
      }
      // Said on a run where some files failed too: those entries were left out as well.
      if (error instanceof FtpDirTransferError && !stop.signal.aborted) {
        sayLeftOut(error.result);
        sayDeleteLimit(error, options.dryRun);
      }
      throw error;
    } finally {
      endBar(options.quiet);
      await pool.close();
    }
  });
  sayLeftOut(result);
  if (!options.quiet) {
    const [verb, deleted] = options.dryRun ? ["would transfer", "to delete"] : ["transferred", "deleted"];
    process.stderr.write(
      `${verb} ${result.transferred} files (${result.bytes} bytes), ${result.skipped} unchanged, ${result.deleted} ${deleted}\n`,
    );
  }
}

/**
 * mirror --dry-run's listing on stdout: each file it would transfer and
 * each entry --delete would remove (a directory with a trailing `/`), one
 * a line, as shown() prints it with a line feed escaped too. Its counts
 * alone did not say what a run with --delete would remove.
 */
function dryRunListing(): Pick<DirTransferOptions, "onPlan" | "onDelete"> {
  return {
    onPlan: (files) => {
      for (const file of files) process.stdout.write(`would transfer ${listedPath(file.path)}\n`);
    },
    onDelete: (path, type) => void process.stdout.write(`would delete ${listedPath(path)}${type === "dir" ? "/" : ""}\n`),
  };
}

/**
 * A path as a dry run lists it, one a line. shown() keeps a line feed (for
 * messages of several lines): in a name it made two lines, the second one
 * forged (a local file `stale\nwould transfer x` read as `stale` deleted
 * and x transferred).
 */
function listedPath(path: string): string {
  return shown(path).replace(/\n/g, "\\x0a");
}

/** mirror's `filter` from --exclude and --include, or none without them. */
function mirrorFilter(options: CliOptions): DirTransferOptions["filter"] {
  return options.filterRules.length > 0 ? globFilter(options.filterRules) : undefined;
}

/** A tree transfer's result with nothing counted: what FtpDirTransferError is built with for the failures before a signal. */
function emptyResult(): DirTransferResult {
  return { transferred: 0, skipped: 0, bytes: 0, deleted: 0, links: [], parts: [], kept: [] };
}

/**
 * Names on stderr what of the source a tree transfer left out without
 * being asked to: each link it did not follow, and each part file of an
 * unfinished transfer (a killed run's, or one still running elsewhere);
 * and what of the target `--delete` left though the source lacks it
 * (links, special files), for which the target is no mirror.
 */
function sayLeftOut(result: Pick<DirTransferResult, "links" | "parts" | "kept">): void {
  for (const link of result.links) process.stderr.write(`ftpstream: not followed (symbolic link): ${shown(link)}\n`);
  for (const part of result.parts) process.stderr.write(`ftpstream: left out (part file of an unfinished transfer): ${shown(part)}\n`);
  for (const kept of result.kept)
    process.stderr.write(`ftpstream: not deleted (link or special file in the target, not in the source): ${shown(kept)}\n`);
}

/**
 * Names on stderr, in the CLI's words, a --max-delete that kept --delete
 * from deleting anything (the failure's own message says maxDelete), or a
 * source that listed nothing at all, which deletes nothing without one
 * (the user is told how to allow it). A dry
 * run also lists on stdout each entry --delete wanted to remove, as below
 * the bound, in words that say the real run would not remove it either: a
 * user checking the dry run before an unattended one needs the list to
 * tell a mistake (an unmounted source) from a bound set too low.
 */
function sayDeleteLimit(error: FtpDirTransferError, dryRun: boolean): void {
  for (const { error: failure } of error.failures) {
    if (!(failure instanceof FtpDeleteLimitError)) continue;
    const empty = failure.reason === "empty-source";
    if (dryRun) {
      const why = empty ? "the source is empty" : "over --max-delete";
      for (const entry of failure.entries)
        process.stdout.write(`not deleted (${why}): ${listedPath(entry.path)}${entry.type === "dir" ? "/" : ""}\n`);
    }
    process.stderr.write(
      empty
        ? `ftpstream: nothing deleted: the source lists nothing at all (a missing, unreadable or unmounted source may look so) and --delete ` +
            `would remove ${failure.wouldDelete} entries (files and directories); pass --max-delete ${failure.wouldDelete} to allow it\n`
        : `ftpstream: nothing deleted: --delete would remove ${failure.wouldDelete} entries (files and directories), more than --max-delete ${failure.maxDelete}\n`,
    );
  }
}

/** One line on a terminal for a tree transfer: files and bytes of the totals. */
function mirrorProgress(quiet: boolean): ((progress: DirProgress) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  return (progress) => {
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    process.stderr.write(`\r${progress.files}/${progress.totalFiles} files, ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB   `);
  };
}

/**
 * `mirror … --queue redis://host:port/name`: walks and compares both trees
 * as mirror does, and enqueues one job per file that differs (BullMQ,
 * loaded only now) for `ftpstream worker` processes to run.
 */
async function enqueueMirror(
  queue: string,
  url: FtpUrl,
  download: boolean,
  remote: string,
  local: string,
  options: CliOptions,
): Promise<void> {
  if (options.delete || options.dryRun) throw new UsageError("mirror --queue takes neither --delete nor --dry-run");
  // Its walk asks times in bursts and its workers write each STOR and RETR with its EPSV: taken, it would be ignored.
  if (!options.pipelining) throw new UsageError("mirror --queue takes no --no-pipelining: its walk and its workers pipeline");
  const login = resolveLogin(url, options.login);
  if (login.source === "url") {
    process.stderr.write(
      "ftpstream: warning: the password in the URL is stored in every job in the queue; to keep it out, leave it out of the URL " +
        "and give it with --netrc, --netrc-file or --env-password here and to each worker\n",
    );
  }
  const { enqueueCommand } = await import("./queue-cli.js");
  // On a signal the walk's connections are closed at once, no more jobs are added and a --wait ends.
  const stop = stopOnSignal("no more jobs enqueued; those enqueued stay in the queue for its workers");
  const pool = new FtpPool({ size: options.parallel, connect: () => stop.track(open(url, options)) });
  await stop.run(async () => {
    try {
      const result = await enqueueCommand({
        queue,
        direction: download ? "download" : "upload",
        // Without the password when it came from netrc or the environment: each worker finds its own.
        server: jobServer(url, login),
        remote,
        local,
        planner: pool,
        wait: options.wait,
        signal: stop.signal,
        // Each job carries it to its worker (a v 2 job, which a worker without it refuses).
        maxFileSize: options.maxFileSize,
        filter: mirrorFilter(options),
        log: (line) => void (options.quiet ? undefined : process.stderr.write(`${shown(line)}\n`)),
      });
      for (const { path, error } of result.failures)
        process.stderr.write(`ftpstream: ${shown(path)}: ${shown(error.message.split("\n")[0])}\n`);
      if (result.failures.length > 0 || (result.summary?.failed ?? 0) > 0) process.exitCode = 3;
    } finally {
      await pool.close();
    }
  });
}

/** `worker redis://host:port/name`: runs mirror jobs until stopped (or drained, with --until-drained). */
async function worker(queue: string, options: CliOptions): Promise<void> {
  // Jobs come from Redis, which others may write: without these bounds a job would decide where the worker goes.
  const { servers, localRoots } = options;
  if (!servers || !localRoots) {
    const missing: string[] = [];
    if (!servers)
      missing.push("worker needs --server <url>: without it a job from the queue picks the server it connects and sends its login to");
    if (!localRoots)
      missing.push(
        "worker needs --local-root <dir>: without it a job from the queue picks the local directory it writes or reads (/ allows any)",
      );
    throw new UsageError(missing.join("\nftpstream: "));
  }
  const { workerCommand } = await import("./queue-cli.js");
  const summary = await workerCommand({
    queue,
    connect: (server) => open(parseFtpUrl(server), options),
    localRoots,
    remoteRoots: options.remoteRoots,
    servers,
    concurrency: options.concurrency,
    maxConnections: options.maxConnections,
    lockMs: options.lockMs,
    untilDrained: options.untilDrained,
    allowHardLinks: options.allowHardLinks,
    log: (line) => void (options.quiet ? undefined : process.stderr.write(`${shown(line)}\n`)),
  });
  // Run unattended (cron, CI), a worker whose jobs failed must not look like success: 3, as mirror --queue --wait.
  if (summary.failedHere > 0) process.exitCode = 3;
}

async function remove(url: FtpUrl, options: CliOptions): Promise<void> {
  assertTypecode(url, "rm");
  if (!url.path) throw new UsageError("the URL must name what to remove");
  const path = remotePathOf(url.path, "to remove");
  const ftp = await open(url, options);
  try {
    if (options.recursive) await ftp.removeDir(path);
    else await ftp.delete(path);
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

async function makeDirectory(url: FtpUrl, options: CliOptions): Promise<void> {
  assertTypecode(url, "mkdir");
  if (!url.path) throw new UsageError("the URL must name the directory");
  const path = remotePathOf(url.path, "to make");
  const ftp = await open(url, options);
  try {
    if (options.parents) await ftp.ensureDir(path);
    else await ftp.mkd(path);
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

async function move(url: FtpUrl, to: string, options: CliOptions): Promise<void> {
  assertTypecode(url, "mv");
  if (!url.path) throw new UsageError("the URL must name what to rename");
  // A URL as the target must name the same server; its path is what counts.
  const target = looksLikeUrl(to) ? urlArgument(to) : undefined;
  if (target) assertTypecode(target, "mv");
  if (target && (target.host !== url.host || target.port !== url.port))
    throw new UsageError("mv renames on one server: both URLs must name it");
  const destination = target ? target.path : to;
  if (!destination) throw new UsageError("mv needs a path to rename to");
  const from = remotePathOf(url.path, "to rename");
  // A path given as is is held to the rule a URL's is: one rule for every remote path the commands act on.
  const into = remotePathOf(destination, "to rename to");
  const ftp = await open(url, options);
  try {
    await ftp.rename(from, into);
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

/**
 * The password sources the options name, read once before the command runs,
 * so a worker with a bad netrc file stops at once instead of failing every job.
 */
async function loginSources(options: CliOptions): Promise<LoginSources> {
  let envPassword: string | undefined;
  if (options.envPassword) {
    envPassword = process.env.FTPSTREAM_PASSWORD;
    if (envPassword === undefined) throw new UsageError("--env-password: FTPSTREAM_PASSWORD is not set");
    // Said without the value: a password holding a line break (often a trailing newline) would otherwise be echoed.
    if (/[\r\n\0]/.test(envPassword))
      throw new UsageError("--env-password: FTPSTREAM_PASSWORD holds a CR, LF or NUL (a trailing newline?)");
  }
  if (options.netrcFile !== undefined) {
    return { envPassword, netrc: { file: options.netrcFile, entries: await readNetrc(options.netrcFile, { private: false }) } };
  }
  if (options.netrc) {
    const file = defaultNetrcPath();
    return { envPassword, netrc: { file, entries: await readNetrc(file, { private: true }) } };
  }
  return { envPassword };
}

async function main(argv: string[]): Promise<void> {
  const { help, command, args, options } = parseCommandLine(argv);
  if (help) {
    process.stdout.write(usage() + "\n");
    return;
  }
  if (!command) throw new UsageError("");
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!entry) throw new UsageError(`unknown command ${command}`);
  const [min, max] = entry.arity;
  if (args.length < min || args.length > max) throw new UsageError(`${command} takes ${entry.args}`);
  await entry.run(args, { ...options, login: await loginSources(options) });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    if (error.message) process.stderr.write(`ftpstream: ${error.message}\n`);
    process.stderr.write(usage() + "\n");
    process.exitCode = 2;
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ftpstream: ${shown(message)}\n`);
  // mirror: some files failed, the others were done (each failure is named above).
  process.exitCode = error instanceof FtpDirTransferError ? 3 : 1;
  // Stopped by a signal, the run has settled (its part files removed, its
  // connections closed): exit now, whatever handle Node's teardown might
  // still wait on. (One did: a data socket reset while its shutdown was
  // pending, fixed in transfer.ts's resetConnection; cron's kill must not
  // depend on finding every such case.)
  if (error instanceof StoppedBySignal) process.exit(SIGNAL_STATUS[error.signal]);
});
