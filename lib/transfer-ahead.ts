/**
 * A transfer written ahead of its turn: its TYPE, EPSV and command go out
 * as soon as the transfer in front of it on the connection has written its
 * own EPSV and command, so the server finds them the moment it has sent
 * that transfer's final reply, and answers the EPSV without waiting for
 * the client. Per file that saves the round trip between one transfer's
 * final reply and the next one's EPSV: on a link 20 ms away, a small file
 * costs half a round trip instead of one and a half (bench/README.md,
 * row 12). Written after the 150 instead, it saves nothing there: a small
 * file's 150 and 226 arrive together.
 *
 * Only on a server known to leave the control connection unread while it
 * waits for a data connection and during a transfer, files and listings
 * alike. Probed (2026-12-06, the interop servers) with EPSV and RETR of a
 * second file written right behind the first one's, and again during the
 * first one's transfer, and over the interop tree transfers (500 files,
 * listings and files written ahead on four connections): vsftpd, GNU
 * inetutils ftpd and netkit ftpd answered them after the first one's 226
 * every time. ProFTPD held them during a RETR, but reads the control
 * connection during a listing and answers what it finds at once ("450
 * EPSV: data transfer in progress", or a TYPE's 200 where the listing's
 * 226 belonged): left out. pure-ftpd answered "500 Unknown command" during
 * a transfer and dropped them; pyftpdlib answered the EPSV at once, before
 * the 150; Twisted has no EPSV. ftp-srv, which held them in the probe, is
 * left out: it answers the commands of each read in a promise series of
 * their own, beside those of the read before (bench/README.md, "Pipelined
 * commands"). A welcome the administrator changed names no server, and
 * nothing is written ahead. A server that claims to hold them and does
 * not is caught where it shows (a final reply that is not 226 or 250, a
 * 4xx/5xx or a 229 read out of turn): the transfers fail and the
 * connection closes, nothing is taken for what it is not.
 *
 * What is written behind a transfer changes how that transfer may end
 * early, and what it may still write: ABOR would reach the server behind
 * the commands written ahead, which it would run first, and so would the
 * EPSV or PASV of a transfer going again after a refused EPSV. So an abort
 * of a transfer with a transfer written behind it closes the connection
 * instead (see DataTransfer), as does such a refusal (data.ts, epsvWith),
 * and the transfer written ahead fails with FtpAheadDroppedError, which
 * says nothing of it was received. Both transfers must ask for it
 * (TransferStart.ahead): the tree downloads over an FtpPool do.
 */
import { writeEpsvLines } from "./data.js";
import type { CommandsBefore } from "./command-burst.js";
import type { Session } from "./session.js";
import { DataTransfer, type TransferStart } from "./transfer.js";

/** FTP's method: whether its connection writes downloads ahead of their turn when they ask (an FtpPool shares such a client between two tree tasks). */
export const WRITES_AHEAD: unique symbol = Symbol("ftpstream.writesAhead");

/** Welcomes of servers that read no command while a transfer is under way (see above). */
const HOLDS_COMMANDS_IN_TRANSFER: readonly RegExp[] = [
  /\(vsFTPd [\d.]+\)/,
  // GNU inetutils and netkit (the BSD ftpd family), as text-codec.ts's KNOWN_WELCOMES names them.
  /FTP server \((?:GNU inetutils [^)]*|Version [^)]*)\) ready/,
];

/** Whether the server whose welcome is `welcome` leaves commands unread until a transfer's final reply. */
export function holdsCommandsInTransfer(welcome: string): boolean {
  return HOLDS_COMMANDS_IN_TRANSFER.some((pattern) => pattern.test(welcome));
}

/** What a transfer written ahead wrote, for its turn to read the replies of. */
export interface WrittenAhead {
  /** The session it was written on: at its turn, another one (a new connection) has none of it. */
  session: Session;
  /** The TYPE written before its EPSV, if any. */
  type: "A" | "I" | undefined;
  /** The commands written before that. */
  before: CommandsBefore | undefined;
}

/**
 * Writes the transfer `start` ahead of its turn when it may be (the
 * conditions under which it would go out with its EPSV in its turn, on a
 * server that holds commands during a transfer); resolves to what it
 * wrote, or undefined (nothing written: it goes in its turn, as usual).
 * Throws, with nothing written, for a command that may not be sent.
 */
export function writeTransferAhead(session: Session, start: TransferStart): WrittenAhead | undefined {
  const control = session.control;
  if (
    !start.ahead ||
    !control.holdsCommandsInTransfer ||
    control.closed ||
    !session.settings.passive ||
    !(start.withEpsv ?? session.settings.pipelining) ||
    !session.settings.useEpsv ||
    session.epsvRefused ||
    !session.epsvReached ||
    start.rest !== undefined ||
    start.sendEarly !== undefined ||
    // The transfer in front is being aborted: its ABOR and NOOP are still
    // to be answered, and what is written now would come between them.
    (session.activeTransfer instanceof DataTransfer && session.activeTransfer.aborted) ||
    session.goingAgain
  ) {
    return undefined;
  }
  control.assertSendable(start.command);
  const before = start.before && start.before.lines.length > 0 ? start.before : undefined;
  if (before) for (const line of before.lines) control.assertSendable(line);
  // knownType is the TYPE the transfer in front wrote, answered or not
  // (writeEpsvLines): this one writes its own unless that is the one it needs.
  const type = start.type && control.knownType !== start.type ? start.type : undefined;
  writeEpsvLines(session, type, before, start.command);
  session.writtenAhead = true;
  return { session, type, before };
}
