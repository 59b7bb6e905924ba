/**
 * One data transfer from its command to its final reply: opens the data
 * connection, sends REST and the command, checks the preliminary reply,
 * layers TLS when PROT P is in force, and later reads the final reply or
 * aborts. The stream classes drive it; it runs inside a queue task.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import {
  errorForReply,
  FtpAheadDroppedError,
  FtpConnectionError,
  FtpError,
  FtpProtoError,
  FtpReplyError,
  FtpTempError,
  unexpectedFailure,
} from "./errors.js";
import { sendAheadOfTransfer, sendBurst, type CommandsBefore } from "./command-burst.js";
import { EpsvRefusedInStep, openActive, openPassive, PendingData } from "./data.js";
import { secureData, type SecuredData } from "./data-tls.js";
import { parse150 } from "./protocol.js";
import type { ReplyReader } from "./control.js";
import type { Reply } from "./reply.js";
import { refuseFailure, requireSuccess, type Session } from "./session.js";
import type { WrittenAhead } from "./transfer-ahead.js";
import { ignore } from "./ignore.js";

export interface TransferStart {
  /** The transfer command, e.g. `RETR file`. */
  command: string;
  /** Sent as `REST <rest>` before the command. */
  rest?: number | string | undefined;
  /** `TYPE` to send first: `I`, `A`, or none. */
  type?: "I" | "A" | undefined;
  /** Read a clear passive data connection through a SlabReader, up to `maxRead` bytes a read (DownloadStream only: the socket then emits no 'data'). */
  slabReads?: { maxRead: number } | undefined;
  /**
   * An upload's every byte, written (and the data connection ended) as soon
   * as it is connected after the command went out, without waiting for
   * the 1xx: the server reads them once it takes the command, and the
   * round trip to the 1xx overlaps the transfer. Clear data connections
   * only: under PROT P, TLS starts after the 1xx. See DataTransfer.sentEarly.
   */
  sendEarly?: Buffer | undefined;
  /** TransferStreamOptions.commandWithEpsv: the command may go out right behind EPSV (default: the client's `pipelining`). */
  withEpsv?: boolean | undefined;
  /** Commands written ahead of the transfer's own, in the same write when it goes out with its EPSV (see ListOptions.before). */
  before?: CommandsBefore | undefined;
  /** TransferStreamOptions.writeAhead: may be written ahead of its turn, and lets the next such transfer be (transfer-ahead.ts). */
  ahead?: boolean | undefined;
  /** A download whose byte count is not checked against the 150's size (`verifySize: false`): under PROT P its TLS end is watched whatever the 150 said (see countCheckedAgainst150). */
  countUnchecked?: boolean | undefined;
}

/**
 * `start` with its REST offset, slab reads and early bytes as given, the
 * rest as it was: what `{ ...start, rest, ... }` makes, built field by
 * field. Every transfer makes one, and V8 11 (Node 20) spreads such an
 * object several times slower than it builds it (about 1 µs against 0.2
 * once optimized; in a CPU profile of bench row 6's counted pass, the
 * spread in UploadRun's start was half of upload.ts's own time).
 * `satisfies` keeps the list whole: a field added to TransferStart and
 * not copied here does not compile.
 */
export function startWith(
  start: TransferStart,
  rest: TransferStart["rest"],
  slabReads: TransferStart["slabReads"],
  sendEarly: TransferStart["sendEarly"],
): TransferStart {
  return {
    command: start.command,
    rest,
    type: start.type,
    slabReads,
    sendEarly,
    withEpsv: start.withEpsv,
    before: start.before,
    ahead: start.ahead,
    countUnchecked: start.countUnchecked,
  } satisfies Record<keyof TransferStart, unknown>;
}

/** The commands whose data the server receives (see DataTransfer's serverSends). */
const RECEIVING_VERB = /^(STOR|STOU|APPE)\b/i;

/**
 * For a transfer whose command does not go out with its EPSV: the
 * commands asked to go before it and the TYPE it needs, in one burst (the
 * TYPE alone when nothing else goes).
 */
