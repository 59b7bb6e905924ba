/**
 * SIZE inside a transfer's queue task, in TYPE I, where it counts the bytes
 * a binary transfer moves: to check a download or upload against, or to
 * learn where an APPE or a resumed upload goes on from.
 */
import { parse213 } from "./protocol.js";
import type { Reply } from "./reply.js";
import type { Session } from "./session.js";

/** Sends TYPE I and SIZE (inside the transfer's queue task): the size on a 213 reply, else null. */
export async function askSize(session: Session, path: string): Promise<number | null> {
  // A refusal (502, 550) only means there is nothing to verify against.
  const reply = await sizeReply(session, path);
  return parse213(reply.code, reply.text);
}

/** SIZE `path` in TYPE I (several servers refuse it in ASCII): its reply, whatever it is. */
export async function sizeReply(session: Session, path: string): Promise<Reply> {
  await session.useType("I");
  session.control.send(`SIZE ${path}`);
  return session.control.readReply(session.settings.timeout);
}
