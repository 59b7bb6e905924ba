/**
 * What must fail a running transfer, watched while its data flows: the
 * data connection erring or idling, ftp.abort(), a failing final reply.
 * Shared by downloads and uploads.
 */
import { FtpConnectionError, FtpTimeoutError } from "./errors.js";
import type { Session } from "./session.js";
import type { DataTransfer } from "./transfer.js";
import { ignore } from "./ignore.js";

/**
 * Watches a transfer for what must fail its stream, and calls `fail` (which
 * ignores calls after the first) with the error:
 * - the data connection erring, or having failed before we looked (a
 *   refused TLS handshake, a reset between the 1xx and now), or having
 *   closed at all before we looked — unless the upload's bytes went out
 *   before the 1xx (DataTransfer.sentEarly): the server may have read them
 *   all and closed by now;
 * - ftp.abort() having cut the data, whatever the replies;
 * - a 4xx/5xx final reply, even while data still flows (disk error);
 * - the data connection sitting idle (see IdleWatch), whose watch is returned
 *   (none with timeout 0).
 */
export function watchTransfer(
  session: Session,
  transfer: DataTransfer,
  idleIsOurs: () => boolean,
  fail: (error: unknown) => void,
): IdleWatch | undefined {
  const socket = transfer.socket;
  socket.on("error", fail);
  if (socket.errored) fail(socket.errored);
  else if (socket.destroyed && !transfer.sentEarly) fail(new FtpConnectionError("the data connection closed before the transfer started"));
  transfer.onAbort((aborting) => void aborting.then(() => fail(transfer.abortError()), fail));
  // A callback, not a promise's reaction: none made per transfer.
  transfer.onFinalFailure(fail);
  const timeout = session.settings.timeout;
  if (timeout <= 0) return undefined;
  const watch = IdleWatch.of(session, timeout);
  watch.watch(socket, idleIsOurs, fail);
  return watch;
}

/**
 * How many times per timeout an idle watch looks at its data connection.
 * An idle connection fails between one timeout and a quarter more after
 * its last byte moved (two looks' worth of slack), never sooner.
 */
const CHECKS_PER_TIMEOUT = 8;

/** What a data socket has moved so far, read only when a look is due. */
interface Moving {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly destroyed: boolean;
  /** Node's own socket timeout counts a write the kernel is still taking, in part, as activity: so does the watch. */
  readonly _handle?: { readonly writeQueueSize?: number } | null;
}

/** Each session's one idle watch, made at its first transfer. */
const idleWatches = new WeakMap<Session, IdleWatch>();

/**
 * Fails the transfer when its data connection sits idle past the timeout —
 * unless the idleness is ours (a paused download, an upload with nothing
 * to send), which is backpressure, not a dead server.
 *
 * One per session, watching each of its transfers in turn with one timer
 * that looks at the data connection CHECKS_PER_TIMEOUT times per timeout
 * while a transfer runs, and stops when a look finds none. Node's
 * `socket.setTimeout()` made a timer and a bound function per data
 * connection and re-armed it on every read and write (a call into libuv
 * for the time, the timer moved in its list); for a run of small files
 * the watch now costs a few field writes a file. A look compares the
 * bytes moved with those at the last look; idle means none moved for a
 * whole timeout since a look that saw some (the first look at a new
 * transfer counts as one), or only ours.
 */
export class IdleWatch {
  private timer: NodeJS.Timeout | undefined;
  /** The timer is pending (it is not re-armed once a look finds nothing to watch). */
  private armed = false;
  private socket: Moving | undefined;
  private idleIsOurs: () => boolean = notOurs;
  private fail: (error: unknown) => void = ignore;
  /** Bytes moved at the last look; -1 after a (re)start, so that the next look counts as movement. */
  private moved = -1;
  /** When the last movement (or idleness of ours) was seen. */
  private quietSince = 0;

  private constructor(
    private readonly session: Session,
    readonly timeout: number,
  ) {}

  /**
   * The session's watch for a timeout of `timeout` ms (> 0). It lets go
   * of everything once the control connection closes: its timer would
   * otherwise keep a closed client and its last transfer for up to a look's
   * interval (200 clients closed at once held 2 MB more).
   */
  static of(session: Session, timeout: number): IdleWatch {
    let watch = idleWatches.get(session);
    if (watch?.timeout === timeout) return watch;
    watch?.dispose();
    watch = new IdleWatch(session, timeout);
    idleWatches.set(session, watch);
    const control = session.control.socket;
    if (!control.destroyed) control.once("close", watch.dispose);
    return watch;
  }

  /** Watches `socket` from now on, in place of the transfer before (which has ended: a session runs one at a time). */
  watch(socket: Moving, idleIsOurs: () => boolean, fail: (error: unknown) => void): void {
    this.socket = socket;
    this.idleIsOurs = idleIsOurs;
    this.fail = fail;
    this.moved = -1;
    if (this.armed) return;
    this.armed = true;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(this.look, Math.max(1, Math.floor(this.timeout / CHECKS_PER_TIMEOUT)));
      this.timer.unref();
    }
  }

  /** The idle clock of `socket` starts again: a paused download resumed, and the time spent paused was the consumer's. */
  restart(socket: Moving): void {
    if (this.socket === socket) this.moved = -1;
  }

  /** Lets go of the transfer watched and of the timer: the control connection closed, or the watch was replaced. */
  private readonly dispose = (): void => {
    clearTimeout(this.timer);
    this.letGo();
  };

  private letGo(): void {
    this.socket = undefined;
    this.idleIsOurs = notOurs;
    this.fail = ignore;
    this.armed = false;
  }

  private readonly look = (): void => {
    const socket = this.socket;
    if (!socket || socket.destroyed) {
      // Nothing to watch until the next transfer: let go of this one, and of the timer.
      this.letGo();
      return;
    }
    const now = performance.now();
    const moved = socket.bytesRead + socket.bytesWritten + (socket._handle?.writeQueueSize ?? 0);
    if (moved !== this.moved || this.idleIsOurs()) {
      this.moved = moved;
      this.quietSince = now;
    } else if (now - this.quietSince >= this.timeout) {
      const fail = this.fail;
      this.letGo();
      const error = new FtpTimeoutError(`data connection idle for ${this.timeout} ms`);
      this.session.control.close(error);
      fail(error);
      return;
    }
    this.timer!.refresh();
  };
}

function notOurs(): boolean {
  return false;
}
