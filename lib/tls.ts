/**
 * FTPS (RFC 4217): ftplib's FTP_TLS — AUTH TLS on the control connection,
 * PROT P for data connections that resume the control connection's TLS
 * session (which vsftpd and proftpd require), CCC, and implicit FTPS.
 */
import { isIP } from "node:net";
import type * as tls from "node:tls";
import { asError } from "./as-error.js";
import { FTP, FtpOptions } from "./client.js";
import { FtpError, FtpProtoError, FtpReplyError, isRefusal } from "./errors.js";
import { DATA_PROTECTED } from "./ftpcp.js";
import { assertPlainVerb, commandParts, markSecurityFailure } from "./security-verbs.js";
import { assertSafeArgument } from "./protocol.js";
import type { Reply } from "./reply.js";
import { refuseFailure, type Session } from "./session.js";
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
  /** The user chose a clear control connection (login(..., secure = false), or ccc()): a login sent by hand may go in the clear. */
  private clearChosen = false;

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
    try {
      // Under `retry`, tried again on a new connection after a transient failure (no 234 within the timeout: proftpd
      // given "AUTH TLS\r" and "\n" in two reads waits for the next line), as the login and a reconnect's AUTH TLS are.
      await this.runNow((session) => (session.control.isSecure ? Promise.resolve("") : this.authOn(session)), { repeat: true });
    } catch (error) {
      // Nothing behind this may go in the clear: not the login, not a call queued before `ready`.
      this.close();
      throw error;
    }
    await this.runNow(login, { repeat: true });
    if (options.protectData ?? true) await this.runNow(this.protPTask);
  }

  /**
   * Whether data connections are TLS now, for ftpcp (see DATA_PROTECTED).
   * @internal
   */
  [DATA_PROTECTED](): boolean {
    return this.settings.dataTls !== undefined;
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
   * While PROT P is in force (a login again), PBSZ 0 and PROT P follow the
   * login, since servers such as pyftpdlib reset them with a new USER; their
   * refusal closes the client, as prot_p()'s does.
   */
  override async login(user = "", passwd = "", acct = "", secure = true): Promise<string> {
    // Refuses CR/LF/NUL before AUTH TLS goes out, not after.
    const login = this.loginTask(user, passwd, acct);
    // One task: a call made meanwhile comes after the login, not between AUTH TLS and USER.
    return this.enqueue(
      async (session) => {
        if (secure && !session.control.isSecure) await this.authOn(session);
        if (!secure) this.clearChosen = true;
        const text = await login(session);
        await this.protectAgain(session);
        return text;
      },
      { repeat: true },
    );
  }

  /**
   * Sends a command as FTP's sendcmd does, but keeps the client's idea of
   * what is protected in step with the server's for a line that changes
   * it: `AUTH TLS` is auth() (the control connection is secured after the
   * 234), `PROT P` and `PROT C` do what prot_p() (without PBSZ; a refusal
   * closes the client) and prot_c() do, `CCC` is ccc(), and after a 2xx to
   * a USER, PASS or ACCT that ends a login, which resets data protection
   * on servers such as pyftpdlib (as `REIN` does: after its 2xx they wait
   * for that next login), PBSZ 0 and PROT P go again while PROT P was in
   * force (their refusal closes the client). Refused
   * with an FtpError before anything is sent: another AUTH mechanism
   * (`"ERR_FTP_AUTH_MECHANISM"`), another PROT level
   * (`"ERR_FTP_PROT_LEVEL"`), and USER, PASS or ACCT while the control
   * connection is in the clear, unless the user chose that with
   * login(..., secure = false) or ccc() (`"ERR_FTP_TLS_INACTIVE"`); and a
   * line whose verb is not ASCII letters and digits, which a server may
   * read as another verb (TypeError, `"ERR_INVALID_ARG_VALUE"`). Blanks
   * around the verb and its argument are any whitespace.
   */
  override sendcmd(cmd: string): Promise<string> {
    return this.byHand(cmd, false) ?? super.sendcmd(cmd);
  }

  /** Sends a command and resolves to its reply if 2xx, as FTP's voidcmd; a line that changes what is protected as in sendcmd(). */
  override voidcmd(cmd: string): Promise<string> {
    return this.byHand(cmd, true) ?? super.voidcmd(cmd);
  }

  /** sendcmd()'s and voidcmd()'s way for a line that changes what is protected, or undefined for any other line. */
  private byHand(line: string, void_: boolean): Promise<string> | undefined {
    if (typeof line !== "string") return undefined;
    const { verb, arg } = commandParts(line);
    try {
      // A verb a server may read otherwise (proftpd's `"PROT" C`) could change protection unseen.
      assertPlainVerb(line);
      if (!HAND_VERBS.has(verb)) return undefined;
      assertSafeArgument(line);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    switch (verb) {
      case "AUTH":
        if (arg !== "TLS" && arg !== "TLS-C") {
          return Promise.reject(
            new FtpError(`AUTH ${arg} is not sent by hand: use auth() or login(), which send AUTH TLS`, "ERR_FTP_AUTH_MECHANISM"),
          );
        }
        return this.enqueue(async (session) => {
          if (session.control.isSecure) throw new FtpError("already using TLS", "ERR_FTP_TLS_ACTIVE");
          return this.authOn(session, line);
        });
      case "PROT":
        if (arg === "P") return this.enqueue((session) => this.protect(session, [line]));
        if (arg === "C") return this.enqueue((session) => this.unprotect(session, line));
        return Promise.reject(
          new FtpError(`PROT ${arg} is not sent: data connections are either TLS (PROT P) or clear (PROT C)`, "ERR_FTP_PROT_LEVEL"),
        );
      case "CCC":
        return this.ccc();
      case "REIN":
        return this.enqueue((session) => this.reinitialize(session, line, void_));
      default:
        // USER, PASS, ACCT: a login by hand.
        return this.enqueue(async (session) => {
          if (!session.control.isSecure && !this.clearChosen) {
            // The line itself is not shown: it may hold the password.
            throw new FtpError(
              `${verb} is not sent on a control connection in the clear: call auth() or login() first (login(user, password, acct, false) to log in in the clear)`,
              "ERR_FTP_TLS_INACTIVE",
            );
          }
          const reply = await session.command(line);
          session.forgetFeatures();
          if (reply.code < 200 || reply.code >= 300) {
            if (void_) throw new FtpReplyError(reply.text);
            return reply.text;
          }
          // Logged in (again): see protectAgain.
          await this.protectAgain(session);
          return reply.text;
        });
    }
  }

  /**
   * REIN: the session is logged out, and servers reset data protection
   * with it (pyftpdlib goes back to PROT C). While PROT P was in force,
   * PBSZ 0 and PROT P go again after the next login (login(), or USER,
   * PASS, ACCT by hand: see protectAgain), in the order of a first
   * connect, not at once: a server may refuse them before a login (`503
   * Login first`), which closed the client, and nothing is transferred
   * before the login anyway. Meanwhile data connections stay TLS on the
   * client's side, so one the server opens in the clear fails.
   */
  private async reinitialize(session: Session, line: string, void_: boolean): Promise<string> {
    session.control.send(line);
    let reply = await session.control.readReply(session.settings.timeout);
    // "120 Service ready in nnn minutes" comes before the 220.
    while (reply.code >= 100 && reply.code < 200) reply = await session.control.readReply(session.settings.timeout);
    refuseFailure(reply);
    await session.observed(line, reply);
    session.forgetFeatures();
    const done = reply.code >= 200 && reply.code < 300;
    if (!done && void_) throw new FtpReplyError(reply.text);
    return reply.text;
  }

  /** Sends AUTH TLS and upgrades the control connection. Rejects if it is already secure. */
  auth(): Promise<string> {
    return this.enqueue(async (session) => {
      if (session.control.isSecure) throw new FtpError("already using TLS", "ERR_FTP_TLS_ACTIVE");
      return this.authOn(session);
    });
  }

  /**
   * PBSZ 0 and PROT P again while PROT P is in force, after a login that
   * may have reset them: pyftpdlib flushes PBSZ and PROT with the account
   * on a USER from a logged-in session, and on REIN, so data went back to
   * the clear on the server's side only. A refusal closes the client, as
   * prot_p()'s does.
   */
  private async protectAgain(session: Session): Promise<void> {
    if (this.protP) await this.protect(session, ["PBSZ 0", "PROT P"]);
  }

  /** AUTH TLS (or `line`, another spelling of it) and the TLS handshake on `session`'s control connection. */
  private async authOn(session: Session, line = "AUTH TLS"): Promise<string> {
    const reply = await this.secureControl(session, line);
    this.authed = true;
    this.cleared = false;
    return reply.text;
  }

  /**
   * `line` (AUTH TLS) and the handshake after its 234. A refusal, or a
   * handshake that met something that is no TLS, is marked a security
   * failure (see markSecurityFailure): under `retry` it is not tried again
   * on a new connection, and an FtpPool reports it. A timeout or a dropped
   * connection is not: that may be the network.
   */
  private async secureControl(session: Session, line: string): Promise<Reply> {
    session.control.expectTlsUpgrade();
    const reply = await session.voidCommand(line).catch((error: unknown) => {
      // A lasting refusal (5xx) only: a 4xx says "not now" (a 421: the server is closing), and under
      // `retry` a new connection tries again, secured from the start as every one is.
      throw isRefusal(error) ? markSecurityFailure(error) : error;
    });
    try {
      await session.control.startTls(this.connectionOptions(), session.settings.timeout);
    } catch (error) {
      throw isNotTls(error) ? markSecurityFailure(error) : error;
    }
    return reply;
  }

  /**
   * A new connection under `retry`: AUTH TLS before the login if the old
   * one had it, PBSZ 0 and PROT P after it if the old one had PROT P in
   * force (and was logged in: else after the next login, as after REIN),
   * CCC if the old one had dropped TLS, then the directory and TYPE.
   */
  protected override async restoreSession(session: Session): Promise<void> {
    if (this.authed && !session.control.isSecure) await this.secureControl(session, "AUTH TLS");
    await this.record.login(session);
    // Not on dataTls alone: that is set before the first PROT P went out (see connectAndLogin). Not before a login
    // either (one lost after REIN): a server may refuse them then, and the next login sends them (see protectAgain).
    if (this.protP && session.settings.dataTls && this.record.isLoggedIn) {
      try {
        await session.voidCommand("PBSZ 0");
        await session.voidCommand("PROT P");
      } catch (error) {
        throw isRefusal(error) ? markSecurityFailure(error) : error;
      }
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
  private readonly protPTask = (session: Session): Promise<string> => this.protect(session, ["PBSZ 0", "PROT P"]);

  /**
   * Sends `lines` (ending with PROT P) and, once each got a 2xx, protects
   * data connections; resolves to the last reply. A refusal closes the
   * client (see prot_p()).
   */
  private async protect(session: Session, lines: readonly string[]): Promise<string> {
    let reply: Reply | undefined;
    try {
      for (const line of lines) reply = await session.voidCommand(line);
    } catch (error) {
      this.close();
      throw isRefusal(error) ? markSecurityFailure(error) : error;
    }
    session.settings.dataTls = this.connectionOptions();
    this.protP = true;
    return reply!.text;
  }

  /** PROT C: data connections from now on are in the clear. */
  prot_c(): Promise<string> {
    return this.enqueue((session) => this.unprotect(session, "PROT C"));
  }

  /** PROT C (`line`) and, after its 2xx, clear data connections. */
  private async unprotect(session: Session, line: string): Promise<string> {
    const reply = await session.voidCommand(line);
    session.settings.dataTls = undefined;
    this.protP = false;
    return reply.text;
  }

  /** CCC: returns the control connection to clear text (data protection is unchanged). */
  ccc(): Promise<string> {
    return this.enqueue(async (session) => {
      if (!session.control.isSecure) throw new FtpError("not using TLS", "ERR_FTP_TLS_INACTIVE");
      const reply = await this.clearControl(session);
      this.cleared = true;
      this.clearChosen = true;
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

/**
 * A TLS handshake after a 234 that met no TLS: clear text after the 234
 * (FtpProtoError), or bytes that OpenSSL cannot read as TLS (its
 * `ERR_SSL_*` codes: a wrong version number is a clear reply where the
 * server's handshake should be). Not a timeout nor a dropped connection.
 */
function isNotTls(error: unknown): boolean {
  if (error instanceof FtpProtoError) return true;
  return error instanceof FtpError && error.code.startsWith("ERR_SSL_");
}

/** Verbs sendcmd()/voidcmd() of FTP_TLS take their own way (see FTP_TLS.sendcmd). */
const HAND_VERBS: ReadonlySet<string> = new Set(["AUTH", "PROT", "CCC", "REIN", "USER", "PASS", "ACCT"]);

/** tls.connect options for `host`: the user's `tlsOptions`, plus host (for the identity check) and SNI. */
function tlsConnectionOptions(host: string, tlsOptions: tls.ConnectionOptions): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { host, ...tlsOptions };
  // SNI must not be an IP address (RFC 6066); identity is still checked against `host`.
  if (options.servername === undefined && !isIP(host)) options.servername = host;
  return options;
}