async function sendBeforeAndType(session: Session, before: CommandsBefore | undefined, type: "A" | "I" | undefined): Promise<void> {
  if (!before) {
    if (type) await session.useType(type);
    return;
  }
  const replies = await sendBurst(session, type ? [...before.lines, `TYPE ${type}`] : before.lines);
  before.replies(replies.slice(0, before.lines.length));
  if (type) {
    requireSuccess(replies[before.lines.length]);
    session.control.knownType = type;
  }
}

/**
 * Whether the transfer `start` lets the next one be written behind it
 * (TransferStart.ahead): a download only, whose task writes nothing more
 * once its command is out. An upload's may still ask SIZE after its 2xx
 * (verifySize, retry), which would go out behind the transfer written
 * ahead and read its 229 as SIZE's answer (no size: nothing checked).
 */
function letsNextAhead(start: TransferStart): boolean {
  return start.ahead === true && !RECEIVING_VERB.test(start.command);
}

/** A clear data connection's `handshake`, and a settled abort: nothing to wait for. */
const CLEAR: Promise<void> = Promise.resolve();

/**
 * Runs a transfer's task when the command queue reaches it, with the
 * session live at that time; `now`: at once if the queue is idle (see
 * CommandQueue.run), for a caller that is not a constructor.
 */
export type Enqueue = (task: (session: Session) => Promise<void>, now?: boolean, ahead?: (session: Session) => boolean) => Promise<void>;

export class DataTransfer {
  /** The size announced in a `150 ... (n bytes)` reply, else null. */
  readonly size: number | null;
  /** Settles when the data connection's TLS handshake is done and its certificate passed (at once for a clear one); rejects if either failed. */
  readonly handshake: Promise<void>;
  /** Reads the final reply, from the 1xx on. */
  private readonly finalRead: FinalReplyRead;
  private aborting: Promise<string> | undefined;
  /** Replies read while aborting, to tell the stream how its transfer ended. */
  private readonly abortReplies: Reply[] = [];
  /** Told when abort() is first called (see onAbort). */
  private readonly abortListeners: Array<(aborting: Promise<string>) => void> = [];

  private constructor(
    private readonly session: Session,
    /** The data connection (TLS when PROT P). */
    readonly socket: net.Socket | tls.TLSSocket,
    /** The 1xx reply. */
    readonly preliminary: Reply,
    /** The server sends on the data connection (RETR, LIST...), not receives (STOR, APPE, STOU). */
    private readonly serverSends: boolean,
    /** TransferStart.sendEarly's bytes were written and the data connection ended before the 1xx. */
    readonly sentEarly: boolean,
    /** The TLS handshake and certificate check (secure(), listened for before they could finish), or CLEAR. */
    handshake: Promise<void>,
  ) {
    this.size = preliminary.code === 150 ? parse150(preliminary.text) : null;
    this.handshake = handshake;
    // Read the final reply right away so a 4xx/5xx sent while data still
    // flows (disk full, transfer aborted) is seen at once.
    this.finalRead = new FinalReplyRead(session);
    session.control.awaitReply(this.finalRead);
  }

  /** The final reply, once read. */
  private get finalReply(): Reply | undefined {
    return this.finalRead.final;
  }

