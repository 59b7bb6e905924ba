/**
 * The rename at the end of an upload through a part name (uploadThroughPart,
 * part-upload.ts: uploadDir's `partFiles`, the queue worker's upload jobs,
 * `put --part-files`): renaming the part over its target, but only while
 * the part still holds what this run sent.
 *
 * The part name is fixed per file (`.name.ftpstream-part`), so two runs
 * uploading one tree at once (cron starting the next run before the last
 * one ended, two queue workers running a job twice after a stalled lock)
 * share it: run B's STOR truncates the part run A has just finished, and A
 * would rename B's unfinished part over the target and report the file
 * done, the target torn until B ends (for good if B dies). SIZE of the part
 * before the rename tells: anything but the count sent, and the part is
 * another run's, neither renamed nor deleted.
 *
 * Pipelining, SIZE and RNFR go in one write and RNTO follows only when
 * SIZE agreed: the check costs no round trip over the RNFR and RNTO the
 * rename costs anyway. All of it runs as one task on the client's queue:
 * a tree transfer runs two files at once on one client, and another
 * file's RNFR between this RNFR and its RNTO would have this RNTO rename
 * that file. An RNFR not followed by its RNTO is not left pending:
 * proftpd refuses every later command but NOOP and RNTO (501 Bad
 * sequence) until an RNTO comes, which would fail the next file and let a
 * later RNTO rename this part. It is ended with `RNTO <part>`, a rename
 * onto itself, which vsftpd, proftpd, pure-ftpd and pyftpdlib accept
 * without touching the file.
 *
 * What SIZE cannot see: the other run's STOR arriving after the RNFR and
 * before the RNTO (one round trip; with pipelining off, after the SIZE
 * too). Only a part name of each run's own would close that.
 */
import { replyOrError, sendBurst } from "./command-burst.js";
import { FtpError, FtpReplyError, FtpSizeMismatchError, isRefusal } from "./errors.js";
import { parse213 } from "./protocol.js";
import type { RemoteClient } from "./remote-ops.js";
import { requireSuccess, type Session } from "./session.js";

/**
 * FTP's method (see renameOwnPart), called by the tree uploads through
 * TreeClient and by the queue worker: keyed by a symbol, as it is no
 * public API.
 */
export const RENAME_OWN_PART: unique symbol = Symbol("ftpstream.renameOwnPart");

/** The part held another count than was sent: another run is writing it. */
function othersPart(part: string, target: string, sent: number, stored: number, response: string): FtpSizeMismatchError {
  return new FtpSizeMismatchError(
    sent,
    stored,
    response,
    `${JSON.stringify(part)} holds ${stored} bytes, ${sent} were sent: another run is writing it ` +
      `(two runs uploading the same file at once); not renamed over ${JSON.stringify(target)}, and left to that run`,
  );
}

/** SIZE said the part is not there (550) and RNFR found nothing: another run renamed or deleted it. */
function partGone(part: string, target: string, response: string): FtpError {
  return new FtpError(
    `${JSON.stringify(part)} is no longer there (another run uploading the same file at once renamed or deleted it); ` +
      `${JSON.stringify(target)} is left as that run left it`,
    "ERR_FTP_PART_FILE",
    response,
  );
}

/**
 * Renames `part` over `target` if the server holds `sent` bytes at `part`
 * (SIZE), as one task on `client`'s queue. Resolves to undefined once
 * renamed; to the error saying why not when the part is not what this run
 * sent: FtpSizeMismatchError when it holds another count, FtpError
 * `ERR_FTP_PART_FILE` when SIZE (550) and RNFR both found nothing there.
 * In either case the part belongs to another run: the caller must fail the
 * file and leave the part and the target alone. A refused SIZE (5xx)
 * leaves nothing to check: the rename goes on. Any other failure (SIZE's
 * 4xx, RNFR's or RNTO's refusal, a lost connection) rejects with its
 * error, as FTP.rename does.
 *
 * `pipelining`: SIZE and RNFR written together (one round trip), then
 * RNTO; else SIZE, RNFR and RNTO one at a time.
 */
export function renameOwnPart(
  client: Pick<RemoteClient, "run">,
  part: string,
  target: string,
  sent: number,
  pipelining: boolean,
): Promise<FtpError | undefined> {
  // Never run again under `retry`: the rename may have been done.
  return client.run((session) => (pipelining ? renameInBurst : renameStepByStep)(session, part, target, sent));
}

/** SIZE is asked in binary: vsftpd refuses it in ASCII (550), which would read as a part not there. */
function typeFirst(session: Session): string[] {
  return session.control.knownType === "I" ? [] : ["TYPE I"];
}

async function renameStepByStep(session: Session, part: string, target: string, sent: number): Promise<FtpError | undefined> {
  for (const line of typeFirst(session)) {
    await session.voidCommand(line);
    session.control.knownType = "I";
  }
  let missing = false;
  let stored: number | null = null;
  try {
    const reply = await session.command(`SIZE ${part}`);
    stored = parse213(reply.code, reply.text);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    missing = error.replyCode === 550;
  }
  if (stored !== null && stored !== sent) return othersPart(part, target, sent, stored, "");
  try {
    const reply = await session.command(`RNFR ${part}`);
    if (reply.code < 300 || reply.code >= 400) throw new FtpReplyError(reply.text);
  } catch (error) {
    // Not there to SIZE, nor to rename: what could be deleted to make room would be the other run's file.
    if (missing && isRefusal(error)) return partGone(part, target, error.response);
    throw error;
  }
  await session.voidCommand(`RNTO ${target}`);
  return undefined;
}

async function renameInBurst(session: Session, part: string, target: string, sent: number): Promise<FtpError | undefined> {
  const typing = typeFirst(session);
  const replies = await sendBurst(session, [...typing, `SIZE ${part}`, `RNFR ${part}`]);
  const [sizeReply, rnfrReply] = replies.slice(typing.length);
  if (typing.length > 0) {
    try {
      requireSuccess(replies[0]);
    } catch (error) {
      await endPending(session, rnfrReply, part);
      throw error;
    }
    session.control.knownType = "I";
  }
  const size = replyOrError(sizeReply);
  // A refusal (5xx) leaves nothing to check; anything else (a 4xx) fails the rename.
  if (typeof size !== "string" && (size.replyCode === null || size.replyCode < 500)) {
    await endPending(session, rnfrReply, part);
    throw size;
  }
  const stored = typeof size === "string" ? parse213(sizeReply.code, sizeReply.text) : null;
  if (stored !== null && stored !== sent) {
    await endPending(session, rnfrReply, part);
    return othersPart(part, target, sent, stored, sizeReply.text);
  }
  if (rnfrReply.code < 300 || rnfrReply.code >= 400) {
    const rnfr = replyOrError(rnfrReply);
    if (isRefusal(size) && size.replyCode === 550 && isRefusal(rnfr)) return partGone(part, target, rnfr.response);
    // As FTP.rename: RNFR must get 3xx.
    throw rnfr instanceof Error ? rnfr : new FtpReplyError(rnfrReply.text);
  }
  await session.voidCommand(`RNTO ${target}`);
  return undefined;
}

/**
 * Ends an accepted RNFR that is not to be followed by its rename with an
 * RNTO onto the part itself (see the module's comment); its reply, even a
 * refusal, ends it on every server.
 */
async function endPending(session: Session, rnfrReply: { code: number }, part: string): Promise<void> {
  if (rnfrReply.code < 300 || rnfrReply.code >= 400) return;
  await session.command(`RNTO ${part}`).catch(() => undefined);
}
