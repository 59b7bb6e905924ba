/**
 * Debug output with ftplib's levels (1: commands and replies, 2: every raw
 * line both ways) and Node's `NODE_DEBUG=ftpstream`. Passwords are masked.
 */
import { debuglog } from "node:util";
import { sanitize } from "./protocol.js";

/** Receives one line of debug output. */
export type DebugLogger = (line: string) => void;

const nodeDebug = debuglog("ftpstream");

export class DebugOutput {
  level = 0;
  logger: DebugLogger = (line) => process.stderr.write(line + "\n");

  /** A command as the caller issued it (level 1). */
  command(line: string): void {
    this.emit(1, "*cmd*", line);
  }

  /** Raw bytes put on the wire, CRLF included (level 2). */
  put(line: string): void {
    this.emit(2, "*put*", line);
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

  /** The welcome, when getWelcome() is called with debugging on. */
  welcome(text: string): void {
    this.emit(1, "*welcome*", text);
  }

  private emit(level: number, tag: string, text: string): void {
    if (this.level >= level) this.logger(`${tag} ${sanitize(text)}`);
    if (nodeDebug.enabled) nodeDebug("%s %s", tag, sanitize(text));
  }
}