  /**
   * Opens the data connection and sends the command; resolves after the
   * server's 1xx reply. A passive connection's TCP handshake runs while
   * REST and the command go out (the command needs nothing from it, and on
   * a network that saves a round trip per transfer); TLS starts only after
   * the 1xx, as before.
   */
  static async open(session: Session, start: TransferStart, written?: WrittenAhead): Promise<DataTransfer> {
    if (written) return DataTransfer.openWritten(session, start, written);
    // Refused now, not once EPSV or PORT has readied a data connection for
    // it: Twisted answers the command after such a refusal with a 550.
    session.control.assertSendable(start.command);
    if (start.before) for (const line of start.before.lines) session.control.assertSendable(line);
    // The type already in force costs no call: most transfers of a run find it so.
    const type = start.type && session.control.knownType !== start.type ? start.type : undefined;
    // Pipelined (or asked for: commandWithEpsv), the command goes out with EPSV once this server has shown it
    // does EPSV on reachable ports: the server takes it after its 229 and
    // waits for the data connection (every one we test against does), which
    // saves the round trip that matters most on a long link. Not after REST:
    // a refused REST must keep the command from running at all.
    const pipelined =
      (start.withEpsv ?? session.settings.pipelining) && session.settings.passive && start.rest === undefined && !session.epsvRefused;
    const early = pipelined && session.epsvReached;
    // Pipelined but not early (the session's first EPSV port is still to be
    // reached before a command follows it): the TYPE and the commands
    // before still go with the EPSV, not a round trip ahead of it.
    const withEpsv = pipelined && !early && session.settings.useEpsv && session.control.dataHost.family !== 6;
    // Written early, the command takes its TYPE along (a tree transfer's
    // listings and files alternate between A and I on each connection),
    // and the commands asked to go before it.
    let before = start.before && start.before.lines.length > 0 ? start.before : undefined;
    // Nothing to send (the usual case: the type in force, nothing before): no call, no await.
    if (!early && !withEpsv && (before || type)) await sendBeforeAndType(session, before, type);
    // Whatever would not fit in the transfer's own write (one segment: see BURST_BYTES) goes first.
    if (before && early) before = await sendAheadOfTransfer(session, before, Buffer.byteLength(start.command) + 16);
    else if (before && withEpsv) before = await sendAheadOfTransfer(session, before, 16);
    let pending: PendingData;
    if (!session.settings.passive) pending = await openActive(session);
    else if (withEpsv) pending = await openPassive(session, { slabReads: start.slabReads, type, before });
    else if (!early) pending = await openPassive(session, { slabReads: start.slabReads });
    else {
      try {
        pending = await openPassive(session, {
          slabReads: start.slabReads,
          command: start.command,
          type,
          before,
          ahead: letsNextAhead(start),
        });
      } catch (error) {
        if (!(error instanceof EpsvRefusedInStep)) throw error;
        // Refused with its EPSV, the command goes again the usual way (EPSV alone, or PASV).
        return DataTransfer.openAgain(session, start);
      }
    }
    // Awaited rather than returned: an async function resolving to a promise costs two more microtask turns.
    return await DataTransfer.afterOpen(session, start, pending, early);
  }

  /**
   * The transfer `start`, refused its EPSV and command in step, goes again
   * the usual way (EPSV alone, or PASV, then the command). Having opened
   * the way for the next transfer when it wrote them, it holds it shut
   * until its 1xx: written ahead meanwhile, the next one's EPSV and command
   * would go out between this one's (IPv6, which keeps EPSV after such a
   * refusal), and this one read their replies as its own.
   */
  private static async openAgain(session: Session, start: TransferStart): Promise<DataTransfer> {
    session.goingAgain = true;
    try {
      return await DataTransfer.afterOpen(session, start, await openPassive(session, { slabReads: start.slabReads }), false);
    } finally {
      session.goingAgain = false;
    }
  }

  /**
   * open() for a transfer written ahead of its turn (transfer-ahead.ts):
   * its TYPE, EPSV and command are with the server; their replies are read
   * now, as open() reads them for a command written with its EPSV.
   */
  private static async openWritten(session: Session, start: TransferStart, written: WrittenAhead): Promise<DataTransfer> {
    // Its turn: nothing is written behind the transfer now under way (this
    // one), and its command is with the server: the next may go now.
    session.writtenAhead = false;
    if (start.ahead) session.openAhead();
    let pending: PendingData;
    try {
      pending = await openPassive(session, {
        slabReads: start.slabReads,
        command: start.command,
        type: written.type,
        before: written.before,
        written: true,
      });
    } catch (error) {
      if (!(error instanceof EpsvRefusedInStep)) throw droppedUnanswered(session, error);
      // Refused with its EPSV, and the command too: it goes again the usual way, as in open().
      return DataTransfer.openAgain(session, start);
    }
    return DataTransfer.afterOpen(session, start, pending, true);
  }

