/**
 * The control connection: owns the socket (plain or TLS), turns its bytes
 * into replies with a ReplyParser and hands them, in order, to whoever is
 * reading. It does not decide who may send: that is the CommandQueue's job.
 */
import { Duplex } from "node:stream";
import * as net from "node:net";
import * as tls from "node:tls";
import { CreateConnection, openCustomConnection, whenConnected } from "./connect.js";
import { DebugOutput } from "./debug.js";
import { FtpConnectionError, FtpError, FtpLimitError, FtpProtoError, FtpTimeoutError, telnetIacRefused } from "./errors.js";
import { assertSafeArgument, plainAddress } from "./protocol.js";
import { Reply, ReplyParser, ReplyParserOptions } from "./reply.js";
import { markSecurityFailure } from "./security-verbs.js";
import { codecFor, doubleIac, hasEscapes, IAC, TelnetIac, telnetIacOf, TextCodec } from "./text-codec.js";

/** What the ControlConnection is made with: the reply parser's options, and how 0xFF goes in commands. */
export interface ControlOptions extends ReplyParserOptions {
  /** The `telnetIac` client option (see text-codec.ts); default "auto". */
  telnetIac?: TelnetIac;
}

export interface ControlConnectOptions {
  host: string;
  port: number;
  /** Milliseconds for the TCP (and implicit TLS) handshake and the welcome; 0 = none. */
  timeout: number;
  sourceAddress?: readonly [string, number];
  /** Set for implicit FTPS: TLS from the first byte. */
  implicitTls?: tls.ConnectionOptions;
  /** Makes the socket instead of net.connect (a proxy); see FtpOptions.createConnection. */
  createConnection?: CreateConnection;
}

/**
 * Who takes the next reply (see ControlConnection.awaitReply): told of it,
 * or of the connection's failure, exactly once. An object rather than a
 * promise, so a pipelined command's reply goes to it as the bytes are
 * parsed, with no promise and no microtask turn per reply.
 */
export interface ReplyReader {
  reply(reply: Reply): void;
  failed(error: Error): void;
  /**
   * A transfer's reader of its 1xx: a 2xx it takes does not end the
   * command (ftplib: some servers send one before the 1xx of LIST or
   * STOR), so the command's final reply is still owed, and a 1xx in the
   * same chunk is held for the next read instead of dropped.
   */
  readonly beforePreliminary?: boolean;
}

/** readReply()'s reader: the promise's two ends. */
class PromisedReply implements ReplyReader {
  constructor(
    readonly reply: (reply: Reply) => void,
    readonly failed: (error: Error) => void,
    readonly beforePreliminary: boolean,
  ) {}
}

/**
 * Carries TLS records over the raw socket while we own both ends of the
 * pipe, so the TLS layer can later be dropped (CCC) and the socket used in
 * the clear again — a TLSSocket built directly on a net.Socket takes its
 * handle and can never give it back.
 */
class TlsCarrier extends Duplex {
  constructor(private readonly raw: net.Socket) {
    super();
  }

  override _read(): void {
    // Bytes arrive from the raw socket's listener in ControlConnection.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.raw.destroyed) {
      callback();
      return;
    }
    this.raw.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Ending TLS (close_notify) must not end the TCP connection beneath it.
    callback();
  }
}

/**
 * Implicit FTPS whose handshake met bytes OpenSSL cannot read as TLS (its
 * `ERR_SSL_*` codes: a server, or someone between, answering in the clear)
 * is a failure to secure the connection, as the same after AUTH TLS's 234
 * is (tls.ts): under `retry` not tried again as a transient failure, and
 * reported by an FtpPool (see markSecurityFailure). A timeout or a reset
 * is not: that may be the network. Rethrows `error`.
 */
function markNotTls(error: unknown): never {
  throw error instanceof FtpError && error.code.startsWith("ERR_SSL_") ? markSecurityFailure(error) : error;
}

/** Idle time before TCP keepalive probes start on the control connection: well under common NAT idle timeouts. */
export const CONTROL_TCP_KEEPALIVE_MS = 60_000;

