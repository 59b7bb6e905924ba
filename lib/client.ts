/**
 * The public FTP client: every method of Python's ftplib.FTP with ftplib's
 * semantics, each running through the one command queue, and the transfer
 * methods returning streams.
 */
import { EventEmitter } from "node:events";
import type * as net from "node:net";
import type { Writable } from "node:stream";
import type * as tls from "node:tls";
import { asError } from "./as-error.js";
import "./dispose.js";
import type { CreateConnection } from "./connect.js";
import { ControlConnection } from "./control.js";
import { checkActiveAddress, checkPortRange } from "./data.js";
import { DebugLogger, DebugOutput, registerDebugOutput } from "./debug.js";
import { consume } from "./pipe.js";
import { errorForReply, FtpClosedError, FtpError, FtpLimitError, FtpPermError, FtpReplyError } from "./errors.js";
import { CrlfEncoder } from "./lines.js";
import { LineStream } from "./line-stream.js";
import {
  assertBlocksize,
  assertHighWaterMark,
  assertLoginArguments,
  assertPort,
  assertRestOffset,
  assertSafeArgument,
  parse257,
  parseMlsdLine,
} from "./protocol.js";
import { CommandQueue } from "./queue.js";
import { commandExchange, Exchange, mayPipeline, PipelinedCall, runExchange, sizeExchange, voidExchange } from "./exchange.js";
import { DEFAULT_MAX_LINE } from "./reply.js";
import { refuseFailure, Session, SessionSettings } from "./session.js";
import { assertMaxFileSize, type DownloadClient, type DownloadRequest } from "./download.js";
import { downloadInto, downloadToCallback } from "./download-targets.js";
import { BlockCallback, LineCallback, RetrbinaryOptions, retrbinaryForm, retrlinesForm } from "./transfer-arguments.js";
import { DownloadOptions, DownloadStream, UploadOptions, UploadStream, UploadStreamOptions } from "./streams.js";
import { assertKeepAlive, IdleKeepAlive, KeepAliveTarget, QUEUE_SETTLED } from "./keepalive.js";
import { sessionFeatures } from "./features.js";
import { listAllLines } from "./list-command.js";
import { EPSV_REACHED } from "./passive-hint.js";
import { RENAME_OWN_PART, renameOwnPart } from "./part-rename.js";
import { REFUSES_IAC } from "./telnet-iac-plan.js";
import { askStamp, SOURCE_STAMP } from "./segment-source.js";
import { RawTransfers } from "./raw.js";
import { assertBurstable, replyOrError, sendBurst, type BeforeCommands, type CommandsBefore } from "./command-burst.js";
import {
  clearDir,
  directoryExists,
  ensureDir,
  lastMod,
  lastMods,
  RemoteClient,
  removeDir,
  setLastMod,
  setLastMods,
  stat,
} from "./remote-ops.js";
import { DEFAULT_MAX_DIRECTORY_ENTRIES, ListOptions, ListTransfer, RemoteListing, WalkEntry, WalkOptions } from "./remote-listing.js";
import { DirTransferOptions, DirTransferResult, downloadDir, TreeWorkers, uploadDir } from "./sync.js";
import { checkAborReply, TransferStart } from "./transfer.js";
import { holdsCommandsInTransfer, WRITES_AHEAD } from "./transfer-ahead.js";
import { UploadOwner, UploadRun, UploadRunOptions } from "./upload.js";
import { crlfLines, isUploadSource, uploadFrom, UploadSource } from "./upload-source.js";
import { checkTelnetIac, codecFor, TelnetIac } from "./text-codec.js";
import { FtpUrl, parseFtpUrl } from "./url.js";
import { ListEntry, ListParser, parseListLine } from "./listing.js";
import { poolConnect, Reconnector, SessionRecord } from "./reconnect.js";
import { OneClientLosses } from "./pool-losses.js";
import { RetryEvent, RetryOptions, RetryPolicy } from "./retry.js";
import { assertTransferCommand } from "./security-verbs.js";
import { timeoutOption } from "./timeout-option.js";

/** Options of {@link FTP}; all optional. */
export interface FtpOptions {
  /** Connect to this host at once (the constructor queues connect, and login if `user` is set). */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  acct?: string;
  /**
   * Milliseconds allowed for connecting, for each reply, and for a data
   * connection to stay silent while we wait on it. Expiry fails the running
   * operation with FtpTimeoutError and closes the client (but for a
   * session's first EPSV data connection, which falls back to PASV: see
   * `useEpsv`). Default 30000; 0 = none, and so is `Infinity` or anything
   * above 2^31 - 1 (what a Node timer holds). No number: TypeError
   * (`ERR_INVALID_ARG_TYPE`); NaN or below 0: RangeError (`ERR_OUT_OF_RANGE`).
   */
  timeout?: number;
  /** Local `[host, port]` to bind the control connection to (data connections bind the host). */
  sourceAddress?: readonly [string, number];
  /**
   * Encoding of commands, replies, listings and text lines. Default `utf8`
   * (RFC 2640). Any Node Buffer encoding (`latin1`, ...) or any label of
   * the WHATWG Encoding Standard (`windows-1251`, `iso-8859-2`, `koi8-r`,
   * `gbk`, `big5`, `shift_jis`, `euc-kr`, ...), for servers that still
   * name files in a legacy code page. Bytes that do not decode are kept in
   * the text as lone surrogates U+DC80-U+DCFF (Python's surrogateescape),
   * so such a name can still be downloaded, renamed and deleted with the
   * string a listing gave. An unknown label throws a TypeError.
   */
  encoding?: string;
  /**
   * What to do with byte 0xFF in a command (an encoded name: windows-1251's
   * "я", latin1's "ÿ", an escaped byte), which RFC 959's Telnet reads as IAC.
   * GNU inetutils and BSD ftpd drop it and the byte after it, so the command
   * would act on a different name; vsftpd and pure-ftpd take it as it is
   * and read a doubled one as two; proftpd takes both.
   * - `"auto"` (default): "double" or "raw" where the welcome names a server
   *   measured (vsftpd, pure-ftpd: raw, and vsftpd's doubled 0xFF in replies
   *   made single again; proftpd, GNU inetutils, BSD ftpd: double), else "refuse".
   * - `"double"`: 0xFF goes as 0xFF 0xFF (RFC 959, lftp's default).
   * - `"raw"`: 0xFF goes as it is (Python's ftplib).
   * - `"refuse"`: a command holding 0xFF is not sent: it rejects with an
   *   FtpError of code `"ERR_FTP_TELNET_IAC"`, before anything is written.
   * UTF-8 commands never hold 0xFF unless a name carries an escaped byte.
   */
  telnetIac?: "auto" | "double" | "raw" | "refuse";
  /** Longest reply or text line in bytes (ftplib's maxline). Default 8192. */
  maxline?: number;
  /** Passive (default) or active data connections. */
  passive?: boolean;
  /** Connect to the host named in a 227 reply instead of the control connection's peer. Default false. */
  trustPasvHost?: boolean;
  /**
   * Try EPSV before PASV on IPv4. Default true. PASV is used for the rest
   * of the session once EPSV is refused, or once the port of the session's
   * first EPSV cannot be connected to (refused, or no answer within
   * `timeout`: a firewall dropping EPSV ports); that first connect is made
   * before the transfer command goes out, so the transfer then simply runs
   * over PASV (as curl does), its command sent once.
   */
  useEpsv?: boolean;
  /** ftplib's debugging level: 0 silent, 1 commands and replies, 2 every line. */
  debugLevel?: number;
  /** Where debug lines go. Default: stderr, each line after the client's tag (`ftp#3 *cmd* 'PWD'`). */
  logger?: DebugLogger;
  /**
   * Makes the socket of the control connection and of every passive data
   * connection instead of `net.connect`, as `createConnection` of Node's
   * `http.Agent`: plug in a SOCKS5 or HTTP CONNECT tunnel from your own
   * package. Return a socket (connecting or connected) or a promise of a
   * connected one. Passive data connections then go to the host you gave
   * (not the proxy's address the socket shows); active mode still listens
   * locally, which a proxy does not carry.
   */
  createConnection?: CreateConnection;
  /**
   * Active mode behind NAT (lftp's `ftp:port-ipv4`, the address of curl's
   * `--ftp-port`): the IP address to announce in PORT (an IPv4 address) or
   * EPRT (an IPv6 one) instead of the control connection's local address,
   * e.g. the router's public address. The client still listens locally (on
   * `activePortRange` if given, which the router forwards) and still
   * accepts the data connection only from the server's address. A value
   * that is not an IP address throws a TypeError.
   */
  activeAddress?: string;
  /**
   * Active mode: the local ports, `[low, high]` with both ends included,
   * to listen on for data connections (lftp's `ftp:port-range`, curl's
   * `--ftp-port addr:low-high`), so a firewall or NAT can forward just
   * those. A free one is taken (tried from a random place in the range);
   * when none is free the transfer fails with an FtpConnectionError
   * (`code` "EADDRINUSE") before anything is sent, and the client goes on.
   * Default: any port the system gives. Ends outside 1..65535, not whole
   * numbers or in the wrong order throw a RangeError.
   */
  activePortRange?: readonly [number, number];
  /**
   * Parses LIST lines for list() and walk() when the server has no MLSD, in
   * a format the built-in parser (Unix, IIS/Windows, EPLF) does not know.
   * Return null for a line known not to be an entry (a header), undefined
   * for one it could not read (list() reports it: see ListOptions);
   * `parseListLine` is there to fall back on.
   */
  listParser?: ListParser;
  /** highWaterMark of transfer streams, and the most one read of a download's data connection takes (default 256 KiB). */
  highWaterMark?: number;
  /**
   * Pipelining (off by default, as lftp's `ftp:sync-mode`): commands issued
   * while others wait for replies are written at once instead of one round
   * trip at a time, and each reply still goes to its own command. Login,
   * FTPS steps, QUIT, REIN, ABOR and transfers still go alone (README:
   * "Pipelining").
   */
  pipelining?: boolean;
  /** With `pipelining`: most commands written and waiting for replies at once. Default 64. */
  pipelineWindow?: number;
  /**
   * Milliseconds: once the client has been idle this long (no call running
   * or queued), it sends NOOP, and again after each further idle stretch, so
   * the server's idle timeout and NATs that forget quiet connections do not
   * end the session. A NOOP that fails (no reply within `timeout`, a dropped
   * connection) closes the client, which an FtpPool then replaces; under
   * `retry` it leaves the client open instead, and the next call
   * reconnects (the keepalive itself never reconnects). Off by default.
   * (The control connection has TCP keepalive either way.)
   */
  keepAlive?: number;
  /**
   * Reconnect and retry after a dropped, reset or timed-out connection or
   * a 4xx reply (never a 5xx), waiting between `minDelay` and `maxDelay` ms
   * (exponential backoff, full jitter) up to `attempts` times. A new
   * connection logs in again and gets back the directory, TYPE and (FTP_TLS)
   * AUTH TLS/PBSZ/PROT of the old one. Binary downloads resume from the
   * byte they delivered (REST up to 16 KiB before it: those bytes must come
   * again unchanged, else the file changed on the server and the download
   * fails with FtpSourceChangedError, never spliced), binary STOR uploads
   * from what the server holds (SIZE, REST; a stream source within the
   * last 16 MiB sent, else FtpResumeError), APPE uploads when SIZE gave
   * the size before them; text uploads and STOU fail with their error.
   * A resumed upload first reads the last bytes the server holds back
   * (REST, RETR: up to 16 KiB) and goes on only if they are its own: else
   * (another file, another writer's bytes, RETR refused) a STOR that still
   * has every byte starts over from 0, and any other fails with
   * FtpResumeError, never spliced.
   * The library's own commands are
   * re-sent where running them twice is harmless (pwd, cwd, size, lastMod,
   * listings...); DELE, RNFR/RNTO, MKD, RMD and every line given to
   * sendcmd/voidcmd fail with their error. Each retry is a `'retry'` event
   * and a debug line. Off by default.
   */
  retry?: RetryOptions;
}

