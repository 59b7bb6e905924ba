/**
 * Raw transfers (ftplib's ntransfercmd): the caller gets the data socket
 * itself, and the final reply is read when the socket closes or when
 * voidresp()/getresp() ask for it, whichever comes first. The queue stays
 * held until then.
 *
 * Not an UploadRun (upload.ts) nor a DownloadRun, though STOR and RETR go
 * through here too: the caller owns the socket, writes to it or reads it,
 * and ends it when it likes, so no core of ours can count or resend its
 * bytes, check its size, or decide when the data is done. What is shared
 * is below the socket: DataTransfer opens it and reads the final reply.
 */
import type * as net from "node:net";
import type * as tls from "node:tls";
import type { Session } from "./session.js";
import { dataError, DataTransfer } from "./transfer.js";

/** A transfer started with ntransfercmd, waiting for the caller to finish with its socket. */
interface RawTransfer {
  transfer: DataTransfer;
  /** Reads the final reply (once); the queue is held until it settles. */
  complete(): Promise<string>;
  /** Set once voidresp()/getresp() asked for the final reply. */
  claimed: boolean;
}

/** The raw transfer of one client, and the final reply of the last one if nobody asked for it yet. */
export class RawTransfers {
  private current: RawTransfer | undefined;
  /**
   * The final reply of a raw transfer that the socket's close read before
   * anyone asked: ftplib code calls voidresp() after closing the socket,
   * however much later, and must get that reply rather than wait for a new one.
   * Dropped once another queued call runs (see forgetUnclaimed).
   */
  private unclaimed: Promise<string> | undefined;

  /** The final reply of the raw transfer that voidresp()/getresp() should return, if any. */
  outcome(): Promise<string> | undefined {
    if (this.current) {
      this.current.claimed = true;
      return this.current.complete();
    }
    const unclaimed = this.unclaimed;
    this.unclaimed = undefined;
    return unclaimed;
  }

  /** Another exchange on the connection: a raw transfer's reply is no longer voidresp()'s to return. */
  forgetUnclaimed(): void {
    this.unclaimed = undefined;
  }

  /** Destroys the running raw transfer's socket (the client is closing). */
  destroy(): void {
    this.current?.transfer.socket.destroy();
  }

  /**
   * Inside a queue task: opens the transfer, hands `[socket, size]` to
   * `deliver` once the server's 1xx reply came and TLS is up, and returns
   * (freeing the queue) only after the final reply was read.
   */
  async run(
    session: Session,
    command: string,
    rest: number | string | undefined,
    deliver: (result: [net.Socket | tls.TLSSocket, number | null]) => void,
  ): Promise<void> {
    const transfer = await DataTransfer.open(session, { command, rest });
    try {
      // The caller gets a socket whose TLS is up (session reused or not, known);
      // a server that never answers the handshake gets the timeout, as any wait.
      await session.within(transfer.handshake, (ms) => `no TLS handshake on the data connection within ${ms} ms`);
    } catch (error) {
      await transfer.abort().catch(() => undefined);
      throw dataError(error);
    }
    let outcome: Promise<string> | undefined;
    let released: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      released = resolve;
    });
    const raw: RawTransfer = {
      transfer,
      claimed: false,
      complete: () => {
        outcome ??= transfer
          .finish()
          .then((reply) => reply.text)
          .finally(() => {
            transfer.socket.destroy();
            if (this.current === raw) {
              this.current = undefined;
              if (!raw.claimed) this.unclaimed = outcome;
            }
            released();
          });
        return outcome;
      },
    };
    this.current = raw;
    session.activeTransfer = transfer;
    // The caller owns the socket: the queue is freed when it closes or
    // when voidresp() reads the final reply, whichever comes first.
    transfer.socket.once("close", () => {
      raw.complete().catch(() => undefined);
    });
    deliver([transfer.socket, transfer.size]);
    try {
      await done;
      // An abort() that raced the final reply may still be reading ABOR's.
      await transfer.settledAbort();
    } finally {
      session.activeTransfer = undefined;
    }
  }
}
