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
import type { Reply } from "./reply.js";
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
  /** PROT P is in force (prot_p() succeeded, prot_c() has not undone it): a new connection under `retry` sends it again. */
  private protP = false;

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

  /**
   * Connects and logs in as FTP does, as one queued task: with a user,
   * AUTH TLS first (unless implicit), then the login, then PBSZ 0 and
   * PROT P unless `protectData` is false, so a call made without waiting
   * for `ready` runs after all of them, never in the clear. A refused
   * AUTH TLS or PROT P closes the client. Data connections are protected
   * from the start as well, a second guard should anything ever run
   * before PROT P.
   */
  protected override connectAndLogin(options: FtpTlsOptions): Promise<void> {
    // Read from the options, not fields: the base constructor starts this before ours runs.
    const protect = options.user !== undefined && (options.protectData ?? true);
    if (protect) this.settings.dataTls = tlsConnectionOptions(options.host ?? this.host, options.tls ?? {});
    return super.connectAndLogin(options);
  }

  /** AUTH TLS (unless the connection is secure already), the login, then PROT P: see connectAndLogin. */
  protected override async setUpSession(options: FtpTlsOptions): Promise<void> {
    if (options.user === undefined) return;
    const login = this.loginTask(options.user, options.password ?? "", options.acct ?? "");
    await this.runNow(async (session) => {
      if (session.control.isSecure) return;
      try {
        await this.authOn(session);
      } catch (error) {
        // Nothing behind this may go in the clear: not the login, not a call queued before `ready`.
        this.close();
        throw error;
      }
    });
    await this.runNow(login, { repeat: true });
    if (options.protectData ?? true) await this.runNow(this.protPTask);
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
    // Refuses CR/LF/NUL before AUTH TLS goes out, not after.
    const login = this.loginTask(user, passwd, acct);
    // One task: a call made meanwhile comes after the login, not between AUTH TLS and USER.
    return this.enqueue(
      async (session) => {
        if (secure && !session.control.isSecure) await this.authOn(session);
        return login(session);
      },
      { repeat: true },
    );
  }

  /** Sends AUTH TLS and upgrades the control connection. Rejects if it is already secure. */
  auth(): Promise<string> {
    return this.enqueue(async (session) => {
      if (session.control.isSecure) throw new FtpError("already using TLS", "ERR_FTP_TLS_ACTIVE");
      return this.authOn(session);
    });
  }

  /** AUTH TLS and the TLS handshake on `session`'s control connection. */
  private async authOn(session: Session): Promise<string> {
    session.control.expectTlsUpgrade();
    const reply = await session.voidCommand("AUTH TLS");
    await session.control.startTls(this.connectionOptions(), session.settings.timeout);
    this.authed = true;
    this.cleared = false;
    return reply.text;
  }

  /**
   * A new connection under `retry`: AUTH TLS before the login if the old
   * one had it, PBSZ 0 and PROT P after it if the old one had PROT P in
   * force, CCC if the old one had dropped TLS, then the directory and TYPE.
   */
  protected override async restoreSession(session: Session): Promise<void> {
    if (this.authed && !session.control.isSecure) {
      session.control.expectTlsUpgrade();
      await session.voidCommand("AUTH TLS");
      await session.control.startTls(this.connectionOptions(), session.settings.timeout);
    }
    await this.record.login(session);
    // Not on dataTls alone: that is set before the first PROT P went out (see connectAndLogin).
    if (this.protP && session.settings.dataTls) {
      await session.voidCommand("PBSZ 0");
      await session.voidCommand("PROT P");
    }
    if (this.cleared && session.control.isSecure) await this.clearControl(session);
    await this.record.restoreState(session);
  }

  /**
   * PBSZ 0 then PROT P: data connections from now on are encrypted. A
   * server that refuses either (anything but 2xx) leaves data unprotected,
   * so the client is closed (FtpClosedError for every call queued behind
   * this one and after it) and this rejects with the refusal: a transfer
   * asked for without waiting for prot_p() must not run in the clear.
   * ftplib raises and leaves the connection as it was; make a new client
   * and pass `protectData: false` (or skip prot_p()) for clear data.
   */
  prot_p(): Promise<string> {
    return this.enqueue(this.protPTask);
  }

  /** prot_p()'s task. */
  private readonly protPTask = async (session: Session): Promise<string> => {
    let reply: Reply;
    try {
      await session.voidCommand("PBSZ 0");
      reply = await session.voidCommand("PROT P");
    } catch (error) {
      this.close();
      throw error;
    }
    session.settings.dataTls = this.connectionOptions();
    this.protP = true;
    return reply.text;
  };

  /** PROT C: data connections from now on are in the clear. */
  prot_c(): Promise<string> {
    return this.enqueue(async (session) => {
      const reply = await session.voidCommand("PROT C");
      session.settings.dataTls = undefined;
      this.protP = false;
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
    return tlsConnectionOptions(this.host, this.tlsOptions);
  }
}

/** tls.connect options for `host`: the user's `tlsOptions`, plus host (for the identity check) and SNI. */
function tlsConnectionOptions(host: string, tlsOptions: tls.ConnectionOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { host, ...tlsOptions };
  // SNI must not be an IP address (RFC 6066); identity is still checked against `host`.
  if (options.servername === undefined && !isIP(host)) options.servername = host;
  return options;
}