  /** The rest of open() once the data connection is on its way: the command (unless `sent`), the 1xx, the connected socket, TLS. */
  private static async afterOpen(session: Session, start: TransferStart, pending: PendingData, sent: boolean): Promise<DataTransfer> {
    let socket: net.Socket | tls.TLSSocket | undefined;
    try {
      if (!sent) {
        if (start.rest !== undefined) await sendRest(session, start.rest);
        session.control.send(start.command);
      }
      let sentEarly = false;
      const bytes = start.sendEarly;
      if (bytes && !session.settings.dataTls) {
        // Registered before connectedAfterPreliminary's await on the same connect: it
        // runs first, so `sentEarly` is settled once the transfer is made.
        pending.connected().then(
          (connected) => {
            connected.end(bytes);
            sentEarly = true;
          },
          () => undefined,
        );
      }
      const reply = await readPreliminary(session, pending);
      try {
        socket = await pending.connected();
      } catch (error) {
        // The connect failed: the server still owes the command's final
        // reply (a 425 or 426 for the data connection it never got). Read
        // before the error is thrown, so the next command does not take it.
        if (pending.connecting && !session.control.closed)
          await readPastPreliminary(session, session.settings.timeout).catch(() => undefined);
        throw error;
      }
      // TLS starts only after the 1xx, as ftplib does: a server may read
      // early bytes on the data connection as data (pyftpdlib resets it).
      const serverSends = !RECEIVING_VERB.test(start.command);
      const dataTls = session.settings.dataTls;
      // A clear transfer (every file of a plain FTP run) pays nothing for PROT P's checks.
      if (!dataTls) return new DataTransfer(session, socket, reply, serverSends, sentEarly, CLEAR);
      const secured = secure(session, socket, dataTls, serverSends && !countCheckedAgainst150(start, reply));
      socket = secured.socket;
      return new DataTransfer(session, socket, reply, serverSends, sentEarly, secured.handshake);
    } catch (error) {
      socket?.destroy();
      pending.dispose();
      // Failed with a transfer written behind it: which of the replies that
      // follow are still this one's is not known (a server that sends no
      // final reply after a failed data connection leaves the next one's 229
      // to be read as it), so nothing more is read on this connection.
      if (session.writtenAhead && !session.control.closed) {
        session.control.close(new FtpAheadDroppedError("closed: the transfer in front of this one failed before its data"));
      }
      throw error;
    }
  }

  /** True once the final reply has been read. */
  get complete(): boolean {
    return this.finalReply !== undefined;
  }

  /**
   * For watching during the transfer: calls `fail` (in a microtask of its
   * own, as a reaction to a promise of the final reply would run) with the
   * error of a final reply that is not a 2xx, or with the failure to read
   * one; never for a 2xx. A promise of the final reply and a reaction to it
   * on every transfer cost more (whenFinal().then(...) was that).
   */
  onFinalFailure(fail: (error: unknown) => void): void {
    this.finalRead.onFailure(fail);
  }

  /**
   * After the data connection closed: waits for the final reply (bounded by
   * the timeout, which closes the connection) and resolves to it if 2xx.
   */
  async finish(): Promise<Reply> {
    // Already read (the server sent it before the data connection closed): no timer to set.
    const reply = this.finalReply ?? (await this.finalRead.within(this.finalRead.promise()));
    if (reply.code < 200 || reply.code >= 300) throw errorForReply(reply.text);
    if (this.session.writtenAhead && reply.code !== 226 && reply.code !== 250) {
      // With a transfer written behind this one, another 2xx (the 229 of its
      // EPSV) says the server answered it during this transfer, which its
      // welcome said it would not: the replies are out of step, and this
      // transfer's end is not known (transfer-ahead.ts).
      this.session.control.close(new FtpAheadDroppedError("closed: the server answered a transfer written ahead out of turn"));
      throw new FtpProtoError(
        `${JSON.stringify(reply.text)} came as a transfer's final reply, out of step with a transfer written behind it`,
        reply.text,
      );
    }
    return reply;
  }

  /** True once abort() was called: the transfer cannot end well any more. */
  get aborted(): boolean {
    return this.aborting !== undefined;
  }

  /** The error an aborted transfer's stream ends with: the 4xx/5xx the server sent for it, if any. */
  abortError(): FtpError {
    const failure = this.abortReplies.find((reply) => reply.code >= 400);
    return failure ? errorForReply(failure.text) : new FtpError("the transfer was aborted", "ERR_FTP_ABORTED");
  }

  /**
   * Ends the transfer early: closes the data connection, sends ABOR and
   * reads the replies that belong to the transfer and to ABOR, in whichever
   * order the server sends them. Resolves to ABOR's reply, or, where ABOR's
   * own 225/226 comes only after the NOOP's 200 (ftp-srv), to the
   * transfer's 4xx/5xx; that late reply is dropped when it arrives.
   */
  abort(): Promise<string> {
    if (!this.aborting) {
      // Aborting before the close: a reset data connection may emit 'close'
      // at once, and its listeners ask `aborted` (and call abort() again).
      this.aborting = Promise.resolve().then(() => this.runAbort());
      this.closeForAbort();
      for (const listener of this.abortListeners.splice(0)) listener(this.aborting);
    }
    return this.aborting;
  }