/** Options of {@link FTP.connect}. */
export interface ConnectOptions {
  timeout?: number;
  sourceAddress?: readonly [string, number];
}

/** Options of the ftplib-compatible `storbinary(cmd, source, options)`. */
export interface StorbinaryOptions extends UploadOptions {
  blocksize?: number;
  /** Called with each block after it is sent. */
  callback?: BlockCallback;
}

const DEFAULT_TIMEOUT = 30_000;
/**
 * Commands in flight with pipelining. 64 left the server idle between
 * windows even on loopback (a pipelined NOOP cost 2.2 × what it does with
 * every command written at once); from about 1,024 on the cost is that of
 * one big write (bench row 10, bench/README.md "Pipelined commands").
 */
const DEFAULT_PIPELINE_WINDOW = 1024;
/**
 * Measured with `npm run bench` against vsftpd on loopback (bench/README.md):
 * a 1 GiB download into fs.createWriteStream takes a third less time with
 * 256 KiB than with Node's 16 KiB (fewer, larger chunks for the consumer),
 * and 2% more into a sink that discards; 1 MiB gains little more and keeps
 * four times as much in flight.
 */
const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/**
 * An FTP client with ftplib's methods. Every call goes through one queue,
 * so calls made concurrently run one at a time, in call order.
 *
 * Bad arguments (CR/LF/NUL in a path or command: `TypeError`
 * `ERR_INVALID_ARG_VALUE`; a bad `rest`, `blocksize` or port: `RangeError`)
 * are reported before anything is sent, in one of two ways:
 * - a method that returns a Promise rejects with the error, as
 *   `fs/promises` does; it never throws at the call;
 * - a method that returns a stream (`retrbinary`/`retrlines`/`storbinary`/
 *   `storlines` without a callback or source) throws at the call, as
 *   `fs.createReadStream` does, and no stream is made; an async iterator
 *   (`mlsd`, `list`, `walk`) rejects its first `next()`.
 */
export class FTP {
  /** Host last connected to. */
  host = "";
  port = 21;
  /** The welcome reply, after connect. */
  welcome: string | undefined;
  /** The latest `ready` promise: connect (and login) started by the constructor. */
  readonly ready: Promise<void>;
  protected readonly debug = new DebugOutput();
  protected readonly settings: SessionSettings;
  protected readonly queue: CommandQueue;
  /** Calls that may be pipelined are (see exchange.ts). */
  private readonly pipelining: boolean;
  protected control: ControlConnection | undefined;
  protected session: Session | undefined;
  private sourceAddress: readonly [string, number] | undefined;
  private readonly listParser: ListParser | undefined;
  /** The `telnetIac` option, for each control connection. */
  private readonly telnetIac: TelnetIac;
  private isClosed = false;
  /**
   * The self-connecting client's first unit (connect, login, and FTP_TLS's
   * AUTH TLS and PROT P) while it has not settled: calls queued meanwhile
   * run after all of it, or reject with its error when it failed.
   */
  private setup: SetupOutcome | undefined;
  private readonly keepAlive: IdleKeepAlive | undefined;
  /** Set under the `retry` option: runs queued tasks, reconnecting and retrying. */
  private readonly reconnector: Reconnector | undefined;
  /** What the session set, for a new connection to set again (under `retry`). */
  protected readonly record = new SessionRecord();
  private readonly events = new EventEmitter();
  private readonly raw = new RawTransfers();
  /** See the `downloads` getter. */
  private downloadClient: DownloadClient | undefined;
  /** What the multi-command operations (remote-ops.ts) use of this client. */
  private readonly remote: RemoteClient = {
    run: (task, options) => this.enqueue(task, { repeat: options?.repeat }),
    list: (path, options) => this.list(path, options),
  };
  private readonly listing = new RemoteListing({
    mlsdLines: (path, transfer) => linesThenReply(this.lines(path ? `MLSD ${path}` : "MLSD", listingTransfer(transfer)), transfer.ended),
    listLines: (path, transfer) =>
      listAllLines(this.session, path, (command) => linesThenReply(this.lines(command, listingTransfer(transfer)), transfer.ended)),
    parseLine: (line) => (this.listParser ?? parseListLine)(line),
    mlsdOffered: async () => {
      const features = this.session?.features ?? (await this.enqueue((session) => sessionFeatures(session), { repeat: true }));
      return features.size === 0 ? undefined : features.has("MLST");
    },
  });

