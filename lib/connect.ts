/**
 * Waiting for a TCP connect with a deadline, for the control and the data
 * connections alike: resolves once connected, or destroys the socket and
 * rejects with FtpConnectionError (refused, unreachable) or FtpTimeoutError.
 */
import type * as net from "node:net";
import { FtpConnectionError, FtpTimeoutError } from "./errors.js";

export interface ConnectWait {
  /** Milliseconds to wait; 0 = no deadline. */
  timeout: number;
  /** Message of the FtpConnectionError when the connect fails. */
  refused: string;
  /** Message of the FtpTimeoutError when the deadline passes. */
  timedOut: string;
  /** Runs when the deadline passes, before the rejection (e.g. to close the client). */
  onTimeout?: (error: FtpTimeoutError) => void;
}

export function whenConnected(socket: net.Socket, wait: ConnectWait): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.removeListener("connect", onConnect);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => settle();
    const onError = (error: Error): void => settle(new FtpConnectionError(wait.refused, error));
    // Destroyed by its owner before it connected (a transfer refused before
    // its data connection was up): nothing to wait for, and the deadline
    // must not fire later and close a client that has moved on.
    const onClose = (): void => settle(new FtpConnectionError(`${wait.refused}: closed before it connected`));
    socket.once("connect", onConnect);
    socket.once("error", onError);
    socket.once("close", onClose);
    if (wait.timeout > 0) {
      timer = setTimeout(() => {
        const error = new FtpTimeoutError(wait.timedOut);
        wait.onTimeout?.(error);
        settle(error);
      }, wait.timeout);
    }
  });
}