  /**
   * Calls `listener` with abort()'s promise when the transfer is aborted
   * (by its stream, or by ftp.abort()). The stream learns of an abort this
   * way, not from its socket's 'close': under Node 18 a TLS socket whose
   * TCP socket was reset never emits 'close'.
   */
  onAbort(listener: (aborting: Promise<string>) => void): void {
    if (this.aborting) listener(this.aborting);
    else this.abortListeners.push(listener);
  }

  /**
   * Close first: a server blocked writing to a paused socket only looks at
   * the control connection once its write fails. A server that sends gets a
   * reset (see resetConnection); one that receives a FIN, after which it
   * still reads what arrived (a reset would throw that away).
   */
  private closeForAbort(): void {
    if (this.serverSends) resetConnection(this.socket);
    else this.socket.destroy();
  }

  /**
   * Resolves once an abort() in progress has read all its replies (at once
   * if none was asked for). The task holding the queue awaits this before
   * letting go: an abort() that raced the end of the transfer may still be
   * waiting for ABOR's own reply, which the next command must not read.
   */
  settledAbort(): Promise<void> {
    return this.aborting ? this.aborting.then(ignore, ignore) : CLEAR;
  }

  /** Sends ABOR once the data connection is closed (see abort) and reads the replies. */
  private async runAbort(): Promise<string> {
    if (this.finalReply) {
      this.abortReplies.push(this.finalReply);
      return this.finalReply.text;
    }
    const control = this.session.control;
    if (this.session.writtenAhead) {
      // ABOR would reach the server behind the transfer written ahead of its
      // turn, which it would run first (transfer-ahead.ts): closed instead.
      const error = new FtpAheadDroppedError();
      control.close(error);
      throw error;
    }
    // Plain ABOR, as ftplib sends it (its Telnet IP/Synch-less urgent data):
    // pure-ftpd ignores an ABOR line that starts with IAC IP IAC DM, and
    // closing the data connection first already gets every server's attention.
    // Servers answer with one reply (pure-ftpd) or two (426 + 226, or
    // proftpd's 226 + 426 under TLS); a NOOP's 200 marks where they end, so
    // no reply is left behind for the next command and none is waited for.
    // The NOOP goes out only once ABOR got its first reply: pure-ftpd, in the
    // middle of a transfer, reads the control connection in one read of up
    // to 99 bytes, answers an ABOR in it and throws the rest away, so a NOOP
    // sent along with ABOR was lost and its 200 never came. The first reply
    // comes after that read (and after vsftpd's and proftpd's transfer
    // loops stopped reading), so the NOOP is read as a command.
    control.send("ABOR");
    const first = await this.session.within(this.finalRead.promise(), (ms) => `no reply to ABOR from the server within ${ms} ms`);
    this.abortReplies.push(first);
    control.send("NOOP");
    for (;;) {
      const reply = await readPastPreliminary(this.session, this.session.settings.timeout);
      if (reply.code === 200) break;
      this.abortReplies.push(reply);
    }
    // pure-ftpd answers ABOR and the aborted transfer with one reply.
    control.markInStep();
    const last = this.abortReplies[this.abortReplies.length - 1];
    if (!this.abortReplies.some((reply) => reply.code === 225 || reply.code === 226 || UNKNOWN_COMMAND.includes(reply.code))) {
      // Only the transfer's failure came (426, or ftp-srv's 551 for the
      // reset data connection): ABOR's own 225/226 comes later, after the
      // NOOP's 200 (ftp-srv). The control connection drops it when it
      // comes (expectLateAbortReply), so no command takes it for its own;
      // abort() resolves to the transfer's reply.
      control.expectLateAbortReply();
      if (last.code >= 400) return last.text;
    }
    return checkAborReply(last);
  }
}

