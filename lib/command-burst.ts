/**
 * Commands written together: a burst of lines sent in one write inside one
 * exclusive queue task, whose replies are then read in order. On a long
 * link that is one round trip for the lot instead of one each, whatever
 * the client's `pipelining` option says: the tree transfers ask a
 * directory's MDTMs, set its files' times and make its directories this
 * way.
 */
import { FtpError } from "./errors.js";
import { mayPipeline } from "./exchange.js";
import type { Reply } from "./reply.js";
import { refuseFailure, Session } from "./session.js";

/**
 * Bytes written at once, at most: the replies of one window are read
 * before the next is written. Small enough for one TCP segment on any
 * path (an MSS is 1,220 bytes or more on all but the rarest), so the
 * server reads a window in one read: ftp-srv handles each read's commands
 * in order but two reads' commands at once, and would answer two windows'
 * commands interleaved, which nothing in an MDTM's reply would show.
 */
export const BURST_BYTES = 1024;

/**
 * Splits `lines` into windows of at most BURST_BYTES (as written, CRLF
 * included; a longer line is a window of its own), the first `reserved`
 * bytes smaller (what will be written with it).
 */
export function burstWindows(lines: readonly string[], reserved = 0): string[][] {
  const windows: string[][] = [];
  let window: string[] = [];
  let bytes = reserved;
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 2;
    if (window.length > 0 && bytes + size > BURST_BYTES) {
      windows.push(window);
      window = [];
      bytes = 0;
    }
    window.push(line);
    bytes += size;
  }
  if (window.length > 0) windows.push(window);
  return windows;
}

/**
 * Plain commands (as sendcmds takes them) to write ahead of a transfer's
 * own, in the same write when it goes out with its EPSV, answered in the
 * round trip the transfer costs anyway (ListOptions.before,
 * TransferStreamOptions.before). `onReplies` gets each reply's text or
 * FtpError, in order, before the transfer's data.
 */
export interface BeforeCommands {
  lines: readonly string[];
  onReplies: (replies: Array<string | FtpError>) => void;
}

/** Plain commands sent ahead of a transfer, and who takes their replies (each final reply, in order). */
export interface CommandsBefore {
  lines: readonly string[];
  replies(replies: Reply[]): void;
}

/** Refuses, before anything is sent, a line that must wait for the replies before it (see exchange.ts HELD_VERBS). */
export function assertBurstable(lines: readonly string[]): void {
  for (const line of lines) {
    if (!mayPipeline(line)) {
      throw Object.assign(
        new TypeError(`${JSON.stringify(line.split(" ")[0])} cannot be sent in a burst: it must wait for the replies before it`),
        {
          code: "ERR_INVALID_ARG_VALUE",
        },
      );
    }
  }
}

/**
 * Sends `lines` in windows of BURST_BYTES, each written in one go, and
 * resolves to each line's final reply (a 1xx before it is passed over),
 * in order. Runs inside an exclusive queue task: nothing else is written
 * meanwhile. A lost connection or a timeout rejects the whole burst.
 */
export async function sendBurst(session: Session, lines: readonly string[]): Promise<Reply[]> {
  const control = session.control;
  // A line send() refuses (0xFF this server would misread, a character the encoding lacks) refuses the
  // burst before anything goes: refused mid-window, the lines before it went, their replies never read.
  for (const line of lines) control.assertSendable(line);
  const replies: Reply[] = [];
  for (const window of burstWindows(lines)) {
    control.batch(() => {
      for (const line of window) control.send(line);
    });
    const answers = await readFinals(session, window.length);
    // A PWD observe asks for goes after the whole window: asked in its
    // middle, the 257 would name where the later lines already led, and
    // observing them after it would record their changes twice.
    let askWhere = false;
    window.forEach((line, i) => {
      if (session.observe?.(line, answers[i]) === true) askWhere = true;
    });
    if (askWhere) await session.whereNow();
    replies.push(...answers);
  }
  return replies;
}

/** The next `count` final replies (a 1xx before each is passed over), in order. */
export async function readFinals(session: Session, count: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) {
    let reply: Reply;
    do reply = await session.control.readReply(session.settings.timeout);
    while (reply.code < 200);
    replies.push(reply);
  }
  return replies;
}

/**
 * How many of `lines` (from the first) fit in one window with `reserved`
 * bytes of other commands written with them.
 */
export function linesFitting(lines: readonly string[], reserved: number): number {
  let bytes = reserved;
  let count = 0;
  for (const line of lines) {
    bytes += Buffer.byteLength(line) + 2;
    if (bytes > BURST_BYTES) break;
    count++;
  }
  return count;
}

/**
 * Sends the commands `before` asks for ahead of a transfer whose own
 * commands take `reserved` bytes: those that do not fit in its write go
 * first, as a burst of their own; resolves to the ones that go with it,
 * whose replies `before` gets after the others'.
 */
export async function sendAheadOfTransfer(session: Session, before: CommandsBefore, reserved: number): Promise<CommandsBefore> {
  const fitting = linesFitting(before.lines, reserved);
  const ahead = before.lines.slice(0, before.lines.length - fitting);
  if (ahead.length === 0) return before;
  const first = await sendBurst(session, ahead);
  return { lines: before.lines.slice(ahead.length), replies: (rest) => before.replies([...first, ...rest]) };
}

/** A burst's reply as sendcmd would give it: its text, or the FtpError of a 4xx/5xx. */
export function replyOrError(reply: Reply): string | FtpError {
  try {
    return refuseFailure(reply).text;
  } catch (error) {
    if (error instanceof FtpError) return error;
    throw error;
  }
}
