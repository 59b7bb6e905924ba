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
 * Lines written at once, at most: the replies of one window are read
 * before the next is written, so a burst of thousands keeps no more than
 * this many replies owed (and the server's input buffer small).
 */
export const BURST_WINDOW = 128;

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
 * Sends `lines` in windows of BURST_WINDOW, each written in one go, and
 * resolves to each line's final reply (a 1xx before it is passed over),
 * in order. Runs inside an exclusive queue task: nothing else is written
 * meanwhile. A lost connection or a timeout rejects the whole burst.
 */
export async function sendBurst(session: Session, lines: readonly string[]): Promise<Reply[]> {
  const control = session.control;
  const replies: Reply[] = [];
  for (let start = 0; start < lines.length; start += BURST_WINDOW) {
    const window = lines.slice(start, start + BURST_WINDOW);
    control.batch(() => {
      for (const line of window) control.send(line);
    });
    const answers = await readFinals(session, window.length);
    window.forEach((line, i) => session.observe?.(line, answers[i]));
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

/** A burst's reply as sendcmd would give it: its text, or the FtpError of a 4xx/5xx. */
export function replyOrError(reply: Reply): string | FtpError {
  try {
    return refuseFailure(reply).text;
  } catch (error) {
    if (error instanceof FtpError) return error;
    throw error;
  }
}