/**
 * Preliminary (1xx) replies the connection holds unread beyond the final
 * replies it is owed. A command is announced by one 1xx, rarely two; only
 * a flooding server sends more before anyone reads them (during a long
 * download nobody reads the control connection). Past this bound the
 * connection is closed with an FtpLimitError (`limit` "unsolicitedReplies")
 * that the current or next call fails with, instead of buffering on.
 * Other replies nothing will read (finals beyond those owed, anything
 * while idle) are not held at all: they are dropped as they arrive,
 * counted and shown at debug level 1, and the client goes on working.
 * So what the control connection holds is bounded by the commands in
 * flight plus this many replies, each within the parser's bounds
 * (DEFAULT_MAX_LINE, DEFAULT_MAX_REPLY, MAX_REPLY_LINES in reply.ts).
 */
export const MAX_HELD_PRELIMINARY_REPLIES = 16;

/**
 * Most replies a reader may take in a row that end no command: 1xx
 * replies, and final replies past those the commands sent are owed (see
 * awaitingFinal). The loops that read past them (the welcome's "120
 * Service ready in nnn minutes", a transfer's 1xx before its final reply,
 * an abort reading up to its NOOP's 200) would otherwise read for ever a
 * server that sends one now and then, each within the timeout, holding
 * what they read. Past it the connection is closed with an FtpLimitError
 * (`limit` "strayReplies"). A server sends two or three at most.
 */
export const MAX_STRAY_REPLIES = 64;

/** Commands after which the server's TYPE is no longer known: TYPE itself, REIN and a new login reset it, and so may a TLS change. */
const TYPE_CHANGING = /^(?:TYPE|REIN|USER|PASS|ACCT|AUTH|CCC)\b/i;
/** Commands whose own reply may be a 225 or 226: ABOR, and those that open a transfer. */
const MAY_GET_225_226 = /^(?:ABOR|RETR|STOR|STOU|APPE|LIST|NLST|MLSD)\b/i;

