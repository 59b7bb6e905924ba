/**
 * storbinary(cmd, buffer) in the plain case — no retry, no verifySize, no
 * callback, no signal — as one queue task that writes the bytes and ends
 * the data connection, with no UploadStream around them. A Writable and
 * its finished() cost little once, but a run of small uploads pays them per
 * file, and most of all before V8 has compiled them. The bytes go out as
 * soon as the data connection is up, before the 1xx (TransferStart.sendEarly),
 * which UploadStream, written to by its user, cannot do. Every other case
 * goes through UploadStream, which can resume, check sizes and call back.
 *
 * The contract is UploadStream's: resolves only to the server's 2xx after
 * the data connection closed; a refusal, a failing data connection, an
 * abort or a timeout rejects, and the transfer is aborted if still running.
 */
import { FtpConnectionError } from "./errors.js";
import type { Session } from "./session.js";
import { dataError, DataTransfer, TransferStart } from "./transfer.js";
import { watchTransfer } from "./transfer-watch.js";

/** Runs inside a queue task: opens the transfer, sends `bytes`, and resolves to the final reply. */
export async function uploadBytes(session: Session, start: TransferStart, bytes: Buffer): Promise<string> {
  const transfer = await DataTransfer.open(session, { ...start, sendEarly: bytes });
  session.activeTransfer = transfer;
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = transfer.socket;
      let failed = false;
      const fail = (error: unknown): void => {
        if (failed) return;
        failed = true;
        if (!transfer.complete) void transfer.abort().catch(() => undefined);
        else socket.destroy();
        reject(dataError(error));
      };
      watchTransfer(session, transfer, () => socket.writableLength === 0, fail);
      const onClose = (hadError: boolean): void => {
        // An error or an abort fails the upload through watchTransfer.
        if (hadError || failed || transfer.aborted) return;
        transfer.finish().then((reply) => resolve(reply.text), fail);
      };
      if (socket.closed) {
        // The data connection closed before the 1xx was read (the server
        // took what was sent early, or gave up): 'close' has come and gone.
        if (transfer.sentEarly || bytes.length === 0) onClose(socket.errored !== null);
        else fail(new FtpConnectionError("the data connection closed before the upload ended"));
        return;
      }
      // The server sends nothing on an upload's data connection, but its FIN must be read for the socket to close.
      socket.resume();
      socket.once("close", onClose);
      if (!transfer.sentEarly) socket.end(bytes);
    });
  } finally {
    // An abort still reading its replies holds the queue until they are in.
    if (transfer.aborted) await transfer.settledAbort();
    session.activeTransfer = undefined;
  }
}