  constructor(options: FtpOptions = {}) {
    this.settings = {
      timeout: options.timeout === undefined ? DEFAULT_TIMEOUT : timeoutOption(options.timeout, "timeout"),
      passive: options.passive ?? true,
      trustPasvHost: options.trustPasvHost ?? false,
      useEpsv: options.useEpsv ?? true,
      sourceHost: options.sourceAddress?.[0] || undefined,
      // Checked now: an unknown label is a bug at the call that gave it.
      encoding: codecFor(options.encoding ?? "utf8").name,
      maxLine: options.maxline ?? DEFAULT_MAX_LINE,
      dataTls: undefined,
      createConnection: options.createConnection,
      highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      resume: options.retry !== undefined,
      // Under `retry` nothing is pipelined (see exchange()).
      pipelining: (options.pipelining ?? false) && options.retry === undefined,
      activeAddress: checkActiveAddress(options.activeAddress),
      activePortRange: checkPortRange(options.activePortRange),
    };
    this.reconnector = options.retry ? this.makeReconnector(new RetryPolicy(options.retry)) : undefined;
    this.sourceAddress = options.sourceAddress;
    this.listParser = options.listParser;
    this.telnetIac = checkTelnetIac(options.telnetIac);
    this.debug.level = options.debugLevel ?? 0;
    registerDebugOutput(this, this.debug);
    if (options.logger) this.debug.logger = options.logger;
    if (options.port !== undefined) assertPort(options.port);
    assertKeepAlive(options.keepAlive);
    if (options.keepAlive !== undefined) this.keepAlive = new IdleKeepAlive(options.keepAlive, this.keepAliveTarget());
    this.pipelining = options.pipelining ?? false;
    const window = options.pipelineWindow ?? DEFAULT_PIPELINE_WINDOW;
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`pipelineWindow must be a positive integer, got ${window}`);
    this.queue = new CommandQueue({
      window: this.pipelining ? window : 1,
      batch: (writes) => (this.control ? this.control.batch(writes) : writes()),
    });
    this.ready = options.host ? this.connectAndLogin(options) : Promise.resolve();
    // Whoever awaits `ready` sees the failure; queued calls see it too. It
    // must never be an unhandled rejection.
    this.ready.catch(() => undefined);
    // Made by an FtpPool's connect function: the pool closes it if it closes first.
    poolConnect.getStore()?.adoptClient(() => this.close());
  }

  /** Creates a client, connects and (with `user`) logs in. FTP_TLS takes its own options (and protects data: see FtpTlsOptions.protectData). */
  static async create<T extends FTP, O extends FtpOptions | undefined = FtpOptions>(
    this: new (options: O) => T,
    options: NoInfer<O> & { host: string },
  ): Promise<T> {
    const client = new this(options);
    try {
      await client.ready;
    } catch (error) {
      // A refused login leaves the connection open, and nobody else holds the client to close it.
      client.close();
      throw error;
    }
    return client;
  }

  /**
   * Connects to an `ftp://user:password@host:port/` URL (or options), logs
   * in (anonymously without a user) and resolves to the ready client.
   * Secure schemes need FTP_TLS: `FTP_TLS.connect("ftpes://...")`, which
   * takes FTP_TLS's options (`tls`, `protectData`) and ends with PROT P.
   */
  static async connect<T extends FTP, O extends FtpOptions | undefined = FtpOptions>(
    this: (new (options: O) => T) & typeof FTP,
    target: string | URL | (NoInfer<O> & { host: string }),
    options?: NoInfer<O>,
  ): Promise<T> {
    const url = typeof target === "string" || target instanceof URL ? parseFtpUrl(target) : undefined;
    const client = new this(url ? (this.fromUrl(url, options ?? {}) as NoInfer<O> & { host: string }) : (target as O & { host: string }));
    try {
      await client.ready;
      if (url?.path) await client.cwd(url.path);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Constructor options for a URL; FTP_TLS also takes ftps:// and ftpes://. */
  protected static fromUrl(url: FtpUrl, options: FtpOptions): FtpOptions & { host: string } {
    if (url.security !== "none") throw new TypeError(`${url.security} FTPS URLs need FTP_TLS.connect(), not FTP.connect()`);
    return { ...options, host: url.host, port: url.port, user: url.user ?? "anonymous", password: url.password ?? "" };
  }

  /**
   * What the constructor starts when given a host: connect, and login when
   * given a user (FTP_TLS: AUTH TLS before it, PROT P after), queued as one
   * task, so a call made without waiting for `ready` runs after all of it,
   * never between connect and login. Should the unit fail, calls queued
   * while it ran reject with its error (see enqueue).
   */
  protected connectAndLogin(options: FtpOptions): Promise<void> {
    try {
      this.setTarget(options.host ?? "", options.port ?? 0);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const setup: SetupOutcome = { error: undefined };
    const unit = this.enqueue(
      async () => {
        try {
          await this.openTask();
          await this.setUpSession(options);
        } catch (error) {
          // Recorded before this task settles, so before the next one starts.
          setup.error = asError(error);
          throw error;
        }
      },
      { connecting: true },
    );
    this.setup = setup;
    const settled = (): void => {
      if (this.setup === setup) this.setup = undefined;
    };
    unit.then(settled, settled);
    return unit;
  }

  /**
   * The self-connecting client's steps once its connection is open, run
   * inside its one queued task (see connectAndLogin): the login, when
   * given a user.
   */
  protected async setUpSession(options: FtpOptions): Promise<void> {
    if (options.user === undefined) return;
    await this.runNow(this.loginTask(options.user, options.password ?? "", options.acct ?? ""), { repeat: true });
  }

  /**
   * True once the client was closed (close(), quit(), a timeout or a
   * dropped connection). Under `retry` a lost connection does not close the
   * client (the next call reconnects); failing to reconnect does.
   */
  get closed(): boolean {
    return this.isClosed || (!this.reconnector && (this.control?.closed ?? false));
  }

  /**
   * Listens for `'retry'`: under the `retry` option, emitted before each
   * retry with the attempt number (1 = the first retry), the wait in ms and
   * the error that caused it.
   */
  on(event: "retry", listener: (event: RetryEvent) => void): this {
    this.events.on(event, listener);
    return this;
  }

  /** Removes a listener added with on(). */
  off(event: "retry", listener: (event: RetryEvent) => void): this {
    this.events.off(event, listener);
    return this;
  }

  /**
   * Connects to `host:port` (port 0 or omitted: 21) and resolves to the
   * welcome text. A 4xx/5xx welcome rejects with FtpTempError/FtpPermError.
   */
  async connect(host = "", port = 0, options: ConnectOptions = {}): Promise<string> {
    if (options.timeout !== undefined) this.settings.timeout = timeoutOption(options.timeout, "timeout");
    this.setTarget(host, port);
    if (options.sourceAddress) {
      this.sourceAddress = options.sourceAddress;
      this.settings.sourceHost = options.sourceAddress[0] || undefined;
    }
    return this.enqueue(this.openTask, { connecting: true });
  }

  /** Where the next connect goes: `host` unless empty, `port` unless 0. */
  private setTarget(host: string, port: number): void {
    if (host) this.host = host;
    // 0 means "the default" (ftplib's rule); anything else must be a real
    // port, or -1 or NaN would silently connect to 21.
    if (port !== 0) assertPort(port);
    if (port > 0) this.port = port;
  }

  /** connect()'s task, run when the queue reaches it: opens the connection (under `retry`, trying again). */
  private readonly openTask = async (): Promise<string> => {
    if (this.control && !this.control.closed) throw new FtpError("already connected", "ERR_FTP_CONNECTED");
    const welcome = await (this.reconnector ? this.reconnector.connect(() => this.openConnection()) : this.openConnection());
    this.watchSession();
    return welcome;
  };

  /** Opens the control connection and reads the welcome; resolves to its text. */
  private async openConnection(): Promise<string> {
    const control = new ControlConnection(this.debug, {
      maxLine: this.settings.maxLine,
      encoding: this.settings.encoding,
      telnetIac: this.telnetIac,
    });
    // Through a local: V8 pretenures a function literal assigned straight to a property (eslint.config.mjs).
    const onClose = (reason: Error): void => this.onConnectionLost(reason);
    control.onClose = onClose;
    this.control = control;
    this.session = new Session(control, this.settings);
    this.session.openAhead = this.openAhead;
    let welcome = await control.connect({
      host: this.host,
      port: this.port,
      timeout: this.settings.timeout,
      sourceAddress: this.sourceAddress,
      implicitTls: this.implicitTlsOptions(),
      createConnection: this.settings.createConnection,
    });
    // "120 Service ready in nnn minutes" is followed by the real 220.
    while (welcome.code >= 100 && welcome.code < 200) welcome = await control.readReply(this.settings.timeout);
    control.holdsCommandsInTransfer = holdsCommandsInTransfer(welcome.text);
    if (welcome.code >= 400 || welcome.code < 100) {
      const error = errorForReply(welcome.text);
      control.close(error);
      throw error;
    }
    this.welcome = welcome.text;
    return welcome.text;
  }

  /** Under `retry`: the session's commands are recorded, for a new connection to repeat. */
  private watchSession(): void {
    if (!this.reconnector || !this.session) return;
    const observe: Session["observe"] = (line, reply) => this.record.observe(line, reply);
    this.session.observe = observe;
  }

  private makeReconnector(policy: RetryPolicy): Reconnector {
    return new Reconnector(policy, {
      live: () => (this.control && !this.control.closed ? this.session : undefined),
      reopen: async () => {
        this.debug.retry(`reconnecting to ${this.host}:${this.port}`);
        const type = this.control?.knownType;
        this.control?.close(new FtpClosedError("the connection was replaced by a new one"));
        await this.openConnection();
        const session = this.session!;
        await this.restoreSession(session);
        if (type === "A" || type === "I") await session.useType(type);
        this.watchSession();
        return session;
      },
      drop: (error) => this.control?.close(error),
      report: (event) => {
        this.debug.retry(`attempt ${event.attempt} in ${event.delay} ms after ${event.error.name}: ${event.error.message}`);
        this.events.emit("retry", event);
      },
      giveUp: (error) => this.closeWith(new FtpClosedError(`gave up on the connection: ${(error as Error).message}`, error)),
    });
  }

  /**
   * Puts a new connection (under `retry`) in the old one's state: logs in
   * as before, then changes to its directory and TYPE. FTP_TLS adds AUTH TLS
   * before the login and PBSZ/PROT after it.
   */
  protected async restoreSession(session: Session): Promise<void> {
    await this.record.login(session);
    await this.record.restoreState(session);
  }

  /** TLS options for implicit FTPS; FTP_TLS overrides. */
  protected implicitTlsOptions(): tls.ConnectionOptions | undefined {
    return undefined;
  }

  /**
   * Whether this connection's EPSV ports are known reachable; with `true`,
   * takes that as known (see passive-hint.ts: an FtpPool passes it on).
   * @internal
   */
  [EPSV_REACHED](learnt?: boolean): boolean {
    const session = this.session;
    if (!session || this.control?.closed) return false;
    if (learnt && !session.epsvRefused) session.epsvReached = true;
    return session.epsvReached && !session.epsvRefused;
  }

  /**
   * Whether a command carrying `text` would be refused before it is sent
   * (byte 0xFF under the `telnetIac` handling "refuse"), asked of the
   * control connection itself: the tree transfers refuse such paths with
   * their plan (see telnet-iac-plan.ts).
   * @internal
   */
  [REFUSES_IAC](text: string): boolean {
    try {
      this.control?.assertSendable(text);
      return false;
    } catch (error) {
      return error instanceof FtpError && error.code === "ERR_FTP_TELNET_IAC";
    }
  }

  /**
   * Renames an upload's part over its target only while SIZE shows the part
   * holds the `sent` bytes, as one queued task (see part-rename.ts): the
   * tree uploads' and the queue worker's last step through a part name.
   * @internal
   */
  [RENAME_OWN_PART](part: string, target: string, sent: number, pipelining: boolean): Promise<FtpError | undefined> {
    return rejectingBadArguments(() => {
      assertSafeArgument(part, "part");
      assertSafeArgument(target, "target");
      return renameOwnPart(this.remote, part, target, sent, pipelining);
    });
  }

  /**
   * SIZE and MDTM of `path` in one write, as one queued task (see
   * segment-source.ts): FtpPool.downloadSegmented's check that its
   * segments read one version of the file.
   * @internal
   */
  [SOURCE_STAMP](path: string): Promise<{ size: number | null | FtpError; modified: string | null }> {
    return rejectingBadArguments(() => {
      assertSafeArgument(path, "path");
      return this.remote.run((session) => askStamp(session, path), { repeat: true });
    });
  }

  /**
   * Undefined while nothing is queued or running; else a promise that
   * settles once every call queued so far has (see keepalive.ts).
   * @internal
   */
  [QUEUE_SETTLED](): Promise<void> | undefined {
    const queue = this.queue;
    if (!queue.running && queue.length === 0) return undefined;
    return queue.run(nothingToDo).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Whether a download asking for it (TransferStreamOptions.writeAhead)
   * would be written ahead of its turn on this connection: an FtpPool then
   * hands the client to a second tree task while its first one's transfer
   * runs (see transfer-ahead.ts).
   * @internal
   */
  [WRITES_AHEAD](): boolean {
    const control = this.control;
    return control !== undefined && !control.closed && control.holdsCommandsInTransfer && !this.reconnector && this.settings.passive;
  }

  /** The welcome reply read by connect(). */
  getWelcome(): string | undefined {
    if (this.welcome !== undefined) this.debug.welcome(this.welcome);
    return this.welcome;
  }

  /** ftplib's set_debuglevel: 0 silent, 1 commands and replies, 2 every line. */
  setDebugLevel(level: number): void {
    this.debug.level = level;
  }

  /** Alias of setDebugLevel, as ftplib's `debug`. */
  debugLevel(level: number): void {
    this.setDebugLevel(level);
  }

  /** Sets where debug lines go (default: stderr, each line after the client's tag). */
  setDebugLogger(logger: DebugLogger): void {
    this.debug.logger = logger;
  }

  /** Passive (true, the default) or active (false) data connections. */
  setPasv(value: boolean): void {
    this.settings.passive = Boolean(value);
  }

  /**
   * Logs in: USER, then PASS on 3xx, then ACCT on 3xx. `user` defaults to
   * `anonymous`, whose empty (or `-`) password becomes `anonymous@`.
   * Resolves to the final reply; anything but 2xx rejects.
   */
  async login(user = "", passwd = "", acct = ""): Promise<string> {
    return this.enqueue(this.loginTask(user, passwd, acct), { repeat: true });
  }

  /**
   * login()'s task: USER, then PASS and ACCT as the replies ask. Throws at
   * once (before anything is queued or sent) for an argument with CR, LF
   * or NUL.
   */
  protected loginTask(user: string, passwd: string, acct: string): (session: Session) => Promise<string> {
    if (!user) user = "anonymous";
    if (user === "anonymous" && (passwd === "" || passwd === "-")) passwd += "anonymous@";
    assertLoginArguments(user, passwd, acct);
    return async (session) => {
      let reply = await session.command(`USER ${user}`);
      if (reply.code >= 300 && reply.code < 400) reply = await session.command(`PASS ${passwd}`);
      if (reply.code >= 300 && reply.code < 400) reply = await session.command(`ACCT ${acct}`);
      if (reply.code < 200 || reply.code >= 300) throw new FtpReplyError(reply.text);
      session.forgetFeatures();
      return reply.text;
    };
  }

  /** Sends ACCT. */
  acct(password: string): Promise<string> {
    return this.voidcmd(`ACCT ${password}`);
  }

  /**
   * Sends a command and resolves to its reply (1xx-3xx); 4xx/5xx reject.
   * Under `retry` the line is sent once, whatever its verb: if the
   * connection drops meanwhile it rejects with that error (the next call
   * reconnects), since only the caller knows whether running it twice is harmless.
   */
  sendcmd(cmd: string): Promise<string> {
    return rejectingBadArguments(() => {
      assertSafeArgument(cmd);
      return this.exchange(forgettingFeatures(cmd, commandExchange(cmd)), this.pipelining && mayPipeline(cmd));
    });
  }

  /** Sends a command and resolves to its reply if 2xx; anything else rejects. Sent once under `retry`, as sendcmd. */
  voidcmd(cmd: string): Promise<string> {
    return rejectingBadArguments(() => {
      assertSafeArgument(cmd);
      return this.exchange(forgettingFeatures(cmd, voidExchange(cmd)), this.pipelining && mayPipeline(cmd)).then((reply) => reply.text);
    });
  }

  /**
   * Reads one reply (ftplib's getresp). After ntransfercmd(), this reads the
   * transfer's final reply and frees the queue.
   */
  getresp(): Promise<string> {
    const pending = this.raw.outcome();
    if (pending) return pending;
    return this.enqueue(async (session) => (await session.read()).text, { reconnect: false });
  }

  /** Like getresp, but anything other than 2xx rejects (ftplib's voidresp). */
  async voidresp(): Promise<string> {
    const pending = this.raw.outcome();
    if (pending) return pending;
    return this.enqueue(
      async (session) => {
        const reply = await session.read();
        if (reply.code < 200 || reply.code >= 300) throw new FtpReplyError(reply.text);
        return reply.text;
      },
      { reconnect: false },
    );
  }

  /**
   * Aborts the running transfer: closes its data connection, sends ABOR
   * and, after its first reply, NOOP, and reads the transfer's and ABOR's
   * replies up to the NOOP's,
   * leaving the client usable. With no transfer running, sends ABOR alone.
   * Resolves to ABOR's reply (426/225/226); another reply rejects with FtpProtoError.
   */
  abort(): Promise<string> {
    const active = this.session?.activeTransfer;
    if (active) return active.abort();
    return this.enqueue(
      async (session) => {
        // Plain, as ftplib's bytes: pure-ftpd ignores ABOR after Telnet IP/Synch.
        session.control.send("ABOR");
        return checkAborReply(await session.control.readReply(session.settings.timeout));
      },
      { reconnect: false },
    );
  }

  /**
   * Starts a transfer and resolves to `[socket, size]` after the server's
   * 1xx reply: the raw data connection (TLS under PROT P) and the size from
   * a `150 ... (n bytes)` reply, else null. REST is sent first when `rest`
   * is given. The queue stays held until the socket closes or `voidresp()`
   * is called, which reads the final reply; call it to learn the outcome.
   */
  async ntransfercmd(cmd: string, rest?: number | string): Promise<[net.Socket | tls.TLSSocket, number | null]> {
    assertSafeArgument(cmd);
    assertTransferCommand(cmd);
    assertRestOffset(rest);
    return new Promise((resolve, reject) => {
      this.enqueue((session) => this.raw.run(session, cmd, rest, resolve)).catch(reject);
    });
  }

  /** Like ntransfercmd, resolving to the socket alone. */
  async transfercmd(cmd: string, rest?: number | string): Promise<net.Socket | tls.TLSSocket> {
    return (await this.ntransfercmd(cmd, rest))[0];
  }

  /**
   * Downloads in binary mode (TYPE I, then `cmd`, e.g. `RETR file`).
   * Without a callback: returns a Readable that ends only after the
   * server's 2xx. With one (ftplib's form): calls it with each block of at
   * most `blocksize` bytes and resolves to the final reply. With a Writable
   * (basic-ftp's `downloadTo`): pipes into it with backpressure, ends it,
   * and resolves to the final reply once it has finished; on failure it is
   * destroyed with the error instead, as `stream.pipeline` does (and
   * cheaper than wrapping the stream form in `pipeline` yourself).
   */
  retrbinary(cmd: string, options?: DownloadOptions): DownloadStream;
  retrbinary(cmd: string, destination: Writable, options?: DownloadOptions): Promise<string>;
  retrbinary(cmd: string, callback: BlockCallback, options?: RetrbinaryOptions | number, rest?: number | string): Promise<string>;
  retrbinary(
    cmd: string,
    target?: BlockCallback | Writable | DownloadOptions,
    options?: RetrbinaryOptions | number,
    rest?: number | string,
  ): DownloadStream | Promise<string> {
    const call = retrbinaryForm(target, options, rest);
    if (call.form === "stream") return this.download(cmd, "I", call.options);
    return rejectingBadArguments(() => {
      const settings = call.options;
      const request = (): DownloadRequest => this.downloadRequest(cmd, "I", settings);
      if (call.form === "writable") return downloadInto(this.downloads, request, call.destination, settings.signal);
      const blocksize = call.options.blocksize ?? 8192;
      assertBlocksize(blocksize);
      return downloadToCallback(this.downloads, request, call.callback, blocksize, settings.signal);
    });
  }

  /**
   * Downloads in ASCII mode (TYPE A, then `cmd`: RETR, LIST, NLST...).
   * Without a callback: returns a {@link LineStream}, the lines with their
   * endings stripped, which ends only after the server's 2xx. It is not a
   * Promise: `await ftp.retrlines(cmd).done()` is ftplib's one-line
   * `retrlines(cmd)` (prints each line, resolves to the final reply). With
   * a callback: calls it per line and resolves to the final reply.
   */
  retrlines(cmd: string, options?: DownloadOptions): LineStream;
  retrlines(cmd: string, callback: LineCallback, options?: DownloadOptions): Promise<string>;
  retrlines(cmd: string, callbackOrOptions?: LineCallback | DownloadOptions, options?: DownloadOptions): LineStream | Promise<string> {
    const call = retrlinesForm(callbackOrOptions, options);
    if (call.form === "stream") return this.lines(cmd, call.options);
    return rejectingBadArguments(() => {
      const stream = this.lines(cmd, call.options);
      return consume(stream, call.callback).then(() => stream.response ?? "");
    });
  }

  /**
   * Uploads in binary mode (TYPE I, then `cmd`, e.g. `STOR file`).
   * Without a source: returns a Writable that finishes only after the
   * server's 2xx. With one (ftplib's form): sends it all and resolves to the final reply.
   * Either way `callback` is called with each block (of at most
   * `blocksize` bytes, default 8192) once it is written, and `retry`,
   * `verifySize`, `signal` and `onProgress` apply, whatever the source.
   */
  storbinary(cmd: string, options?: StorbinaryOptions): UploadStream;
  storbinary(
    cmd: string,
    source: UploadSource,
    options?: StorbinaryOptions | number,
    callback?: BlockCallback,
    rest?: number | string,
  ): Promise<string>;
  storbinary(
    cmd: string,
    sourceOrOptions?: UploadSource | StorbinaryOptions,
    options?: StorbinaryOptions | number,
    callback?: BlockCallback,
    rest?: number | string,
  ): UploadStream | Promise<string> {
    if (!isUploadSource(sourceOrOptions)) {
      const { callback: onChunk, blocksize, ...settings } = sourceOrOptions ?? {};
      if (blocksize !== undefined) assertBlocksize(blocksize);
      return this.upload(cmd, "I", { ...settings, onChunk, blocksize: blocksize ?? 8192 });
    }
    const source = sourceOrOptions;
    return rejectingBadArguments(() => {
      const settings: StorbinaryOptions = typeof options === "number" ? { blocksize: options, callback, rest } : { ...options };
      const blocksize = settings.blocksize ?? 8192;
      assertBlocksize(blocksize);
      // As the stream form's Writable would refuse it.
      if (settings.highWaterMark !== undefined) assertHighWaterMark(settings.highWaterMark);
      // ftplib reads the source a block at a time and calls back once per block.
      settings.blocksize = blocksize;
      return uploadFrom(source, (owner) => this.uploadRun(cmd, "I", settings, owner), { signal: settings.signal });
    });
  }

  /**
   * Uploads text (TYPE A, then `cmd`) with every line ending sent as CRLF.
   * Without a source: returns a Writable. With one: resolves to the final reply.
   */
  storlines(cmd: string, options?: UploadOptions): UploadStream;
  storlines(cmd: string, source: UploadSource, callback?: BlockCallback): Promise<string>;
  storlines(cmd: string, sourceOrOptions?: UploadSource | UploadOptions, callback?: BlockCallback): UploadStream | Promise<string> {
    if (!isUploadSource(sourceOrOptions)) return this.upload(cmd, "A", { ...sourceOrOptions, encoder: new CrlfEncoder() });
    const source = sourceOrOptions;
    // ftplib converts and sends one line at a time and calls back with each
    // line as sent, so the conversion happens here rather than in an encoder.
    return rejectingBadArguments(() => {
      const maxLine = this.settings.maxLine;
      const reshape = (chunks: Parameters<typeof crlfLines>[0]) => crlfLines(chunks, maxLine);
      return uploadFrom(source, (owner) => this.uploadRun(cmd, "A", { callback }, owner), { reshape });
    });
  }

  /**
   * Lists `path` with MLSD (RFC 3659), yielding `[name, facts]` with fact
   * names lower-cased. With `facts`, first asks for them (OPTS MLST).
   */
  async *mlsd(path = "", facts: readonly string[] = []): AsyncGenerator<[string, Record<string, string>]> {
    assertSafeArgument(path, "path");
    for (const fact of facts) assertSafeArgument(fact, "fact");
    // Choosing the facts again leaves them as one OPTS would: safe to repeat.
    if (facts.length > 0) await this.exchange(commandExchange(`OPTS MLST ${facts.join(";")};`), true, true);
    for await (const line of this.lines(path ? `MLSD ${path}` : "MLSD", {})) yield parseMlsdLine(line as string);
  }

  /**
   * Lists a directory as structured entries: MLSD where the server has it,
   * else LIST parsed as Unix or DOS lines. `.` and `..` are left out. A
   * line the parser cannot read is never dropped: it goes to
   * `options.onUnreadable`, or, without one, list() throws FtpListingError
   * (naming the lines) after yielding every entry it could read. A listing
   * whose final 2xx reply says the directory was not read (vsftpd's
   * "failed to open directory", pure-ftpd's "unable to read") throws
   * FtpListingError too.
   */
  async *list(path = "", options: ListOptions = {}): AsyncGenerator<ListEntry> {
    yield* this.listing.list(path, options);
  }

  /**
   * Walks a tree depth-first, yielding every entry below `path` with its
   * full path. Each directory is listed completely before descending, so
   * the queue is never held across levels; links are not followed.
   * Entries whose name is not one path segment (empty, `.`, `..` in any
   * spelling, or with a `/`, `\` or NUL) are not yielded: from a faulty or
   * hostile server they would walk in circles or hand a mirror a path
   * outside the tree. They and the lines that could not be read go to
   * `options.onUnreadable`, or, without one, walk() throws FtpListingError
   * at the directory holding them. One directory's listing is held while
   * it is yielded, up to `options.maxEntries` (FtpLimitError past it).
   */
  async *walk(path = "/", options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
    yield* this.listing.walk(path, options);
  }

  /**
   * Downloads the remote directory `remote` into the local directory
   * `local` (made as needed): the whole tree, listed with list() (MLSD or
   * LIST), directories created, each file through a hidden part file renamed
   * into place once the server's 226 came. By default only what changed is
   * fetched: a local file of the same size and the same modification time
   * (to the second; MDTM is asked when the listing gives only minutes) is
   * skipped, and each file fetched gets the remote time (utimes) so the next
   * run can tell. Options: `filter`, `delete` (remove local entries the
   * remote lacks), `dryRun`, `signal`, `onProgress`, `maxFileSize` (a
   * larger file is not fetched, or is aborted: that file fails). Symbolic links are
   * reported in `links`, not followed. Resolves to the counts of files
   * transferred and skipped, and bytes. If any file fails, the others still
   * run, and the call then rejects with FtpDirTransferError naming each
   * failed path and its error.
   */
  downloadDir(remote: string, local: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return downloadDir(this.treeWorkers(), remote, local, options);
  }

  /**
   * Uploads the local directory `local` into the remote directory `remote`
   * (ensureDir, then one MKD per missing directory): the whole tree, each
   * file done only at the server's 226. By default only what changed is
   * sent: a remote file of the same size and the same modification time (to
   * the second; MDTM is asked when the listing gives only minutes) is
   * skipped, and each file sent gets the local time with setLastMod (MFMT,
   * MDTM or SITE UTIME) where the server allows, so the next run can tell;
   * a server that allows none gets every file again next time. Options,
   * result and failures as {@link FTP.downloadDir}; `delete` removes
   * remote files (DELE) and directories (RMD) the local tree lacks.
   */
  uploadDir(local: string, remote: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return uploadDir(this.treeWorkers(), local, remote, options);
  }

  /**
   * Tree transfers on this client: two files at a time, so one file's local
   * work (open, utimes, rename) overlaps the next one's transfer; the queue
   * still runs their commands one at a time. Under `retry`, once two files
   * in a row lost their connection (each reconnecting attempts + 1 times)
   * with none ending well between, the files left fail at once with the
   * last loss's error (see pool-losses.ts); a new count for each call.
   */
  private treeWorkers(): TreeWorkers {
    const losses = new OneClientLosses(this, () => this.reconnector?.lostConnections ?? 0);
    return { run: (task) => losses.run(task), concurrency: 2 };
  }

  /**
   * Names in a directory (NLST with the given arguments). They are held
   * whole, so at most 1,000,000 of them, the bound walk() puts on one
   * directory (`maxEntries`'s default): past it the transfer is aborted
   * and this rejects with FtpLimitError (`limit: "listingEntries"`), and
   * the client goes on. list() streams entries, without a bound.
   */
  async nlst(...args: string[]): Promise<string[]> {
    const names: string[] = [];
    await this.retrlines(["NLST", ...args].join(" "), (line) => {
      if (names.length >= DEFAULT_MAX_DIRECTORY_ENTRIES) {
        throw new FtpLimitError(
          "listingEntries",
          DEFAULT_MAX_DIRECTORY_ENTRIES,
          `NLST gave more than ${DEFAULT_MAX_DIRECTORY_ENTRIES} names`,
        );
      }
      names.push(line);
    });
    return names;
  }

  /**
   * Lists in long form (LIST with the non-empty arguments). A function as
   * the last argument receives each line; without one, lines are printed.
   */
  async dir(...args: Array<string | LineCallback>): Promise<void> {
    let callback: LineCallback = (line) => console.log(line);
    const last = args[args.length - 1];
    if (typeof last === "function") {
      callback = last;
      args = args.slice(0, -1);
    }
    const words = args.filter((arg): arg is string => typeof arg === "string" && arg !== "");
    await this.retrlines(["LIST", ...words].join(" "), callback);
  }

  /** Renames: RNFR (which must get 3xx), then RNTO, as one queued step. */
  async rename(fromname: string, toname: string): Promise<string> {
    assertSafeArgument(fromname, "fromname");
    assertSafeArgument(toname, "toname");
    return this.enqueue(async (session) => {
      const reply = await session.command(`RNFR ${fromname}`);
      if (reply.code < 300 || reply.code >= 400) throw new FtpReplyError(reply.text);
      return (await session.voidCommand(`RNTO ${toname}`)).text;
    });
  }

  /** Deletes a file: 250 or 200 resolve, 5xx → FtpPermError, 4xx → FtpTempError, others → FtpReplyError. */
  async delete(filename: string): Promise<string> {
    assertSafeArgument(filename, "filename");
    return this.exchange({
      steps: () => [{ line: `DELE ${filename}`, check: refuseFailure }],
      result: ([reply]) => {
        if (reply.code === 250 || reply.code === 200) return reply.text;
        throw new FtpReplyError(reply.text);
      },
    });
  }

  /** Changes directory. `..` tries CDUP first (falling back to CWD on 500); `''` means `.`. */
  async cwd(dirname: string): Promise<string> {
    assertSafeArgument(dirname, "dirname");
    // Changing to the same directory twice leaves the session as once: safe to repeat.
    if (dirname !== "..") return this.exchange(voidExchange(`CWD ${dirname || "."}`), true, true).then((reply) => reply.text);
    // Whether CWD follows depends on CDUP's reply: one round trip at a time.
    return this.enqueue(
      async (session) => {
        try {
          return (await session.voidCommand("CDUP")).text;
        } catch (error) {
          if (!(error instanceof FtpPermError) || error.replyCode !== 500) throw error;
        }
        return (await session.voidCommand("CWD ..")).text;
      },
      { repeat: true },
    );
  }

  /** The size of a file from SIZE: a number on 213, else null. 4xx/5xx reject. */
  size(filename: string): Promise<number | null> {
    return rejectingBadArguments(() => {
      assertSafeArgument(filename, "filename");
      // TYPE I first unless the server is in it already (see sizeExchange).
      return this.exchange(sizeExchange(filename), true, true);
    });
  }

  /** Makes a directory; resolves to the path in the 257 reply (doubled quotes undone), or "" if the reply has none. */
  async mkd(dirname: string): Promise<string> {
    assertSafeArgument(dirname, "dirname");
    return this.exchange(voidExchange(`MKD ${dirname}`)).then((reply) => (reply.code === 257 ? parse257(reply.text) : ""));
  }

  /** Removes a directory. */
  async rmd(dirname: string): Promise<string> {
    assertSafeArgument(dirname, "dirname");
    return this.voidcmd(`RMD ${dirname}`);
  }

  /** The current directory, from the 257 reply to PWD ("" if the reply has none). */
  pwd(): Promise<string> {
    return this.exchange(voidExchange("PWD"), true, true).then((reply) => (reply.code === 257 ? parse257(reply.text) : ""));
  }

  /**
   * The server's extensions from FEAT (RFC 2389): feature name, upper-cased,
   * → its parameters as given (`"MLST"` → `"type*;size*;modify*;"`, `"MDTM"`
   * → `""`). Read once per login, on first need, and cached (a new login or
   * REIN reads it again); a server without FEAT has an empty map. The first
   * read also sends `OPTS UTF8 ON` to a server offering UTF8 when the
   * encoding is utf8. Resolves to a copy the caller may change. A 1xx or
   * 3xx reply to FEAT rejects with FtpReplyError (as voidcmd), not cached.
   */
  async features(): Promise<Map<string, string>> {
    return new Map(await this.enqueue((session) => sessionFeatures(session), { repeat: true }));
  }

  /**
   * Creates `path` and every missing directory above it (absolute, or
   * relative to the working directory); resolves when it exists already.
   * Sends MKD per missing level, never CWD to build it: the working
   * directory is the same afterwards (a check that the path exists may CWD
   * there and back within one queued step, on servers without MLST).
   * Rejects with the server's error if a level cannot be made.
   */
  ensureDir(path: string): Promise<void> {
    return ensureDir(this.remote, path);
  }

  /**
   * Whether `path` is a directory the server lets this user enter: MLST
   * where the server has it, else CWD there and back in one queued step
   * (the working directory is the same after). Resolves false for a file,
   * a missing path or one the server refuses; rejects on other failures.
   */
  isDirectory(path: string): Promise<boolean> {
    return directoryExists(this.remote, path);
  }

  /**
   * Removes the directory `path` and everything in it: files (and links,
   * not followed) with DELE, directories depth-first with RMD. The whole
   * tree is listed before the first DELE, and nothing is deleted unless all
   * of it was understood: a line the parser cannot read rejects with
   * FtpListingError, a name that is not one path segment with FtpPathError,
   * a tree deeper than 1,000 levels or 32,767 characters, or holding more
   * than 1,000,000 entries, with FtpLimitError. Refuses, with
   * FtpPathError before anything is sent, the root or the working
   * directory itself (`\`, ` ` and `. ` too, as a Windows server reads
   * them), a home directory (`~`, `~user`) and a path that climbs (`..`
   * in any spelling). A path its parent's LIST shows as a symbolic link
   * is deleted as the link itself (DELE), as `rm -r` does, nothing of
   * what it points to.
   */
  removeDir(path: string): Promise<void> {
    return removeDir(this.remote, path);
  }

  /**
   * Removes everything inside the directory `path` (`""`: the working
   * directory), keeping the directory, with removeDir's checks; a path its
   * parent's LIST shows as a symbolic link is refused (FtpPathError,
   * `reason: "link"`): what is in it lies where the link points.
   */
  clearDir(path: string): Promise<void> {
    return clearDir(this.remote, path);
  }

  /**
   * The modification time of a file from MDTM (RFC 3659), as a Date in UTC
   * with the fraction of a second the server gives (to the millisecond).
   * A 550 (no such file, or a directory) rejects with FtpPermError, as size().
   */
  lastMod(path: string): Promise<Date> {
    return lastMod(this.remote, path);
  }

  /**
   * Sets the modification time of a file (to the second, UTC): MFMT where
   * FEAT offers it, else the two-argument `MDTM time path` (vsftpd), else
   * `SITE UTIME time path` (pure-ftpd). Rejects with the server's refusal;
   * on a server with none of the three (inetutils and netkit ftpd, Twisted,
   * ftp-srv), with an FtpError whose code is `"ERR_FTP_UNSUPPORTED"`.
   */
  setLastMod(path: string, date: Date): Promise<void> {
    return setLastMod(this.remote, path, date);
  }

  /**
   * lastMod() for many files in one round trip: the MDTMs are written
   * together (in writes of at most 1 KiB) whatever the `pipelining` option says.
   * Resolves to each file's time, or the error its MDTM met, in order;
   * rejects only when the connection fails.
   */
  lastMods(paths: readonly string[]): Promise<Array<Date | FtpError>> {
    return lastMods(this.remote, paths);
  }

  /**
   * setLastMod() for many files: the first sets its time one command at a
   * time, finding out how this server does it; the rest are written
   * together in that form. Resolves to null for each file whose time was
   * set, or the error it met, in order (every one the
   * `"ERR_FTP_UNSUPPORTED"` error on a server that sets no times).
   */
  setLastMods(entries: ReadonlyArray<{ path: string; date: Date }>): Promise<Array<FtpError | null>> {
    return setLastMods(this.remote, entries);
  }

  /**
   * Sends the commands together, written at once (in writes of at most 1 KiB) without
   * waiting for each reply, whatever the `pipelining` option says: one
   * round trip instead of one each on a long link. Resolves to each
   * command's reply, or the FtpError of its 4xx/5xx, in order, as sendcmd
   * would for each. Commands whose reply decides what may follow (login,
   * transfers and their EPSV/PORT/REST, AUTH, PROT, ABOR, QUIT...) are
   * refused with a TypeError before anything is sent.
   */
  sendcmds(lines: readonly string[]): Promise<Array<string | FtpError>> {
    return rejectingBadArguments(() => {
      for (const line of lines) assertSafeArgument(line);
      assertBurstable(lines);
      return this.enqueue(async (session) => (await sendBurst(session, lines)).map(replyOrError));
    });
  }

  /**
   * One entry for `path`: MLST where FEAT offers it; otherwise SIZE and
   * MDTM for a file, else the entry of that name in the LIST of its parent
   * directory. Rejects with FtpPermError when it does not exist, and with
   * FtpLimitError (`limit: "listingEntries"`) when that listing runs past
   * 1,000,000 entries (or lines that are none) without it.
   */
  stat(path: string): Promise<ListEntry> {
    return stat(this.remote, path);
  }

  /**
   * Sends QUIT, then closes the client whatever the reply. Resolves to the
   * reply. Calls queued before it go first. Under `retry` nothing
   * reconnects once quit() is called: calls go on over the open connection
   * but are not tried again (a backoff wait or a reconnect in progress ends
   * at once, its call rejecting with FtpClosedError), and with no connection
   * left QUIT is not sent and quit() rejects.
   */
  async quit(): Promise<string> {
    this.reconnector?.stop(new FtpClosedError("the FTP client is quitting"));
    try {
      // No reconnecting just to say goodbye.
      return await this.enqueue(async (session) => (await session.voidCommand("QUIT")).text, { reconnect: false });
    } finally {
      this.close();
    }
  }

  /**
   * Closes the connection at once without asking the server. Queued calls
   * reject with FtpClosedError, and so does every later call. Idempotent.
   */
  close(): void {
    this.closeWith(new FtpClosedError("the FTP client was closed"));
  }

  /** close(), with the error queued and later calls get. */
  private closeWith(error: FtpClosedError): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.keepAlive?.stop();
    // A retry waiting to reconnect stops, and none starts.
    this.reconnector?.stop(error);
    this.queue.fail(error);
    this.raw.destroy();
    this.control?.close(error);
  }

  /** `await using ftp = ...`: quits politely, or closes if that fails. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.closed || !this.control) {
      this.close();
      return;
    }
    await this.quit().catch(() => undefined);
  }

  /**
   * Runs `task` when the queue reaches it, alone on the connection, with the
   * live session. Under `retry`, a lost connection is replaced first (unless
   * `reconnect` is false) and a transient failure runs the task again if
   * `repeat` is set.
   */
  protected enqueue<T>(
    task: (session: Session) => Promise<T>,
    options: { connecting?: boolean; repeat?: boolean; reconnect?: boolean; now?: boolean; ahead?: (session: Session) => boolean } = {},
  ): Promise<T> {
    if (this.isClosed) return Promise.reject(new FtpClosedError("the FTP client was closed"));
    const setup = this.setup;
    const ahead = options.ahead;
    // Never under `retry`: a task run again on a new connection has nothing written there.
    const writeAhead =
      ahead && !this.reconnector
        ? (): boolean => {
            const session = this.session;
            return session !== undefined && !setup?.error && ahead(session);
          }
        : undefined;
    return this.activity(
      this.queue.run(
        () => {
          this.takeTurn();
          if (setup?.error) throw setup.error;
          return this.runNow(task, options);
        },
        options.now,
        writeAhead,
      ),
    );
  }

  /** The session's openAhead: the queue's next task may write ahead of its turn (see transfer-ahead.ts). */
  private readonly openAhead = (): void => this.queue.openAhead();

  /**
   * Runs `task` at once, from inside the queued task that holds the
   * connection, as enqueue runs a task when the queue reaches it: on the
   * live session, or under `retry` through the reconnector.
   */
  protected runNow<T>(
    task: (session: Session) => Promise<T>,
    options: { connecting?: boolean; repeat?: boolean; reconnect?: boolean } = {},
  ): Promise<T> {
    if (options.connecting) return task(undefined as unknown as Session);
    if (this.reconnector && this.session && options.reconnect !== false) return this.reconnector.run(task, options.repeat ?? false);
    return task(this.liveSession());
  }

  /**
   * Queues an exchange: pipelined (written without waiting for the replies
   * of earlier commands) when pipelining is on and `pipelinable`, else as a
   * task alone on the connection, one round trip at a time. `repeat`: under
   * `retry`, runs again after a transient failure; only for the library's
   * own commands that leave the server as one run would (never for a line a
   * user gave sendcmd/voidcmd).
   */
  protected exchange<T>(exchange: Exchange<T>, pipelinable = true, repeat = false): Promise<T> {
    // Under `retry` an exchange may run again on a new connection: one round trip at a time.
    // Started at once when the queue is idle: an exchange is never queued from a constructor.
    if (this.reconnector || !this.pipelining || !pipelinable)
      return this.enqueue((session) => runExchange(session, exchange), { repeat, now: true });
    if (this.isClosed) return Promise.reject(new FtpClosedError("the FTP client was closed"));
    const setup = this.setup;
    const turn = setup
      ? (): Session => {
          if (setup.error) throw setup.error;
          return this.pipelinedTurn();
        }
      : this.pipelinedTurn;
    return this.activity(this.queue.pipeline(new PipelinedCall(exchange, turn)));
  }

  /** What a pipelined exchange does when its turn to be written comes: the session to write on. */
  private readonly pipelinedTurn = (): Session => {
    this.takeTurn();
    return this.liveSession();
  };

  /** `call`, a queued call: when it settles, the keepalive's idle time starts again. */
  private activity<T>(call: Promise<T>): Promise<T> {
    if (this.keepAlive) call.then(this.keepAlive.touch, this.keepAlive.touch);
    return call;
  }

  /** How the keepalive sees this client and sends its NOOP. */
  private keepAliveTarget(): KeepAliveTarget {
    return {
      state: () => {
        // Under `retry` a lost connection leaves the client open, but there
        // is nothing to keep alive: the next real call reconnects.
        if (this.closed || !this.control || this.control.closed) return "down";
        return this.queue.running || this.queue.length > 0 ? "busy" : "idle";
      },
      // Never reconnects (nor retries) just to say NOOP.
      ping: () => this.enqueue((session) => session.voidCommand("NOOP"), { reconnect: false }),
    };
  }

  /** What every queued call does when its turn comes, before it touches the connection. */
  private takeTurn(): void {
    // close() may come after a task was taken off the queue but before it
    // ran (the queue starts tasks on a microtask): it must not run then, or
    // a connect() would open a connection nobody will ever close.
    if (this.isClosed) throw new FtpClosedError("the FTP client was closed");
    this.raw.forgetUnclaimed();
  }

  /** The session of the open connection, or why there is none. */
  private liveSession(): Session {
    const session = this.session;
    if (!session || !this.control) throw new FtpError("not connected: call connect() first", "ERR_FTP_NOT_CONNECTED");
    if (this.control.closed)
      throw new FtpClosedError(`the connection is closed: ${this.control.closeReason?.message}`, this.control.closeReason);
    return session;
  }

  private onConnectionLost(reason: Error): void {
    // Under `retry` the queue goes on: its next task reconnects.
    if (this.reconnector) return;
    this.queue.fail(reason instanceof FtpClosedError ? reason : new FtpClosedError(`the connection closed: ${reason.message}`, reason));
  }

  private download(cmd: string, type: "A" | "I", options: DownloadOptions): DownloadStream {
    assertMaxFileSize(options.maxFileSize);
    return new DownloadStream(this.streamQueue, this.settings, transferStart(cmd, type, options), options);
  }

  /** A download whose bytes go to a callback or a Writable (retrbinary's promise forms), its arguments checked: built into a DownloadRun at its turn. */
  private downloadRequest(cmd: string, type: "A" | "I", options: DownloadOptions): DownloadRequest {
    const start = transferStart(cmd, type, options);
    const maxRead = options.highWaterMark ?? this.settings.highWaterMark ?? 0;
    // As the stream forms' Readable would refuse it.
    assertHighWaterMark(maxRead);
    assertMaxFileSize(options.maxFileSize);
    return { start, verifySize: options.verifySize, maxFileSize: options.maxFileSize, maxRead, onProgress: options.onProgress };
  }

  /** The queue and settings the promise forms' downloads run with (download-targets.ts): one object per client. */
  private get downloads(): DownloadClient {
    return (this.downloadClient ??= { enqueue: this.streamQueue, settings: this.settings });
  }

  private lines(cmd: string, options: DownloadOptions): LineStream {
    return new LineStream(this.download(cmd, "A", options), this.settings.encoding, this.settings.maxLine);
  }

  /** An upload as a Writable (the stream forms of storbinary and storlines). */
  private upload(cmd: string, type: "A" | "I", options: UploadStreamOptions): UploadStream {
    return new UploadStream(this.streamQueue, this.settings, transferStart(cmd, type, options), options);
  }

  /** An upload that `owner` hears the end of (the source forms), not yet begun. */
  private uploadRun(cmd: string, type: "A" | "I", options: UploadOptions & UploadRunOptions, owner: UploadOwner): UploadRun {
    return new UploadRun(this.streamQueue, this.settings, transferStart(cmd, type, options), options, owner);
  }

  /** Streams are made at once and queue their work; a failure to queue errors the stream. */
  private readonly streamQueue = (
    task: (session: Session) => Promise<void>,
    now?: boolean,
    ahead?: (session: Session) => boolean,
  ): Promise<void> => this.enqueue(task, { repeat: true, now, ahead });
}

/**
 * Runs `start` at once (so calls still queue in call order), turning a
 * synchronous throw (a bad argument) into a rejected promise, as
 * fs/promises reports bad arguments: `ftp.retrlines(x, cb).catch(handle)`
 * must see it. Nothing was queued or sent when it throws.
 */
function rejectingBadArguments<T>(start: () => Promise<T>): Promise<T> {
  // Not an async function: that would wrap start()'s promise in another,
  // two more microtask turns on every transfer.
  try {
    return start();
  } catch (error) {
    // Bad arguments are TypeErrors and RangeErrors; anything else is wrapped.
    return Promise.reject(asError(error));
  }
}

/** What a transfer method starts with: its command and REST offset, refused here if they are bad. */
function transferStart(
  cmd: string,
  type: "A" | "I",
  {
    rest,
    commandWithEpsv,
    before,
    writeAhead,
  }: { rest?: number | string; commandWithEpsv?: boolean; before?: BeforeCommands; writeAhead?: boolean },
): TransferStart {
  assertSafeArgument(cmd);
  assertTransferCommand(cmd);
  assertRestOffset(rest);
  return { command: cmd, rest, type, withEpsv: commandWithEpsv, before: before && commandsBefore(before), ahead: writeAhead === true };
}

/** TransferStreamOptions.before as the transfer takes it, refused here if a line cannot go ahead of the transfer. */
function commandsBefore({ lines, onReplies }: BeforeCommands): CommandsBefore | undefined {
  if (lines.length === 0) return undefined;
  for (const line of lines) assertSafeArgument(line);
  assertBurstable(lines);
  return { lines, replies: (replies) => onReplies(replies.map(replyOrError)) };
}

/** How the self-connecting client's first unit went, for the calls queued behind it (see FTP.enqueue). */
interface SetupOutcome {
  /** Its error, once it failed. */
  error: Error | undefined;
}

/** A queue task that does nothing: its turn coming says everything before it settled. */
function nothingToDo(): Promise<void> {
  return Promise.resolve();
}

/**
 * The lines of a listing, then its final reply to `ended` (the structured
 * listing reads what it says) with the last line instead when that had no
 * line ending: a listing cut mid-line, whose last name is cut short.
 */
async function* linesThenReply(lines: LineStream, ended: ListTransfer["ended"]): AsyncGenerator<string> {
  let taken = 0;
  let unterminated: string | undefined;
  for await (const line of lines) {
    // Counted, not compared: an earlier line may read the same.
    if (++taken === lines.unterminatedLine) unterminated = line as string;
    else yield line as string;
  }
  ended(lines.response ?? "", unterminated);
}

/** A listing's transfer options: its EPSV choice, and the commands ListOptions.before asked for. */
function listingTransfer(transfer: ListTransfer): DownloadOptions {
  return { commandWithEpsv: transfer.commandWithEpsv, before: transfer.takeBefore(), writeAhead: transfer.writeAhead };
}

/** Verbs after which the server's FEAT may say something else. */
const CHANGES_FEATURES = /^(USER|PASS|ACCT|REIN|AUTH)\b/i;

/**
 * `exchange`, the one line `line` sent by hand: a login (or REIN, AUTH) may
 * change what FEAT says, so after one it is read again when next needed.
 * Any other line's exchange is returned as it is.
 */
function forgettingFeatures<T>(line: string, exchange: Exchange<T>): Exchange<T> {
  if (!CHANGES_FEATURES.test(line)) return exchange;
  return {
    steps: (session) =>
      exchange.steps(session).map((step) => ({
        ...step,
        written: (written: Session) => {
          step.written?.(written);
          written.forgetFeatures();
        },
      })),
    result: (replies) => exchange.result(replies),
  };
}