export class ControlConnection {
  readonly debug: DebugOutput;
  private raw: net.Socket | undefined;
  /** Set when a createConnection made the socket: see dataHost. */
  private peerHost: string | undefined;
  private secure: tls.TLSSocket | undefined;
  private carrier: TlsCarrier | undefined;
  private parser: ReplyParser;
  /**
   * Replies read from the socket that no reader has taken yet. Only replies
   * something will read are kept (see deliver): the final replies owed to
   * commands sent (at most awaitingFinal of them), at most
   * MAX_HELD_PRELIMINARY_REPLIES 1xx replies besides, and one unsolicited
   * 421. Whatever else a server sends is dropped as it arrives, so memory
   * stays bounded however fast a server writes while the client is idle.
   */
  private readonly buffered: Reply[] = [];
  /** How many of `buffered` are final (non-1xx) replies. */
  private bufferedFinals = 0;
  /** Replies taken in a row that ended no command (see MAX_STRAY_REPLIES). */
  private strayInRow = 0;
  /** Replies dropped because nothing would read them (see deliver), for specs and debugging. */
  private dropped = 0;
  /**
   * Commands sent whose final (non-1xx) reply has not been read yet. While
   * it is 0, a reply that arrives belongs to no command: an extra reply
   * from a faulty or hostile server (a second 220, a repeated 226). Left
   * buffered, it would be taken as the next command's reply and every reply
   * after it would answer the command before (ftplib reads it so); such
   * replies are dropped instead (see deliver and dropUnsolicited). The
   * welcome counts as owed from connect() on.
   */
  private awaitingFinal = 0;
  /**
   * Of the commands counted in awaitingFinal, the oldest ones whose reader
   * took a 1xx and went (ftplib's sendcmd returns a 1xx): their final
   * replies are still owed. getresp() may still read them; once another
   * command is sent they are skipped (see skipping), so that command does
   * not take an owed reply as its own.
   */
  private unclaimed = 0;
  /** Final replies still to come that answer commands before the last one sent: dropped on arrival, with any 1xx before them. */
  private skipping = 0;
  /**
   * An abort ended without ABOR's own 225/226 (ftp-srv sends it after the
   * NOOP's 200): the first 225 or 226 that arrives is dropped as that late
   * reply, as long as no command that may get a 225/226 of its own (ABOR,
   * a transfer) was sent since. See expectLateAbortReply.
   */
  private lateAbortReply = false;
  /** Who waits for the next reply (awaitReply), if anyone. */
  private waiter: ReplyReader | undefined;
  /** performance.now() by when the waiter's reply must come, or 0 for no deadline. */
  private waiterDue = 0;
  /** The timeout that set `waiterDue`, for the error's message. */
  private waiterTimeout = 0;
  /** The message of the waiter's deadline set with setDeadline (else the usual one). */
  private waiterMessage: string | undefined;
  /** The timer behind every reply deadline (see armReplyTimer), while one is pending. */
  private replyTimer: NodeJS.Timeout | undefined;
  /** When replyTimer fires (performance.now()). */
  private replyTimerDue = 0;
  private failure: Error | undefined;
  /**
   * Aborted by fail() while connect() waits for the TCP connect (or for a
   * createConnection's socket): the socket being made is destroyed then,
   * not once its connect completes, so a client closed meanwhile (close(),
   * a pool or a connection lease giving it up, a retry stopped) leaves no
   * connection open that nobody owns.
   */
  private connecting: AbortController | undefined;
  private latestSession: Buffer | undefined;
  /** See peerCertificate. */
  private handshakeCertificate: Buffer | undefined;
  private tlsEnding = false;
  /** `dropped` when AUTH TLS went out (see expectTlsUpgrade), until startTls checks that nothing came after its 234. */
  private droppedAtAuth: number | undefined;
  private readonly codec: TextCodec;
  /** The `telnetIac` option as given ("auto": learnt from the welcome, see connect()). */
  private readonly telnetIac: TelnetIac;
  /** What wireForm does with a command whose bytes hold 0xFF; "refuse" until the welcome names a known server. */
  private iacCommands: Exclude<TelnetIac, "auto">;
  /** The welcome names a server that reads no command during a transfer (set by the client: see transfer-ahead.ts). */
  holdsCommandsInTransfer = false;
  /** The server doubles 0xFF in its replies (vsftpd): receive() makes each pair one byte again. */
  private undoubleReplies = false;
  /** The last chunk ended in an unpaired 0xFF that undoubleReplies holds back until the next byte. */
  private heldIac = false;
  /** Inside batch(): the command lines sent so far, written together when it ends. */
  private batched: Array<string | Buffer> | undefined;
  /** Called once when the connection fails or closes, with the reason. */
  onClose: (error: Error) => void = () => undefined;
  /**
   * The TYPE the server is in once every command written so far has run,
   * so the next transfer of that type skips a round trip (basic-ftp and
   * FileZilla do the same; ftplib repeats TYPE every time). send() forgets
   * it whenever a command that may change it goes out (see TYPE_CHANGING);
   * a TYPE sent on its own sets it when confirmed, one written with a
   * transfer's EPSV as it is written (see writeEpsvLines), since transfers
   * written behind it decide on it before its reply is read.
   */
  knownType: string | undefined;

  constructor(debug: DebugOutput, options: ControlOptions) {
    this.debug = debug;
    this.codec = codecFor(options.encoding);
    this.parser = new ReplyParser(options);
    this.telnetIac = options.telnetIac ?? "auto";
    this.iacCommands = this.telnetIac === "auto" ? "refuse" : this.telnetIac;
  }

  /** True once the connection has failed or been closed. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Why the connection closed, if it has. */
  get closeReason(): Error | undefined {
    return this.failure;
  }

  /** How many replies are read and held for a reader (bounded; see `buffered`): for specs. */
  get heldReplies(): number {
    return this.buffered.length;
  }

  /** Bytes of a reply the parser holds, not yet complete (bounded by maxLine and maxReply): for specs. */
  get heldReplyBytes(): number {
    return this.parser.heldBytes;
  }

  /** How many replies were dropped on arrival because no command would read them: for specs and debugging. */
  get droppedReplies(): number {
    return this.dropped;
  }

  get isSecure(): boolean {
    return this.secure !== undefined;
  }

  /**
   * The host passive data connections go to (unless the 227 is trusted):
   * the peer's address, or with a createConnection (a proxy, whose address
   * the socket shows) the host the client was given.
   */
  get dataHost(): { address: string; family: 4 | 6 } {
    if (this.peerHost !== undefined)
      return {
        address: this.peerHost,
        family: net.isIPv6(this.peerHost) ? 6 : 4,
      };
    return plainAddress(this.socket.remoteAddress ?? "");
  }