/**
 * The error of a transfer written ahead of its turn whose TYPE, EPSV or
 * commands before were not answered as asked (openWritten): a server that
 * answered what was written ahead during the transfer in front, or dropped
 * it (pure-ftpd answers "500 Unknown command" and throws the rest away),
 * leaves the transfer in front to read those replies and this one to read
 * the ones after (the one in front's 226 as its 229). The connection is
 * closed (epsvWith closes it on any such failure); nothing of this transfer
 * was received, so it fails as dropped (FtpAheadDroppedError), to be run
 * again on another connection, like a transfer dropped by an abort in front.
 */
function droppedUnanswered(session: Session, error: unknown): unknown {
  if (!session.control.closed) return error;
  return new FtpAheadDroppedError(
    `closed: a transfer written ahead of its turn did not get the replies it asked for (${(error as Error).message})`,
  );
}

/** Replies to a command the server does not know (Twisted answers ABOR 502). */
const UNKNOWN_COMMAND = [500, 501, 502, 504];

/** The text of a reply ABOR may get (225, 226, 426); any other is an FtpProtoError, as ftplib's error_proto. */
export function checkAborReply(reply: Reply): string {
  if (![225, 226, 426].includes(reply.code)) throw new FtpProtoError(`unexpected reply to ABOR: ${reply.text}`, reply.text);
  return reply.text;
}

/**
 * The transfer command's 1xx reply. Anything else fails the transfer with
 * the reply's error, except a 425 ("can't open data connection") to a
 * passive connect that never got through (refused, unreachable, timed
 * out): that is the cause and the 425 its symptom, so the connect's error
 * is thrown, as it was when the connect came first. Waiting for the connect
 * to settle makes that the same whichever of the two the client learns
 * first. A reset is not such a failure: the server had the connection and
 * dropped it, and its reply says why.
 */
function readPreliminary(session: Session, pending: PendingData): Promise<Reply> {
  // A chain, not an async function awaiting readReply(): a promise and a
  // microtask turn less on every transfer.
  return session.control.readReply(session.settings.timeout, true).then(
    (first) => {
      let reply: Reply;
      try {
        // session.read() without its own reaction: refuseFailure here.
        reply = refuseFailure(first);
      } catch (error) {
        return preliminaryFailed(pending, error);
      }
      // ftplib: some servers send a 2xx before the 1xx of LIST or STOR; skip it.
      if (reply.code >= 200 && reply.code < 300) {
        // Not with a transfer written behind this one: there it is that one's
        // TYPE, MDTM or EPSV answered out of turn (pyftpdlib answers EPSV at
        // once, before the 150 in front), which that one would then wait for
        // in vain. Nothing of this transfer came yet: dropped, as that one is.
        if (session.writtenAhead)
          throw new FtpAheadDroppedError(
            `closed: ${JSON.stringify(reply.text)} came before the 1xx, out of step with a transfer written behind`,
          );
        return session.read().then(onlyPreliminary, (error: unknown) => preliminaryFailed(pending, error));
      }
      return onlyPreliminary(reply);
    },
    (error: unknown) => preliminaryFailed(pending, error),
  );
}

/** `reply` if it is a 1xx; anything else fails the transfer (a 4xx/5xx was refused before). */
function onlyPreliminary(reply: Reply): Reply {
  if (reply.code >= 200) throw new FtpReplyError(reply.text);
  return reply;
}

/** readPreliminary's `error`, or the connect's own failure behind a 425 (see readPreliminary). */
function preliminaryFailed(pending: PendingData, error: unknown): Promise<never> {
  if (pending.connecting && error instanceof FtpTempError && error.replyCode === 425)
    return throwIfNotConnected(pending).then(() => {
      throw error;
    });
  throw error;
}

async function throwIfNotConnected(pending: PendingData): Promise<void> {
  let failure: unknown;
  await pending.connected().catch((error: unknown) => (failure = error));
  if (failure instanceof FtpError && failure.code !== "ECONNRESET") throw failure;
}

/**
 * Reads a transfer's final reply from its 1xx on, with no deadline while
 * the data flows (finish() sets one): the next reply that is not a 1xx
 * (pure-ftpd sends a stray "150 0.001 seconds (measured here)" while
 * aborting). A ReplyReader, not readPastPreliminary's chain; its promise is
 * made only when asked for (finish() before the reply came, an abort), not
 * on every transfer.
 */
