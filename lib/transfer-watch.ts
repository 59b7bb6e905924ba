/**
 * What must fail a running transfer, watched while its data flows: the
 * data connection erring or idling, ftp.abort(), a failing final reply.
 * Shared by downloads and uploads.
 */
import { errorForReply, FtpConnectionError, FtpTimeoutError } from "./errors.js";
import type { Session } from "./session.js";
import type { DataTransfer } from "./transfer.js";

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
 * - the data connection sitting idle (see watchIdle).
 */
export function watchTransfer(session: Session, transfer: DataTransfer, idleIsOurs: () => boolean, fail: (error: unknown) => void): void {
  const socket = transfer.socket;
  socket.on("error", fail);
  if (socket.errored) fail(socket.errored);
  else if (socket.destroyed && !transfer.sentEarly) fail(new FtpConnectionError("the data connection closed before the transfer started"));
  transfer.onAbort((aborting) => void aborting.then(() => fail(transfer.abortError()), fail));
  transfer.whenFinal().then((reply) => {
    if (reply.code >= 300 || reply.code < 200) fail(errorForReply(reply.text));
  }, fail);
  watchIdle(session, socket, idleIsOurs, fail);
}

/**
 * Fails the transfer when its data connection sits idle past the timeout —
 * unless the idleness is ours (a paused download, an upload with nothing
 * to send), which is backpressure, not a dead server.
 */
function watchIdle(
  session: Session,
  socket: { setTimeout(ms: number): unknown; on(event: "timeout", listener: () => void): unknown },
  idleIsOurs: () => boolean,
  fail: (error: unknown) => void,
): void {
  const timeout = session.settings.timeout;
  if (timeout <= 0) return;
  socket.setTimeout(timeout);
  socket.on("timeout", () => {
    if (idleIsOurs()) {
      socket.setTimeout(timeout);
      return;
    }
    const error = new FtpTimeoutError(`data connection idle for ${timeout} ms`);
    session.control.close(error);
    fail(error);
  });
}