  /** The underlying TCP socket (addresses, family). */
  get socket(): net.Socket {
    if (!this.raw) throw new FtpConnectionError("not connected");
    return this.raw;
  }

  /**
   * The certificate (DER) the server showed in the control connection's
   * last TLS handshake, kept after CCC: a data connection that does not
   * resume the control connection's session must show this one (data-tls.ts).
   */
  get peerCertificate(): Buffer | undefined {
    return this.handshakeCertificate;
  }

  /** The newest TLS session of the control connection, for data connections to resume. */
  get tlsSession(): Buffer | undefined {
    return this.latestSession ?? this.secure?.getSession();
  }

  /** Opens the connection and resolves to the welcome reply (any code: the caller judges it). */
  async connect(options: ControlConnectOptions): Promise<Reply> {
    // The welcome is owed like the reply to a command: with implicit TLS it
    // may arrive before readReply() below waits for it, and must be kept.
    this.awaitingFinal = 1;
    // Closed before it began: no socket is made.
    const closedBefore = this.failure;
    if (closedBefore) throw closedBefore;
    const connecting = new AbortController();
    this.connecting = connecting;
    let raw: net.Socket;
    try {
      raw = await this.openSocket(options, connecting.signal);
    } catch (error) {
      // A refused or timed-out connect closes the connection like any other
      // failure, so `closed` is true and queued calls fail with FtpClosedError
      // instead of finding a half-made connection ("not connected").
      this.fail(error as Error);
      throw error;
    } finally {
      this.connecting = undefined;
    }
    if (this.failure) {
      // Closed after the connect completed but before this ran: fail() had no socket to destroy.
      raw.destroy();
      throw this.failure;
    }
    this.raw = raw;
    raw.on("data", (chunk: Buffer) => {
      if (this.carrier) this.carrier.push(chunk);
      else this.receive(chunk);
    });
    raw.on("error", (error) => this.fail(new FtpConnectionError("control connection failed", error)));
    raw.on("close", () => this.fail(new FtpConnectionError("the server closed the control connection")));
    if (options.implicitTls) await this.startTls(options.implicitTls, options.timeout).catch(markNotTls);
    const welcome = await this.readReply(options.timeout);
    if (this.telnetIac === "auto") {
      const known = telnetIacOf(welcome.text);
      if (known) {
        this.iacCommands = known.commands;
        this.undoubleReplies = known.doublesReplies;
      }
    }
    return welcome;
  }

  private openSocket(options: ControlConnectOptions, signal: AbortSignal): Promise<net.Socket> {
    const wait = {
      timeout: options.timeout,
      refused: `cannot connect to ${options.host}:${options.port}`,
      timedOut: `connect to ${options.host}:${options.port} timed out after ${options.timeout} ms`,
      signal,
    };
    if (options.createConnection) {
      // Through a proxy the socket's peer is the proxy: passive data connections go to the host we were given.
      this.peerHost = options.host;
      const request = {
        host: options.host,
        port: options.port,
        purpose: "control" as const,
      };
      const source = options.sourceAddress;
      return openCustomConnection(
        options.createConnection,
        source
          ? {
              ...request,
              localAddress: source[0] || undefined,
              localPort: source[1] || undefined,
            }
          : request,
        wait,
      );
    }
    const socket = net.connect({
      host: options.host,
      port: options.port,
      localAddress: options.sourceAddress?.[0] || undefined,
      localPort: options.sourceAddress?.[1] || undefined,
    });
    socket.setNoDelay(true);
    // The control connection sits silent through a whole transfer; a NAT or
    // firewall that forgets quiet connections (AWS's NAT gateway after 350 s)
    // would otherwise lose the final reply of a long download.
    socket.setKeepAlive(true, CONTROL_TCP_KEEPALIVE_MS);
    return whenConnected(socket, wait);
  }

  /**
   * AUTH TLS is about to go out: its 234 must be the last byte the server
   * sends in the clear, and startTls checks it was.
   */
  expectTlsUpgrade(): void {
    this.droppedAtAuth = this.dropped;
  }