class FinalReplyRead implements ReplyReader {
  /** The final reply, once read. */
  final: Reply | undefined;
  /** Why no final reply could be read, once known. */
  private error: Error | undefined;
  /** The deadline finish() set (performance.now()), or 0; kept across 1xx replies. */
  private due = 0;
  private message = "";
  /** promise()'s, once asked for, and its two ends while it is pending. */
  private pending: Promise<Reply> | undefined;
  private resolve: ((reply: Reply) => void) | undefined;
  private reject: ((error: Error) => void) | undefined;
  /** onFailure's listener (the transfer's watch). */
  private failure: ((error: unknown) => void) | undefined;
  /** The promise was asked for before the listener came: its reactions go first, as they were registered first. */
  private promisedFirst = false;

  constructor(private readonly session: Session) {}

  /** Settles with the final reply (any code), or rejects with the failure to read it. */
  promise(): Promise<Reply> {
    if (this.pending) return this.pending;
    if (this.final) this.pending = Promise.resolve(this.final);
    else if (this.error) this.pending = Promise.reject(this.error);
    else
      this.pending = new Promise<Reply>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
    return this.pending;
  }

  /** See DataTransfer.onFinalFailure. */
  onFailure(fail: (error: unknown) => void): void {
    if (this.final) this.tellFailure(fail, this.final);
    else if (this.error) queueMicrotask(() => fail(this.error));
    else {
      this.failure = fail;
      this.promisedFirst = this.pending !== undefined;
    }
  }

  private tellFailure(fail: (error: unknown) => void, reply: Reply): void {
    if (reply.code >= 300 || reply.code < 200) queueMicrotask(() => fail(errorForReply(reply.text)));
  }

  reply(reply: Reply): void {
    if (reply.code < 200) {
      const control = this.session.control;
      control.awaitReply(this);
      if (this.due > 0) control.setDeadline(this, this.due, this.message);
      return;
    }
    this.final = reply;
    const fail = this.failure;
    this.failure = undefined;
    // In the order they came, as reactions to one promise would run.
    if (fail && !this.promisedFirst) this.tellFailure(fail, reply);
    this.resolve?.(reply);
    if (fail && this.promisedFirst) this.tellFailure(fail, reply);
    this.resolve = this.reject = undefined;
  }

  failed(error: Error): void {
    this.error = error;
    const fail = this.failure;
    this.failure = undefined;
    if (fail && !this.promisedFirst) queueMicrotask(() => fail(error));
    this.reject?.(error);
    if (fail && this.promisedFirst) queueMicrotask(() => fail(error));
    this.resolve = this.reject = undefined;
  }

  /**
   * `pending` (this read's promise), bounded from now by the timeout: on
   * expiry the connection closes and it rejects with an FtpTimeoutError,
   * as Session.within() would, through the control connection's one reply
   * timer instead of a timer of its own.
   */
  within(pending: Promise<Reply>): Promise<Reply> {
    const timeout = this.session.settings.timeout;
    if (timeout > 0 && this.due === 0) {
      this.due = performance.now() + timeout;
      this.message = `no final reply from the server within ${timeout} ms`;
      this.session.control.setDeadline(this, this.due, this.message);
    }
    return pending;
  }
}

/** The next reply that is not a 1xx: pure-ftpd sends a stray "150 0.001 seconds (measured here)" while aborting. */
function readPastPreliminary(session: Session, timeout: number): Promise<Reply> {
  return session.control.readReply(timeout).then((reply) => (reply.code >= 200 ? reply : readPastPreliminary(session, timeout)));
}

async function sendRest(session: Session, rest: number | string): Promise<void> {
  session.control.send(`REST ${rest}`);
  const reply = await session.control.readReply(session.settings.timeout);
  // ftplib raises for 4xx/5xx; a REST the server refuses also means the
  // transfer cannot start where asked, so it answers to FtpReplyError too.
  if (reply.code >= 400) throw unexpectedFailure(reply.text);
  // Like ftplib's sendcmd, a 2xx or 3xx lets the transfer go on; a 1xx makes no sense here.
  if (reply.code < 200) throw new FtpReplyError(reply.text);
}

