/**
 * Data connections: passive (EPSV, then PASV) and active (PORT, EPRT).
 * Each function runs inside a queue task that already holds the control
 * connection, and returns a TCP socket; TLS is layered on by the caller.
 */
import * as net from "node:net";
import { FtpConnectionError, FtpPermError, FtpReplyError, FtpTempError, FtpTimeoutError } from "./errors.js";
import { formatEprt, formatPort, parse227, parse229, plainAddress } from "./protocol.js";
import type { Session } from "./session.js";

/** A data connection being made: passive ones are already connected, active ones wait for the server. */
export interface PendingData {
  /** Resolves to the connected socket (for active mode: once the server connects). */
  connected(): Promise<net.Socket>;
  /** Releases everything: the listener and any socket not handed over. */
  dispose(): void;
}

/** Sends EPSV or PASV and connects to the port the server names. */
export async function openPassive(session: Session): Promise<PendingData> {
  const { host, port } = await passiveAddress(session);
  const socket = await connectData(session, host, port);
  return {
    connected: () => Promise.resolve(socket),
    dispose: () => socket.destroy(),
  };
}

async function passiveAddress(session: Session): Promise<{ host: string; port: number }> {
  const control = session.control.socket;
  const peer = plainAddress(control.remoteAddress ?? "");
  const useEpsv = peer.family === 6 || (session.settings.useEpsv && !session.epsvRefused);
  if (useEpsv) {
    try {
      const reply = await session.command("EPSV");
      return { host: peer.address, port: parse229(reply.text) };
    } catch (error) {
      // Only a server that does not do EPSV sends us back to PASV; on IPv6
      // there is nothing to fall back to.
      const refused = error instanceof FtpPermError || error instanceof FtpTempError || error instanceof FtpReplyError;
      if (peer.family === 6 || !refused) throw error;
      session.epsvRefused = true;
    }
  }
  const reply = await session.command("PASV");
  const offered = parse227(reply.text);
  // The host in a 227 reply is the server's claim; ftplib ignores it unless
  // told to trust it, since it can point the client at a third party.
  return { host: session.settings.trustPasvHost ? offered.host : peer.address, port: offered.port };
}

function connectData(session: Session, host: string, port: number): Promise<net.Socket> {
  const timeout = session.settings.timeout;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: session.settings.sourceHost });
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.removeListener("connect", onConnect);
      socket.removeListener("error", onError);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        // Until a transfer stream takes the socket over (after REST, the
        // command and its 1xx), a reset would be an 'error' with no listener,
        // which takes the process down. The streams find it in
        // `socket.errored` when they attach.
        socket.on("error", () => undefined);
        resolve(socket);
      }
    };
    const onConnect = (): void => settle();
    const onError = (error: Error): void =>
      settle(new FtpConnectionError(`cannot open the data connection to ${host}:${port}`, error));
    socket.once("connect", onConnect);
    socket.once("error", onError);
    if (timeout > 0) {
      timer = setTimeout(() => {
        const error = new FtpTimeoutError(`data connection to ${host}:${port} timed out after ${timeout} ms`);
        // Every expired timeout closes the client (FtpOptions.timeout), so
        // no operation can go on against a server in an unknown state.
        session.control.close(error);
        settle(error);
      }, timeout);
    }
  });
}

/** Listens on the control connection's local address and announces it with PORT (or EPRT). */
export async function openActive(session: Session): Promise<PendingData> {
  const control = session.control.socket;
  const local = plainAddress(control.localAddress ?? "");
  const peer = plainAddress(control.remoteAddress ?? "");
  const server = net.createServer();
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new FtpConnectionError("cannot listen for the data connection", error)));
    server.listen({ host: local.address, port: 0, backlog: 1 }, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  let accepted: net.Socket | undefined;
  let handedOver = false;
  const connection = new Promise<net.Socket>((resolve) => {
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", () => undefined);
      // Anyone could race the server to our port; only its address may connect.
      if (accepted || plainAddress(socket.remoteAddress ?? "").address !== peer.address) {
        socket.destroy();
        return;
      }
      accepted = socket;
      socket.setNoDelay(true);
      server.close();
      resolve(socket);
    });
  });
  const dispose = (): void => {
    server.close();
    if (!handedOver) accepted?.destroy();
  };
  try {
    await announcePort(session, local.address, local.family, port);
  } catch (error) {
    dispose();
    throw error;
  }
  return {
    connected: async () => {
      const timeout = session.settings.timeout;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        if (timeout > 0) {
          timer = setTimeout(() => {
            const error = new FtpTimeoutError(`the server did not open the data connection within ${timeout} ms`);
            // The server still owes a reply to the transfer command (425, or
            // the 226 of a connection it opens late); with no way to tell it
            // apart from the next command's reply, the connection is done.
            session.control.close(error);
            reject(error);
          }, timeout);
        }
      });
      try {
        const socket = await Promise.race([connection, expired]);
        handedOver = true;
        return socket;
      } finally {
        clearTimeout(timer);
      }
    },
    dispose,
  };
}

async function announcePort(session: Session, host: string, family: 4 | 6, port: number): Promise<void> {
  if (family === 4) {
    try {
      await session.voidCommand(`PORT ${formatPort(host, port)}`);
      return;
    } catch (error) {
      // A server that does not know PORT (500) or refuses its form (501) may still take EPRT.
      if (!(error instanceof FtpPermError) || (error.code !== 500 && error.code !== 501)) throw error;
    }
  }
  await session.voidCommand(`EPRT ${formatEprt(host, port, family)}`);
}
