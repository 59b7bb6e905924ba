/**
 * Debug output with ftplib's levels (1: commands and replies, 2: every raw
 * line both ways) and Node's `NODE_DEBUG=ftpstream`. Passwords are masked.
 *
 * Every line names the client it came from, so the interleaved output of
 * several clients (an FtpPool's above all) can be told apart: `ftp#<n>`,
 * n counting the clients made in this process, and for a pool's client
 * also the pool and its index there, `ftp#3@pool#1[0]`.
 */
import { debuglog } from "node:util";
import { sanitize } from "./protocol.js";

/**
 * Receives one line of debug output: `line` is exactly what ftplib prints
 * (e.g. `*cmd* 'PWD'`), `client` the tag of the client it came from
 * (`ftp#3`, or `ftp#3@pool#1[0]` once a pool has the client).
 */
export type DebugLogger = (line: string, client: string) => void;

const nodeDebug = debuglog("ftpstream");
/**
 * NODE_DEBUG is read once, when the process starts (util.debuglog): read
 * here once too, not through the `enabled` getter for every line at
 * debug level 0.
 */
const nodeDebugOn = nodeDebug.enabled;

/** Clients made so far in this process; numbers their tags. */
let clientsMade = 0;

export class DebugOutput {
  level = 0;
  /** The client's own tag, `ftp#<n>`. */
  readonly clientTag = `ftp#${++clientsMade}`;
  /** The tag on every line: the client's, and its pool's place once it has one. */
  tag = this.clientTag;
  logger: DebugLogger = (line, client) => process.stderr.write(`${client} ${line}\n`);

  /** A command as the caller issued it (level 1). */
  command(line: string): void {
    this.emit(1, "*cmd*", line);
  }

  /** A command line put on the wire, shown with its CRLF (level 2). */
  put(line: string): void {
    // Checked here too: the CRLF is appended only when the line is shown.
    if (this.level >= 2 || nodeDebugOn) this.emit(2, "*put*", line + "\r\n");
  }

  /** A raw line read from the server (level 2). */
  get(line: string): void {
    this.emit(2, "*get*", line);
  }

  /** A complete reply (level 1). */
  response(text: string): void {
    this.emit(1, "*resp*", text);
  }

  /** A reply no command asked for, dropped before the next command (level 1). */
  unsolicited(text: string): void {
    this.emit(1, "*unsolicited, dropped*", text);
  }

  /** A reconnect or a retry under the `retry` option (level 1). */
  retry(text: string): void {
    this.emit(1, "*retry*", text);
  }

  /** Something the client decided on its own (a fallback, a smaller pool), at level 1. */
  note(text: string): void {
    this.emit(1, "*note*", text);
  }

  /** The welcome, when getWelcome() is called with debugging on. */
  welcome(text: string): void {
    this.emit(1, "*welcome*", text);
  }

  private emit(level: number, kind: string, text: string): void {
    const logged = this.level >= level;
    if (!logged && !nodeDebugOn) return;
    const line = `${kind} ${sanitize(text)}`;
    if (logged) this.logger(line, this.tag);
    if (nodeDebugOn) nodeDebug("%s %s", this.tag, line);
  }
}

/** Each client's DebugOutput, so that a pool can add its place to the client's tag without a public setter. */
const outputs = new WeakMap<object, DebugOutput>();

/** Records `output` as the debug output of `client`. */
export function registerDebugOutput(client: object, output: DebugOutput): void {
  outputs.set(client, output);
}

/** Tags `client`'s later debug lines with its place in a pool, e.g. `ftp#3@pool#1[0]`. A client made elsewhere is left alone. */
export function tagPoolClient(client: object, place: string): void {
  const output = outputs.get(client);
  if (output) output.tag = `${output.clientTag}@${place}`;
}

/**
 * A pool's note at debug level 1: on the output of `client` (one of its
 * clients, so the line carries the pool's tag and goes to that client's
 * logger), or, with no client to speak through, to `NODE_DEBUG=ftpstream`.
 */
export function notePool(client: object | undefined, text: string): void {
  const output = client && outputs.get(client);
  if (output) output.note(text);
  else nodeDebug("%s", text);
}