  /**
   * Secures the connection (after `234` to AUTH TLS, or at once for
   * implicit FTPS). After AUTH TLS (see expectTlsUpgrade), bytes that came
   * after the 234 fail the connection with FtpProtoError instead: no
   * server sends them, and read after the handshake they would pass for
   * protected replies (a man in the middle injects there). They are all
   * here by now: the 234's reader runs on from the chunk that held it
   * with no I/O between, and what comes later goes into the handshake.
   */
  startTls(options: tls.ConnectionOptions, timeout: number): Promise<void> {
    const droppedAtAuth = this.droppedAtAuth;
    this.droppedAtAuth = undefined;
    if (
      droppedAtAuth !== undefined &&
      (this.dropped !== droppedAtAuth || this.buffered.length > 0 || this.parser.heldBytes > 0 || this.heldIac)
    ) {
      const error = new FtpProtoError("the server sent clear text after the 234 to AUTH TLS, before the TLS handshake");
      this.fail(error);
      return Promise.reject(error);
    }
    const raw = this.socket;
    const carrier = new TlsCarrier(raw);
    this.carrier = carrier;
    const secure = tls.connect({ ...options, socket: carrier });
    this.secure = secure;
    secure.on("session", (session: Buffer) => {
      this.latestSession = session;
    });
    let handshakeDone = false;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (error?: Error): void => {
        handshakeDone = true;
        clearTimeout(timer);
        secure.removeListener("secureConnect", onSecure);
        if (error) {
          this.fail(error);
          reject(error);
        } else {
          resolve();
        }
      };
      const onSecure = (): void => {
        // Read now: a session need not hold it (a TLS 1.3 server that issues no ticket gives none).
        this.handshakeCertificate = secure.getPeerX509Certificate()?.raw;
        done();
      };
      secure.once("secureConnect", onSecure);
      // The connection failed under the handshake (a reset, the server's FIN: fail() destroys the
      // TLS socket, which emits no error): settle with why, not with the timeout, or never with none.
      secure.once("close", () => {
        if (!handshakeDone) done(this.failure ?? new FtpConnectionError("the control connection closed during the TLS handshake"));
      });
      secure.on("error", (error) => {
        const wrapped = new FtpConnectionError("TLS on the control connection failed", error);
        if (handshakeDone && this.secure === secure) this.fail(wrapped);
        else done(wrapped);
      });
      secure.on("data", (chunk: Buffer) => this.receive(chunk));
      secure.on("end", () => {
        // After a 200 to CCC the server's close_notify may come before stopTls() runs.
        if (this.secure === secure && !this.tlsEnding) this.fail(new FtpConnectionError("the server ended TLS on the control connection"));
      });
      if (timeout > 0) {
        timer = setTimeout(() => done(new FtpTimeoutError(`TLS handshake timed out after ${timeout} ms`)), timeout);
      }
    });
  }

  /** CCC is on its way: the server's close_notify that follows is expected, not a failure. */
  expectTlsEnd(expected: boolean): void {
    this.tlsEnding = expected;
  }

  /** Drops TLS after a `200` to CCC: sends close_notify, waits for the server's, then speaks in the clear. */
  async stopTls(timeout: number): Promise<void> {
    const secure = this.secure;
    if (!secure) return;
    this.secure = undefined;
    if (secure.readableEnded) {
      secure.end();
    } else {
      await new Promise<void>((resolve) => {
        const finish = (): void => {
          clearTimeout(timer);
          resolve();
        };
        secure.once("end", finish);
        secure.once("close", finish);
        // Some servers never answer close_notify; don't wait for it forever.
        const timer = setTimeout(finish, timeout > 0 ? Math.min(timeout, 2000) : 2000);
        secure.end();
      });
    }
    this.carrier = undefined;
    this.tlsEnding = false;
    secure.destroy();
  }

  /**
   * Throws what send() would throw for `line` (CR, LF or NUL, a character
   * the encoding lacks, a 0xFF this server would misread), sending
   * nothing: a transfer checks its command before it opens a data
   * connection, which a refusal after it would leave behind.
   */
  assertSendable(line: string): void {
    assertSafeArgument(line);
    this.wireForm(line + "\r\n");
  }

  /** Sends one command line. Refuses CR, LF and NUL before anything is written. */
  send(line: string): void {
    assertSafeArgument(line);
    this.assertOpen();
    // Encoded first: a character the encoding lacks refuses the command before it counts as sent.
    const wire = this.wireForm(line + "\r\n");
    if (this.unclaimed > 0) this.skipUnclaimed();
    if (this.awaitingFinal === 0) this.dropUnsolicited();
    // Its own reply could be a 225/226: from here a late ABOR reply cannot be told apart.
    if (this.lateAbortReply && MAY_GET_225_226.test(line)) this.lateAbortReply = false;
    this.awaitingFinal++;
    if (TYPE_CHANGING.test(line)) this.knownType = undefined;
    this.debug.command(line);
    this.debug.put(line);
    if (this.batched !== undefined) this.batched.push(wire);
    else if (typeof wire === "string") this.writer().write(wire, "utf8");
    else this.writer().write(wire);
  }

  /**
   * A command line as it goes on the wire. UTF-8 stays a string: Node
   * encodes it straight into the write, with no Buffer made (and
   * collected) per command; it never holds byte 0xFF. Other encodings, and
   * names carrying bytes that did not decode, become their bytes, and
   * where those hold 0xFF (Telnet IAC) the `telnetIac` handling applies:
   * doubled, as it is, or refused with an FtpError ERR_FTP_TELNET_IAC
   * before anything counts as sent (see text-codec.ts).
   */
  private wireForm(text: string): string | Buffer {
    if (this.codec.utf8 && !hasEscapes(text)) return text;
    const bytes = this.codec.encode(text);
    if (bytes.indexOf(IAC) === -1 || this.iacCommands === "raw") return bytes;
    if (this.iacCommands === "double") return doubleIac(bytes);
    throw telnetIacRefused(text.slice(0, text.search(/[ \r]/)).toUpperCase());
  }

  /** Runs `writes`, and sends the command lines they send in one write: one segment, one syscall. */
  batch(writes: () => void): void {
    if (this.batched !== undefined) {
      writes();
      return;
    }
    this.batched = [];
    try {
      writes();
    } finally {
      const lines = this.batched;
      this.batched = undefined;
      // Lines sent before a throw were counted as sent (awaitingFinal): they go out.
      if (lines.length > 0 && !this.failure) {
        const strings = lines.every((line) => typeof line === "string");
        if (strings) this.writer().write(lines.join(""), "utf8");
        else this.writer().write(Buffer.concat(lines.map((line) => (typeof line === "string" ? Buffer.from(line, "utf8") : line))));
      }
    }
  }

  /**
   * Every command sent so far has had all its replies read (an abort's NOOP
   * was answered), even where a server sent fewer replies than commands.
   */
  markInStep(): void {
    this.awaitingFinal = 0;
    this.unclaimed = 0;
    this.skipping = 0;
  }

  /**
   * ABOR's own reply (225/226) may still come after the replies an abort
   * read. Only ABOR and a transfer's final reply are ever 225 or 226, so
   * the next such reply that arrives before another ABOR or transfer
   * command is sent is that late reply, and is dropped, whichever command
   * is waiting (a NOOP waits for 200, a PWD for 257).
   */
  expectLateAbortReply(): void {
    this.lateAbortReply = true;
  }

  /**
   * The reader of the oldest command still waiting took a 1xx and will not
   * read the final reply it announced (see unclaimed).
   */
  leaveFinalUnread(): void {
    if (this.unclaimed < this.awaitingFinal) this.unclaimed++;
  }

  /** Reads the next reply. `timeout` (ms, 0 = none) bounds the wait; expiry closes the connection. */
  readReply(timeout = 0, beforePreliminary = false): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => this.awaitReply(new PromisedReply(resolve, reject, beforePreliminary), timeout));
  }

  /**
   * Hands the next reply to `reader`: at once if one is held, else as soon
   * as it is parsed, before awaitReply's caller or the parser's loop goes
   * on (so a reader that awaits again at once takes the reply after it
   * from the same chunk). `timeout` (ms, 0 = none) bounds the wait; expiry
   * closes the connection, and `reader` is told of that failure.
   */
  awaitReply(reader: ReplyReader, timeout = 0): void {
    const ready = this.buffered.shift();
    if (ready) {
      if (ready.code >= 200) this.bufferedFinals--;
      reader.reply(this.taken(ready, reader));
      return;
    }
    if (this.failure) {
      reader.failed(this.failure);
      return;
    }
    if (this.waiter) {
      reader.failed(new FtpError("two readers waiting for one reply", "ERR_FTP_INTERNAL"));
      return;
    }
    const due = timeout > 0 ? performance.now() + timeout : 0;
    this.waiter = reader;
    this.waiterDue = due;
    this.waiterTimeout = timeout;
    this.waiterMessage = undefined;
    // A timer already pending serves unless it would fire after this deadline.
    if (due > 0 && (!this.replyTimer || this.replyTimerDue > due)) this.armReplyTimer(timeout);
  }

  /**
   * Bounds the wait of `reader`, if it is the reader waiting (one that
   * awaited with no deadline, as a transfer's final reply is read while its
   * data flows): its reply must come by `due` (performance.now()), else the
   * connection fails with an FtpTimeoutError saying `message`, as
   * awaitReply's deadline fails it. Watched by the one reply timer: a
   * Session.within() here made a timer, a promise and two reactions on
   * every transfer whose data closed before its final reply came.
   */
  setDeadline(reader: ReplyReader, due: number, message: string): void {
    if (this.waiter !== reader) return;
    this.waiterDue = due;
    this.waiterMessage = message;
    if (!this.replyTimer || this.replyTimerDue > due) this.armReplyTimer(Math.max(0, due - performance.now()));
  }

  /**
   * One timer watches every reply's deadline, set when none is pending and
   * moved on when it fires early: setting and clearing a timer per reply
   * cost more than reading the reply. It does not keep the process alive
   * (the socket does, while it is open).
   */
  private armReplyTimer(ms: number): void {
    clearTimeout(this.replyTimer);
    this.replyTimerDue = performance.now() + ms;
    this.replyTimer = setTimeout(this.checkReplyDue, ms);
    this.replyTimer.unref();
  }

  private readonly checkReplyDue = (): void => {
    this.replyTimer = undefined;
    if (!this.waiter || this.waiterDue === 0) return;
    const left = this.waiterDue - performance.now();
    if (left > 0) {
      this.armReplyTimer(left);
      return;
    }
    this.fail(new FtpTimeoutError(this.waiterMessage ?? `no reply from the server within ${this.waiterTimeout} ms`));
  };

  /** Closes the connection; pending and later reads fail with `reason`. Idempotent. */
  close(reason: Error): void {
    this.fail(reason);
  }

  private writer(): net.Socket {
    return this.secure ?? this.socket;
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (!this.raw) throw new FtpConnectionError("not connected");
  }

  private receive(chunk: Buffer): void {
    let replies: Reply[];
    if (this.undoubleReplies) chunk = this.undoubled(chunk);
    try {
      replies = this.parser.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const reply of replies) {
      if (this.failure) return;
      this.deliver(reply);
    }
  }

  /**
   * `chunk` with each 0xFF 0xFF the server doubled made one 0xFF again. A
   * chunk ending in an unpaired 0xFF keeps it back for the next chunk (a
   * reply ends in CRLF, so it is never held for long). A lone 0xFF before
   * another byte, which such a server does not send, is kept as it is.
   */
  private undoubled(chunk: Buffer): Buffer {
    if (!this.heldIac && chunk.indexOf(IAC) === -1) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let held = this.heldIac;
    for (const byte of chunk) {
      if (held) {
        out[n++] = IAC;
        held = false;
        if (byte === IAC) continue;
      } else if (byte === IAC) {
        held = true;
        continue;
      }
      out[n++] = byte;
    }
    this.heldIac = held;
    return out.subarray(0, n);
  }

  private deliver(reply: Reply): void {
    // ftplib reads the control connection in text mode, so its `*get*`
    // lines end in \n whatever the server sent; show the same.
    for (const line of reply.lines) this.debug.get(line + "\n");
    if (this.skipping > 0 && this.skipped(reply)) return;
    if (this.lateAbortReply && (reply.code === 225 || reply.code === 226)) {
      this.lateAbortReply = false;
      this.drop(reply);
      return;
    }
    this.debug.response(reply.text);
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.reply(this.taken(reply, waiter));
    } else if (this.bufferedFinals < this.awaitingFinal) {
      this.hold(reply);
    } else if (reply.code === 421 && !this.buffered.some((held) => held.code === 421)) {
      // The server is closing: the next command should fail with this reply, as ftplib's would.
      this.hold(reply);
    } else {
      // Every command sent already has its final reply here (or none was
      // sent): nothing will read this one. Held, it would wait for the next
      // command and be dropped then (dropUnsolicited); a server writing
      // replies while the client is idle would grow memory without end.
      this.drop(reply);
    }
  }

  /** Keeps `reply` for the next reader, within MAX_HELD_PRELIMINARY_REPLIES 1xx replies. */
  private hold(reply: Reply): void {
    this.buffered.push(reply);
    if (reply.code >= 200) {
      this.bufferedFinals++;
    } else if (this.buffered.length - this.bufferedFinals > MAX_HELD_PRELIMINARY_REPLIES) {
      // What is held is now worthless: the reader should meet the error, not these first.
      this.buffered.length = 0;
      this.bufferedFinals = 0;
      this.fail(
        new FtpLimitError(
          "unsolicitedReplies",
          MAX_HELD_PRELIMINARY_REPLIES,
          `the server sent more than ${MAX_HELD_PRELIMINARY_REPLIES} preliminary (1xx) replies that nothing read`,
        ),
      );
    }
  }

  private drop(reply: Reply): void {
    this.dropped++;
    this.debug.unsolicited(reply.text);
  }

  /**
   * Counts a reply as read: a final one answers the oldest command still
   * waiting, unless it is a 2xx before a transfer's 1xx (see
   * ReplyReader.beforePreliminary). Any other (a 1xx, a final reply
   * nothing was owed, that 2xx) counts
   * toward MAX_STRAY_REPLIES; past it the connection fails, and the reader
   * meets that failure when it reads again.
   */
  private taken(reply: Reply, reader: ReplyReader): Reply {
    if (reply.code >= 200 && this.awaitingFinal > 0 && !(reader.beforePreliminary && reply.code < 300)) {
      this.awaitingFinal--;
      this.strayInRow = 0;
      // getresp() read an owed final reply after all.
      if (this.unclaimed > 0) this.unclaimed--;
    } else if (++this.strayInRow > MAX_STRAY_REPLIES) {
      this.fail(
        new FtpLimitError(
          "strayReplies",
          MAX_STRAY_REPLIES,
          `the server sent more than ${MAX_STRAY_REPLIES} replies in a row that end no command (1xx, or final replies nothing was owed)`,
        ),
      );
    }
    return reply;
  }

  /** A command is going out: the owed final replies (see unclaimed) are skipped, those already here at once. */
  private skipUnclaimed(): void {
    this.skipping += this.unclaimed;
    this.unclaimed = 0;
    while (this.skipping > 0 && this.buffered.length > 0) {
      if (!this.skipped(this.buffered[0])) break;
      if (this.buffered.shift()!.code >= 200) this.bufferedFinals--;
    }
  }

  /**
   * Drops `reply` if it answers a command whose reader is gone (skipping >
   * 0): a 1xx, or the final reply, which ends the skip for that command.
   * A 421 is never dropped: the server is closing, and the next command
   * should fail with it, as ftplib's would.
   */
  private skipped(reply: Reply): boolean {
    if (reply.code === 421) {
      this.skipping--;
      return false;
    }
    this.drop(reply);
    if (reply.code >= 200) {
      this.skipping--;
      this.awaitingFinal--;
    }
    return true;
  }

  /**
   * Forgets the replies no command asked for (see awaitingFinal), except a
   * 421: the server is closing, and the command about to go out should
   * fail with its reply, as ftplib's would.
   */
  private dropUnsolicited(): void {
    for (let i = this.buffered.length - 1; i >= 0; i--) {
      const reply = this.buffered[i];
      if (reply.code === 421) continue;
      this.buffered.splice(i, 1);
      if (reply.code >= 200) this.bufferedFinals--;
      this.drop(reply);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    clearTimeout(this.replyTimer);
    this.replyTimer = undefined;
    waiter?.failed(error);
    this.connecting?.abort(error);
    this.secure?.destroy();
    this.raw?.destroy();
    this.onClose(error);
  }
}
