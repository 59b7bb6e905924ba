/**
 * The TLS layer of a PROT P data connection: the handshake, resuming the
 * control connection's session; the certificate check when it was not
 * resumed; and, for a connection the server sends on (a download, a
 * listing), the check that its TLS stream ended with the server's
 * close_notify rather than with the TCP connection alone.
 */
import type { X509Certificate } from "node:crypto";
import * as net from "node:net";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { FtpConnectionError, FtpDataCertificateError, FtpTlsTruncatedError } from "./errors.js";
import { markSecurityFailure } from "./security-verbs.js";
import { peerCertificateOf } from "./session-certificate.js";

/** A data connection in TLS, and its handshake. */
export interface SecuredData {
  readonly socket: tls.TLSSocket;
  /**
   * Settles once the handshake is done and the certificate passed (see
   * certificateRefusal); rejects if either failed, or if the connection
   * closed first. The socket is destroyed with the same error.
   */
  readonly handshake: Promise<void>;
}

/**
 * Puts `raw` under TLS with `options`, offering `controlSession` (the
 * control connection's TLS session) for resumption; `controlCertificate`
 * is the certificate the control connection's handshake showed (see
 * certificateRefusal). With `watchEnd` (a connection the server sends
 * on whose cut nothing else would catch) the TLS layer runs over a DataCarrier, and
 * the socket is destroyed with FtpTlsTruncatedError if the TCP
 * connection ends while the TLS stream has not: the server's
 * close_notify never came, and the data may have been cut short by
 * anyone on the path. Node's TLSSocket over a net.Socket cannot show
 * that: it emits 'end' for a TCP FIN exactly as for a close_notify.
 * Uploads keep the TLSSocket on the net.Socket itself: the server judges
 * what it received.
 */
export function secureData(
  raw: net.Socket,
  options: tls.ConnectionOptions,
  controlSession: Buffer | undefined,
  watchEnd: boolean,
  controlCertificate?: Buffer,
): SecuredData {
  let handshakeDone = false;
  let secured: tls.TLSSocket;
  if (watchEnd) {
    const carrier = new DataCarrier(raw);
    // Registered before tls.connect(), whose JSStreamSocket hands the
    // carrier's end to the TLS layer from an 'end' listener of its own: by
    // now every byte of the carrier went through TLS, so a close_notify
    // among them has ended the TLS stream, and none has if it has not.
    carrier.once("end", () => {
      if (handshakeDone && !secured.destroyed && !tlsStreamEnded(secured)) secured.destroy(new FtpTlsTruncatedError());
    });
    secured = tls.connect({ ...options, socket: carrier, session: controlSession });
    // As over a net.Socket, whose allowHalfOpen (false) the TLSSocket takes:
    // the server's close_notify is answered with ours, then the connection closes.
    secured.allowHalfOpen = false;
    carrier.watch(secured);
  } else {
    secured = tls.connect({ ...options, socket: raw, session: controlSession });
  }
  const handshake = new Promise<void>((resolve, reject) => {
    secured.once("secureConnect", () => {
      handshakeDone = true;
      const refusal = certificateRefusal(secured, controlCertificate ?? peerCertificateOf(controlSession));
      if (!refusal) {
        resolve();
        return;
      }
      secured.destroy(refusal);
      reject(refusal);
    });
    secured.once("error", reject);
    secured.once("close", () => reject(new FtpConnectionError("the data connection closed during the TLS handshake")));
  });
  handshake.catch(() => undefined);
  return { socket: secured, handshake };
}

/**
 * Whether `secured`'s TLS layer has pushed the end of its stream (its
 * 'end' may still wait for a paused consumer to read what came before).
 * Node shows that only in the stream's state: `readableEnded` says that
 * 'end' was emitted. A state without the field counts as not ended: a
 * download fails rather than end unproven.
 */
function tlsStreamEnded(secured: tls.TLSSocket): boolean {
  const state = (secured as unknown as { _readableState?: { ended?: unknown } })._readableState;
  return state?.ended === true;
}

/**
 * Why the data connection `secured`, its handshake just done, may not be
 * used, or undefined if it may. Resumed from the control connection's
 * session, it is the server the control connection reached (only that
 * server holds the session's secret). Else it must show the control
 * connection's certificate, `expected` (as its handshake showed it, else
 * as its session holds it): with verification off (`rejectUnauthorized:
 * false`) nothing else binds it to that server. With no certificate known
 * for the control connection, only one that passed verification is taken.
 */
function certificateRefusal(secured: tls.TLSSocket, expected: Buffer | undefined): FtpDataCertificateError | undefined {
  if (secured.isSessionReused()) return undefined;
  const shown = secured.getPeerX509Certificate();
  if (expected === undefined) {
    if (secured.authorized) return undefined;
    return markSecurityFailure(
      new FtpDataCertificateError(
        `the data connection's TLS certificate (${describe(shown)}) failed verification (${String(secured.authorizationError)}) ` +
          "and the control connection's is not known to compare it with: refused, nothing transferred",
      ),
    );
  }
  if (shown?.raw.equals(expected)) return undefined;
  return markSecurityFailure(
    new FtpDataCertificateError(
      `the data connection's TLS certificate (${describe(shown)}) is not the control connection's, and its TLS session ` +
        "was not resumed from the control connection's: refused, nothing transferred",
    ),
  );
}

/** A certificate as a message shows it: its SHA-256 fingerprint. */
function describe(certificate: X509Certificate | undefined): string {
  return certificate ? `SHA-256 ${certificate.fingerprint256}` : "none";
}

/**
 * Carries a data connection's TLS records between the TCP socket and a
 * TLSSocket made on it, so that the TCP connection's end is seen apart
 * from the TLS stream's (see secureData). Backpressure passes through:
 * the TLS layer pausing pauses the carrier, whose buffer filling pauses
 * the socket. Its end (the server's FIN) goes to the TLS layer as the
 * end of the records; a failure of the socket goes to the TLSSocket
 * itself, which the carrier learns of in watch().
 */
class DataCarrier extends Duplex {
  /** The TCP socket ended (the server's FIN): its close is no failure. */
  private rawEnded = false;

  constructor(private readonly raw: net.Socket) {
    super();
    raw.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.once("end", () => {
      this.rawEnded = true;
      this.push(null);
    });
  }

  /** Fails `secured` when the TCP socket fails, or closes without its FIN (a reset without an error, a destroy). */
  watch(secured: tls.TLSSocket): void {
    this.raw.on("error", (error: Error) => secured.destroy(error));
    this.raw.once("close", () => {
      if (!this.rawEnded && !secured.destroyed) secured.destroy(new FtpConnectionError("the data connection closed"));
    });
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Our close_notify after the server's FIN (Node ends the socket's own
    // side then) has nowhere to go, and is no failure. A write error
    // reaches the TLSSocket through the socket's 'error' (watch()); the
    // carrier itself never errs, as nothing listens to its wrapper's errors.
    if (this.raw.destroyed || this.raw.writableEnded) {
      callback();
      return;
    }
    this.raw.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.raw.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy();
    callback(error);
  }
}
