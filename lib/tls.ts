/**
 * FTPS (RFC 4217): ftplib's FTP_TLS — AUTH TLS on the control connection,
 * PROT P for data connections that resume the control connection's TLS
 * session (which vsftpd and proftpd require), CCC, and implicit FTPS.
 */
import { isIP } from "node:net";
import type * as tls from "node:tls";
import { FTP, FtpOptions } from "./client.js";
import type { Session } from "./session.js";
import { FtpError } from "./errors.js";
import { assertLoginArguments } from "./protocol.js";
import type { FtpUrl } from "./url.js";

/** Options of {@link FTP_TLS}. */
export interface FtpTlsOptions extends FtpOptions {
  /**
   * Passed to `tls.connect` for the control and data connections: `ca`,
   * `rejectUnauthorized`, `servername`, `cert`/`key`, `minVersion`...
   * Certificates are verified by default.
   */
  tls?: tls.ConnectionOptions;
  /** Implicit FTPS: TLS from the first byte (port 990 by default). */
  implicit?: boolean;
  /**
   * Whether a client that connects and logs in by itself (given `host` and
   * `user`: the constructor, `FTP_TLS.create`, `FTP_TLS.connect` with an
   * `ftps://` or `ftpes://` URL or options) ends with PBSZ 0 and PROT P, so
   * that file data and listings are encrypted too, not only the control
   * connection. A server that refuses PROT P then fails the connect.
   * Default true; false leaves data connections in the clear until
   * prot_p(). connect() and login() called by hand do what ftplib's do:
   * data is protected after prot_p().
   */
  protectData?: boolean;
}

const IMPLICIT_FTPS_PORT = 990;

/**
 * An FTP client that secures the control connection before login and, after
 * prot_p(), every data connection; one that connects and logs in by itself
 * (see {@link FtpTlsOptions.protectData}) sends PROT P unasked.
 */
export class FTP_TLS extends FTP {
  private readonly tlsOptions: tls.ConnectionOptions;
  private readonly implicit: boolean;
  /** AUTH TLS succeeded (and CCC has not undone it): a new connection under `retry` secures itself again. */
  private authed = false;
  /** CCC succeeded: a new connection under `retry` drops TLS again after PROT. */
  private cleared = false;

  /** ftps:// is implicit FTPS; ftpes:// and ftp:// use AUTH TLS. */
  protected static override fromUrl(url: FtpUrl, options: FtpTlsOptions): FtpTlsOptions & { host: string } {
    return {
      ...options,
      implicit: url.security === "implicit",
      host: url.host,
      port: url.port,
      user: url.user ?? "anonymous",
      password: url.password ?? "",
    };
  }

  constructor(options: FtpTlsOptions = {}) {
    const implicit = options.implicit ?? false;
    super(implicit && options.host && options.port === undefined ? { ...options, port: IMPLICIT_FTPS_PORT } : options);
    this.tlsOptions = options.tls ?? {};
    this.implicit = implicit;
    if (implicit && options.port === undefined) this.port = IMPLICIT_FTPS_PORT;
  }

  /** Connects and logs in as FTP does, then PBSZ 0 and PROT P unless `protectData` is false. */
  protected override async connectAndLogin(options: FtpTlsOptions): Promise<void> {
    await super.connectAndLogin(options);
    // Read from the options, not a field: the base constructor starts this before ours runs.
    if (options.user !== undefined && (options.protectData ?? true)) await this.prot_p();
  }

  /** True while the control connection is encrypted. */
  get secure(): boolean {
    return this.control?.isSecure ?? false;
  }

  protected override implicitTlsOptions(): tls.ConnectionOptions | undefined {
    return this.implicit ? this.connectionOptions() : undefined;
  }

  /**
   * Logs in, first securing the control connection with AUTH TLS unless
   * `secure` is false or it is secured already (as ftplib's FTP_TLS.login).
   */
  override async login(user = "", passwd = "", acct = "", secure = true): Promise<string> {
    // Refuse CR/LF/NUL before AUTH TLS goes out, not after (super.login checks too late for that).
    assertLoginArguments(user, passwd, acct);
    if (secure && !this.secure) await this.auth();
    return super.login(user, passwd, acct);
  }

  /** Sends AUTH TLS and upgrades the control connection. Rejects if it is already secure. */
  auth(): Promise<string> {
    return this.enqueue(async (session) => {
      if (session.control.isSecure) throw new FtpError("already using TLS", "ERR_FTP_TLS_ACTIVE");
      const reply = await session.voidCommand("AUTH TLS");
      await session.control.startTls(this.connectionOptions(), session.settings.timeout);
      this.authed = true;
      this.cleared = false;
      return reply.text;
    });
  }

  /**
   * A new connection under `retry`: AUTH TLS before the login if the old
   * one had it, PBSZ 0 and PROT P after it if data was protected, CCC if
   * the old one had dropped TLS, then the directory and TYPE.
   */
  protected override async restoreSession(session: Session): Promise<void> {
    if (this.authed && !session.control.isSecure) {
      await session.voidCommand("AUTH TLS");
      await session.control.startTls(this.connectionOptions(), session.settings.timeout);
    }
    await this.record.login(session);
    if (session.settings.dataTls) {
      await session.voidCommand("PBSZ 0");
      await session.voidCommand("PROT P");
    }
    if (this.cleared && session.control.isSecure) await this.clearControl(session);
    await this.record.restoreState(session);
  }

  /** PBSZ 0 then PROT P: data connections from now on are encrypted. */
  prot_p(): Promise<string> {
    return this.enqueue(async (session) => {
      await session.voidCommand("PBSZ 0");
      const reply = await session.voidCommand("PROT P");
      session.settings.dataTls = this.connectionOptions();
      return reply.text;
    });
  }

  /** PROT C: data connections from now on are in the clear. */
  prot_c(): Promise<string> {
    return this.enqueue(async (session) => {
      const reply = await session.voidCommand("PROT C");
      session.settings.dataTls = undefined;
      return reply.text;
    });
  }

  /** CCC: returns the control connection to clear text (data protection is unchanged). */
  ccc(): Promise<string> {
    return this.enqueue(async (session) => {
      if (!session.control.isSecure) throw new FtpError("not using TLS", "ERR_FTP_TLS_INACTIVE");
      const reply = await this.clearControl(session);
      this.cleared = true;
      return reply;
    });
  }

  /** CCC and the end of TLS on the control connection. */
  private async clearControl(session: Session): Promise<string> {
    session.control.expectTlsEnd(true);
    try {
      const reply = await session.voidCommand("CCC");
      await session.control.stopTls(session.settings.timeout);
      return reply.text;
    } finally {
      session.control.expectTlsEnd(false);
    }
  }

  /** tls.connect options for this server: the user's, plus host (for the identity check) and SNI. */
  private connectionOptions(): tls.ConnectionOptions {
    const options: tls.ConnectionOptions = { host: this.host, ...this.tlsOptions };
    // SNI must not be an IP address (RFC 6066); identity is still checked against `host`.
    if (options.servername === undefined && !isIP(this.host)) options.servername = this.host;
    return options;
  }
}