/**
 * Whether socket.resetAndDestroy() can be trusted to close the handle: on
 * Node 18.3 to 18.12 and 19.0 to 19.2 a download's data socket reset after
 * its control connection dropped stayed open (spec/retry: "goes on from
 * the byte delivered when the control connection drops", every run; it
 * passes from 18.13 and 19.3 on). There the old close (a FIN) is kept, and
 * with it proftpd's rare panic (README, "Real servers").
 */
const RESET_CLOSES_HANDLE = resetClosesHandle(process.versions.node);

/** See RESET_CLOSES_HANDLE; `version` as process.versions.node gives it. */
export function resetClosesHandle(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  if (major === 18) return minor >= 13;
  if (major === 19) return minor >= 3;
  return major >= 20;
}

/**
 * Whether a download's byte count is checked against the size its 150
 * announced (DownloadRun's sizeMismatch: a RETR with no REST offset),
 * which fails one cut short whatever ended its data connection. Such a
 * download's PROT P connection keeps Node's TLSSocket on the socket
 * itself: watching for the server's close_notify (data-tls.ts) takes a
 * stream between the two, about half as much CPU again on a large file.
 * Listings (no size), downloads whose 150 gives none and those whose
 * count is not checked (`verifySize: false`) are watched.
 */
function countCheckedAgainst150(start: TransferStart, preliminary: Reply): boolean {
  return (
    start.rest === undefined &&
    start.countUnchecked !== true &&
    RETR_VERB.test(start.command) &&
    preliminary.code === 150 &&
    parse150(preliminary.text) !== null
  );
}

const RETR_VERB = /^RETR /i;

/** The TCP socket under each TLS data connection, for resetConnection. */
const tcpUnder = new WeakMap<tls.TLSSocket, net.Socket>();

/**
 * Wraps a data socket in TLS (`options`: PROT P's), resuming the control
 * connection's session; with `watchEnd` it fails if its TLS stream is cut
 * without close_notify (see secureData and countCheckedAgainst150).
 */
function secure(session: Session, socket: net.Socket, options: tls.ConnectionOptions, watchEnd: boolean): SecuredData {
  const secured = secureData(socket, options, session.control.tlsSession, watchEnd, session.control.peerCertificate);
  tcpUnder.set(secured.socket, socket);
  // Errors surface through the stream that uses the socket; this keeps an
  // early handshake failure from being an unhandled 'error' event.
  secured.socket.on("error", () => undefined);
  return secured;
}

/**
 * Closes an aborted download's data connection with a TCP reset (RST), never a FIN. A
 * FIN, which close() sends when everything that came was read, leaves the
 * server's socket half-closed (CLOSE_WAIT) until its next write draws the
 * reset, and that write then fails with EPIPE instead of ECONNRESET:
 * proftpd's mod_tls takes an EPIPE on a PROT P data connection for a fatal
 * OpenSSL error and ends the whole session ("panic: SSL_ERROR_SYSCALL ...
 * Broken pipe", "unexpected OpenSSL error, disconnecting"). A socket with no
 * TCP handle of its own (a createConnection stream) is only destroyed.
 *
 * Nor is one whose own end has begun (`writableEnded`: Node ends a socket
 * itself when the server's FIN comes, allowHalfOpen being off): a reset
 * while that shutdown is pending leaves the TCP handle among Node's
 * handles, and the process, its work done, spins in its teardown for ever
 * (node::Environment::CleanupHandles, seen with gdb; libp2p met it too,
 * js-libp2p#3597). `ftpstream mirror --parallel 4` stopped by a signal,
 * left to exit by itself, hung so in 5 of 9 batches of its 7 signal specs,
 * and in none of 8 with this. The server has sent all it will there, so
 * there is no write of its for a FIN to turn into EPIPE.
 */
function resetConnection(socket: net.Socket | tls.TLSSocket): void {
  const tcp = socket instanceof tls.TLSSocket ? tcpUnder.get(socket) : socket;
  if (RESET_CLOSES_HANDLE && tcp && !tcp.destroyed && !tcp.writableEnded) {
    try {
      tcp.resetAndDestroy();
    } catch {
      // ERR_INVALID_HANDLE_TYPE: not a TCP socket; destroy() below closes it.
    }
  }
  socket.destroy();
}

/** Wraps a socket-level failure of the data connection in an FtpError. */
export function dataError(error: unknown): FtpError {
  if (error instanceof FtpError) return error;
  return new FtpConnectionError("data connection failed", error);
}
