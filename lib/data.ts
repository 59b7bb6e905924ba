/**
 * Data connections: passive (EPSV, then PASV) and active (PORT, EPRT).
 * Each function runs inside a queue task that already holds the control
 * connection, and returns a TCP socket; TLS is layered on by the caller.
 */
import * as net from "node:net";
import { openCustomConnection, SharedDeadlines, whenConnected, type ConnectWait } from "./connect.js";
import {
  errorForReply,
  FtpAheadDroppedError,
  FtpConnectionError,
  FtpPermError,
  FtpReplyError,
  FtpTempError,
  FtpTimeoutError,
} from "./errors.js";
import { formatEprt, formatPort, parse227, parse229, plainAddress } from "./protocol.js";
import { readFinals, type CommandsBefore } from "./command-burst.js";
import type { Reply } from "./reply.js";
import { refuseFailure, requireSuccess, type Session } from "./session.js";

/** A data connection being made: passive ones are already connected, active ones wait for the server. */
export interface PendingData {
  /**
   * True when the connect is already under way (passive): the transfer
   * command goes out without waiting for it, as the TCP handshake needs
   * nothing from the command. Active connections wait for the server,
   * which connects only once it has the command.
   */
  connecting: boolean;
  /** Resolves to the connected socket (for active mode: once the server connects). */
  connected(): Promise<net.Socket>;
  /** Releases everything: the listener and any socket not handed over. */
  dispose(): void;
}

/** The first slab of a session: small, since most files are. Each next slab is four times the last, up to READS_PER_SLAB reads. */
const FIRST_SLAB = 16 * 1024;
/** Reads per full-size slab: one allocation per four reads, and a slab kept alive by one small view costs only four reads' worth. */
const READS_PER_SLAB = 4;
/** Less room than this left in a slab starts the next one (a smaller read is not worth its syscall). */
const MIN_ROOM = 4 * 1024;
/** Bytes a read may take at least, whatever the highWaterMark: Node's own read size. */
const MIN_READ = 64 * 1024;

/**
 * The slabs one session's downloads read into (see SlabReader). Shared by
 * the session's transfers, one after another, so a run of small files fills
 * one slab after the other instead of leaving a mostly empty slab per file
 * (Node shrinks its own read buffer to what was read; a slab cannot shrink,
 * and a slab per 4 KiB file made V8 collect for external memory every 70-80
 * files).
 */
class SlabPool {
  private slab = Buffer.allocUnsafeSlow(FIRST_SLAB);
  private used = 0;

  /** Room for the next read, reserved until settle(): no other read may get it. */
  reserve(maxRead: number): Buffer {
    if (this.slab.length - this.used < MIN_ROOM) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.slab.length, Math.min(this.slab.length * 4, READS_PER_SLAB * maxRead)));
      this.used = 0;
    }
    const room = this.slab.subarray(this.used, this.used + maxRead);
    this.used += room.length;
    return room;
  }

  /** The read into `room` took `bytes`: the rest is free again if nothing was reserved after it. */
  settle(room: Buffer, bytes: number): void {
    if (room.buffer === this.slab.buffer && room.byteOffset + room.length === this.used) this.used -= room.length - bytes;
  }
}

const slabPools = new WeakMap<Session, SlabPool>();

/**
 * Zero-copy reads for a plain (not TLS) download's data connection, through
 * Node's `onread` socket option: the kernel copies straight into a slab of
 * the session's SlabPool, and each read is handed on as a view of it. That
 * saves Node's fresh 64 KiB buffer per read (an allocation, its page faults)
 * and the socket's own Readable in between (measured on loopback: 40% less
 * user CPU, 12% less wall time for a 1 GiB download). One read takes up to
 * `maxRead` bytes (the stream's highWaterMark, at least 64 KiB), so what one
 * read brings stays within the stream's budget. A view is never written
 * again — later reads go after it, and a full slab is left to the GC — so
 * consumers may keep chunks as long as they like.
 *
 * Such a socket emits no 'data' and starts paused, so nothing (not even
 * EOF) is read before `attach()` names who takes the bytes; pause() and
 * resume() work as usual for backpressure.
 */
export class SlabReader {
  private room: Buffer | undefined;
  private onChunk: ((chunk: Buffer) => void) | undefined;
  private readonly maxRead: number;

  constructor(
    private readonly pool: SlabPool,
    maxRead: number,
  ) {
    this.maxRead = Math.max(MIN_READ, maxRead);
  }

  /** The `onread` option of net.connect: where the next read goes, and what to do with it. */
  readonly onread = {
    // Called at once for the first read, then after each read for the next.
    buffer: (): Buffer => (this.room = this.pool.reserve(this.maxRead)),
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      this.pool.settle(buffer as Buffer, bytes);
      this.room = undefined;
      this.onChunk?.((buffer as Buffer).subarray(0, bytes));
      // Backpressure goes through socket.pause(), which keeps isPaused() true.
      return true;
    },
  };

  /** Starts reading; each chunk goes to `onChunk`, which may pause the socket. */
  attach(socket: net.Socket, onChunk: (chunk: Buffer) => void): void {
    this.onChunk = onChunk;
    socket.resume();
  }

  /** The socket closed: the room reserved for a read that never came is free again. A 'close' listener as it is (no once() wrapper: 'close' comes once). */
  readonly release = (): void => {
    if (this.room) this.pool.settle(this.room, 0);
    this.room = undefined;
  };
}

/**
 * Where a socket keeps its SlabReader. A property, not a WeakMap: V8's young
 * collections keep a WeakMap's values alive, and through the reader's
 * handler each transfer's whole object graph, until the next full GC (a run
 * of small files spent three times as long in GC).
 */
const SLAB_READER = Symbol("ftpstream.slabReader");
type WithSlabReader = net.Socket & { [SLAB_READER]?: SlabReader };

/** The SlabReader of a data socket opened with `slabReads`, if it has one. */
export function slabReaderOf(socket: WithSlabReader | undefined): SlabReader | undefined {
  return socket?.[SLAB_READER];
}

/**
 * Sends EPSV or PASV and starts connecting to the port the server names,
 * without waiting for the handshake (see PendingData.connecting). With
 * `slabReads` (downloads that hand the bytes to a stream, never a raw
 * socket given to the user) a clear connection reads through a SlabReader.
 *
 * Until a data connection to an EPSV port has got through in this session,
 * the connect is waited for before anything else is sent (see probeEpsv):
 * a server may answer EPSV with a port its firewall drops, and then the
 * transfer goes over PASV instead, for the rest of the session.
 */
export function openPassive(session: Session, options: PassiveOptions = {}): Promise<PendingData> {
  // The usual transfer of a session whose EPSV port was reached (nothing to
  // write with EPSV, no probe to make): the address and the connect in the
  // one reaction to EPSV's reply, not through two async functions (three
  // promises and their microtask turns less a file, counted).
  if (options.command === undefined && !options.type && !options.before && session.epsvReached && usesEpsv(session)) {
    const slabReads = options.slabReads;
    return session.command("EPSV").then(
      (reply) => {
        let address: PassiveAddress;
        try {
          address = epsvAddress(session, reply);
        } catch (error) {
          // A reply that is not a 229 (FtpReplyError) falls back as a refusal does.
          return afterEpsvRefused(session, error, slabReads);
        }
        return connectPassive(session, address, slabReads);
      },
      (error: unknown) => afterEpsvRefused(session, error, slabReads),
    );
  }
  return openPassiveAsync(session, options);
}

/** What openPassive may be asked to do besides sending EPSV or PASV. */
interface PassiveOptions {
  slabReads?: { maxRead: number };
  command?: string | undefined;
  type?: "A" | "I" | undefined;
  before?: CommandsBefore | undefined;
  /** The command, its TYPE and the commands before were written ahead of the transfer's turn (transfer-ahead.ts): only their replies are read. */
  written?: boolean;
  /** Once the command is written, the next transfer may be written behind it (TransferStart.ahead). */
  ahead?: boolean;
}

/** openPassive for everything but its usual case. */
async function openPassiveAsync(session: Session, options: PassiveOptions): Promise<PendingData> {
  if (options.command !== undefined) {
    const address = await epsvWith(
      session,
      options.command,
      options.type,
      options.before,
      options.written === true,
      options.ahead === true,
    );
    return connectPassive(session, address, options.slabReads);
  }
  const address = await passiveAddress(session, options.type, options.before);
  if (address.epsv && !session.epsvReached) return probeEpsv(session, address, options.slabReads);
  return connectPassive(session, address, options.slabReads);
}

/**
 * The first EPSV data connection of a session, connected before the
 * transfer command goes out, as curl does. When it is refused, or not
 * connected within the timeout, nothing of the transfer has reached the
 * server yet (no REST, no command, so never a STOR twice): on IPv4 the
 * client asks PASV instead and keeps PASV for the session; on IPv6, where
 * PASV cannot name an address, it fails with an FtpConnectionError and the
 * client stays usable. Once a connection got through, later transfers send
 * their command while the connect is under way (and, pipelined, right
 * behind EPSV).
 */
async function probeEpsv(session: Session, address: PassiveAddress, slabReads: { maxRead: number } | undefined): Promise<PendingData> {
  // Its expiry is not the client's end: the server is only waiting for a command.
  const pending = connectPassive(session, address, slabReads, { closeOnTimeout: false });
  try {
    await pending.connected();
  } catch (error) {
    pending.dispose();
    const unreachable = error instanceof FtpConnectionError || error instanceof FtpTimeoutError;
    if (!unreachable || session.control.closed) throw error;
    if (session.control.dataHost.family === 6) {
      throw new FtpConnectionError(`the EPSV port ${address.port} is unreachable and IPv6 has no PASV to fall back to`, error);
    }
    session.control.debug.note(`EPSV port ${address.port} unreachable (${(error as Error).message}): PASV from now on`);
    session.epsvRefused = true;
    return connectPassive(session, await passiveAddress(session), slabReads);
  }
  session.epsvReached = true;
  return pending;
}

/** Where a passive data connection goes; `epsv`: the port came from a 229. */
interface PassiveAddress {
  host: string;
  port: number;
  epsv: boolean;
}

/** Starts connecting to `address` (a createConnection socket or our own); an expired connect closes the client unless told otherwise. */
function connectPassive(
  session: Session,
  { host, port }: { host: string; port: number },
  slabReads: { maxRead: number } | undefined,
  { closeOnTimeout = true } = {},
): PendingData {
  let slabs: SlabReader | undefined;
  // Slab reads need net.connect's `onread`, which a createConnection socket has not.
  if (slabReads && !session.settings.dataTls && !session.settings.createConnection) {
    let pool = slabPools.get(session);
    if (!pool) slabPools.set(session, (pool = new SlabPool()));
    slabs = new SlabReader(pool, slabReads.maxRead);
  }
  const wait = new DataConnectWait(session, host, port, closeOnTimeout);
  const create = session.settings.createConnection;
  if (create) {
    const request = { host, port, localAddress: session.settings.sourceHost, purpose: "data" as const };
    const connected = openCustomConnection(create, request, wait).then((socket) => {
      socket.setNoDelay(true);
      // As for our own sockets below: a reset before a stream attaches must not be unhandled.
      socket.on("error", () => undefined);
      return socket;
    });
    connected.catch(() => undefined);
    return {
      connecting: true,
      connected: () => connected,
      dispose: () =>
        void connected.then(
          (socket) => socket.destroy(),
          () => undefined,
        ),
    };
  }
  const socket = connectData(session, host, port, slabs);
  const connected = whenConnected(socket, wait);
  // Awaited by the transfer after its command is sent, or never (the
  // command was refused first): a failure must not be an unhandled rejection.
  connected.catch(() => undefined);
  return {
    connecting: true,
    connected: () => connected,
    dispose: () => socket.destroy(),
  };
}

/** Each session's timer for its data connects' deadlines (see SharedDeadlines), made at its first data connection. */
const connectDeadlines = new WeakMap<Session, SharedDeadlines>();

/**
 * How long a passive data connection may take to connect, and what its
 * failures say (ConnectWait). The messages are made only for a failure,
 * not for every transfer.
 */
class DataConnectWait implements ConnectWait {
  readonly timeout: number;
  /** The session's one timer for its data connects' deadlines. */
  readonly deadlines: SharedDeadlines;

  constructor(
    private readonly session: Session,
    private readonly host: string,
    private readonly port: number,
    /** The probe's connect (see probeEpsv) may expire without ending the client: the server only waits for a command. */
    private readonly closeOnTimeout: boolean,
  ) {
    this.timeout = session.settings.timeout;
    let deadlines = connectDeadlines.get(session);
    if (!deadlines) connectDeadlines.set(session, (deadlines = new SharedDeadlines()));
    this.deadlines = deadlines;
  }

  /** Every expired timeout closes the client (FtpOptions.timeout), so no operation can go on against a server in an unknown state. */
  onTimeout(error: FtpTimeoutError): void {
    if (this.closeOnTimeout) this.session.control.close(error);
  }

  get refused(): string {
    return `cannot open the data connection to ${this.host}:${this.port}`;
  }

  get timedOut(): string {
    return `data connection to ${this.host}:${this.port} timed out after ${this.timeout} ms`;
  }
}

/** Whether the next passive connection asks EPSV (else PASV). */
function usesEpsv(session: Session): boolean {
  return session.control.dataHost.family === 6 || (session.settings.useEpsv && !session.epsvRefused);
}

/** The address a 229 names (parse229 throws an FtpProtoError for a malformed one). */
function epsvAddress(session: Session, reply: Reply): PassiveAddress {
  return { host: session.control.dataHost.address, port: parse229(reply.text), epsv: true };
}

/**
 * openPassive's usual case after its EPSV failed with `error`: PASV for a
 * server that does not do EPSV (from now on), as passiveAddress does; the
 * error itself otherwise, and on IPv6.
 */
function afterEpsvRefused(session: Session, error: unknown, slabReads: { maxRead: number } | undefined): Promise<PendingData> {
  if (!refusesEpsv(session, error)) throw error;
  session.epsvRefused = true;
  return pasvAddress(session).then((address) => connectPassive(session, address, slabReads));
}

/** Only a server that does not do EPSV sends us back to PASV; on IPv6 there is nothing to fall back to. */
function refusesEpsv(session: Session, error: unknown): boolean {
  const refused = error instanceof FtpPermError || error instanceof FtpTempError || error instanceof FtpReplyError;
  return refused && session.control.dataHost.family !== 6;
}

async function passiveAddress(session: Session, type?: "A" | "I", before?: CommandsBefore): Promise<PassiveAddress> {
  if (usesEpsv(session)) {
    try {
      const reply = type || before ? await epsvBehind(session, type, before) : await session.command("EPSV");
      return epsvAddress(session, reply);
    } catch (error) {
      if (!refusesEpsv(session, error)) throw error;
      session.epsvRefused = true;
    }
  }
  return pasvAddress(session);
}

/** PASV's address: the port the 227 names, on the control connection's host unless trustPasvHost. */
async function pasvAddress(session: Session): Promise<PassiveAddress> {
  const peer = session.control.dataHost;
  const reply = await session.command("PASV");
  const offered = parse227(reply.text);
  // The host in a 227 reply is the server's claim; ftplib ignores it unless
  // told to trust it, since it can point the client at a third party.
  return { host: session.settings.trustPasvHost ? offered.host : peer.address, port: offered.port, epsv: false };
}

/**
 * EPSV written behind the commands `before` (their replies go to it) and
 * `TYPE type`, in one write: a pipelined transfer whose command must wait
 * for the session's first EPSV port to be reached still spends no round
 * trip of its own on its TYPE. Resolves to EPSV's reply as
 * session.command does (a refusal thrown, for passiveAddress to fall back
 * to PASV).
 */
async function epsvBehind(session: Session, type: "A" | "I" | undefined, before: CommandsBefore | undefined): Promise<Reply> {
  await writeWithEpsv(session, type, before);
  return refuseFailure(await session.replyToLast());
}

/**
 * Writes the commands `before`, `TYPE type` (when given), EPSV and the
 * transfer `command` (when given) in one write, and reads the replies of
 * `before` (handed to it) and of TYPE; EPSV's is read next by the caller.
 */
async function writeWithEpsv(
  session: Session,
  type: "A" | "I" | undefined,
  before: CommandsBefore | undefined,
  command?: string,
): Promise<void> {
  writeEpsvLines(session, type, before, command);
  await readBehindEpsv(session, type, before);
}

/** The write of writeWithEpsv, alone: a transfer written ahead of its turn (transfer-ahead.ts) reads the replies in its turn. */
export function writeEpsvLines(session: Session, type: "A" | "I" | undefined, before: CommandsBefore | undefined, command?: string): void {
  const control = session.control;
  control.batch(() => {
    for (const line of before?.lines ?? []) control.send(line);
    if (type) {
      control.send(`TYPE ${type}`);
      // Known from the write, not the reply: a transfer written behind this
      // one decides on it before that reply is read, and a refusal closes the
      // connection (readBehindEpsv). Set when the 200 came in, it would undo
      // a TYPE written since by the transfer behind, and the one after that
      // would go without its own (a binary file fetched in ASCII).
      control.knownType = type;
    }
    control.send("EPSV");
    if (command !== undefined) control.send(command);
  });
}

/**
 * Reads the replies of the commands `before` (handed to it) and of `TYPE
 * type`, written with an EPSV (writeEpsvLines). A refused TYPE leaves EPSV
 * (and the command) answered in a mode nobody set up: the connection is
 * closed rather than guessed at, as on any failure to read those replies.
 */
async function readBehindEpsv(session: Session, type: "A" | "I" | undefined, before: CommandsBefore | undefined): Promise<void> {
  const control = session.control;
  try {
    if (before) before.replies(await readFinals(session, before.lines.length));
    if (type) requireSuccess(await control.readReply(session.settings.timeout));
  } catch (error) {
    control.close(error as Error);
    throw error;
  }
}

/**
 * Writes EPSV and the transfer `command` together (pipelining, on a server
 * whose EPSV ports were reached before), behind `TYPE type` when the type
 * must change and behind the commands `before` (their replies go to it),
 * and reads their replies but the command's, which comes next. A refused
 * EPSV whose command was refused too throws EpsvRefusedInStep (the session
 * is in step); any other failure closes the connection.
 */
async function epsvWith(
  session: Session,
  command: string,
  type: "A" | "I" | undefined,
  before: CommandsBefore | undefined,
  written: boolean,
  ahead: boolean,
): Promise<{ host: string; port: number }> {
  if (!written) {
    writeEpsvLines(session, type, before, command);
    // Nothing more is written for this transfer unless it fails (see below): the next may go now.
    if (ahead) session.openAhead();
  }
  await readBehindEpsv(session, type, before);
  const control = session.control;
  // Whatever fails here leaves the command's reply owed in a mode nobody
  // set up: the connection is closed rather than guessed at.
  let refusal: Error;
  let after: Reply;
  try {
    const reply = await control.readReply(session.settings.timeout);
    if (reply.code < 400) return { host: control.dataHost.address, port: parse229(reply.text) };
    // EPSV refused, as proftpd does now and then when its passive port is
    // taken (425 Address already in use): the command's reply is owed. A
    // refusal of it too leaves the session in step, and the transfer goes
    // again the usual way (EPSV alone, else PASV, as passiveAddress does);
    // anything else, and the server may be acting on it: closed.
    refusal = errorForReply(reply.text);
    after = await control.readReply(session.settings.timeout);
  } catch (error) {
    control.close(error as Error);
    throw error;
  }
  if (after.code < 400) {
    control.close(refusal);
    throw refusal;
  }
  if (session.writtenAhead) {
    // Going again the usual way would write behind the transfer written ahead of its turn (transfer-ahead.ts).
    control.close(new FtpAheadDroppedError("closed: the transfer in front of this one was refused its EPSV"));
    throw refusal;
  }
  if (control.dataHost.family !== 6) session.epsvRefused = true;
  throw new EpsvRefusedInStep(refusal);
}

/** EPSV, written with its command, was refused, and so was the command: the session is in step and the transfer may go again without EPSV. */
export class EpsvRefusedInStep extends Error {
  constructor(readonly refusal: Error) {
    super(refusal.message);
  }
}

/** Starts the TCP connect of a passive data connection; whenConnected() tells how it went. */
function connectData(session: Session, host: string, port: number, slabs?: SlabReader): net.Socket {
  // noDelay as an option, not setNoDelay(true) on the connecting socket:
  // Node then sets TCP_NODELAY once when the connect completes (before
  // 'connect', so before any write), where setNoDelay set it at once and
  // again then, two setsockopt calls a file. A slab-read download never
  // writes on its socket, so Nagle has nothing to hold back there.
  const socket = net.connect({ host, port, localAddress: session.settings.sourceHost, onread: slabs?.onread, noDelay: !slabs });
  if (slabs) {
    // Paused before it connects, so it does not start reading (see SlabReader).
    socket.pause();
    (socket as WithSlabReader)[SLAB_READER] = slabs;
    socket.on("close", slabs.release);
  }
  // Until a transfer stream takes the socket over (after REST, the command
  // and its 1xx), a reset would be an 'error' with no listener, which takes
  // the process down. The streams find it in `socket.errored` when they attach.
  socket.on("error", () => undefined);
  return socket;
}

/**
 * Listens on the control connection's local address (on a port of
 * `activePortRange` if set) and announces it with PORT (or EPRT), or
 * announces `activeAddress` instead (a NAT's public address, forwarding
 * the range to us).
 */
export async function openActive(session: Session): Promise<PendingData> {
  const control = session.control.socket;
  const local = plainAddress(control.localAddress ?? "");
  const peer = plainAddress(control.remoteAddress ?? "");
  const server = await listenForData(local.address, session.settings.activePortRange);
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
  const announced = session.settings.activeAddress;
  try {
    if (announced === undefined) await announcePort(session, local.address, local.family, port);
    else await announcePort(session, announced, net.isIPv6(announced) ? 6 : 4, port);
  } catch (error) {
    dispose();
    throw error;
  }
  return {
    connecting: false,
    connected: async () => {
      // On expiry the server still owes a reply to the transfer command (425,
      // or the 226 of a connection it opens late): within() closes the client.
      const socket = await session.within(connection, (ms) => `the server did not open the data connection within ${ms} ms`);
      handedOver = true;
      return socket;
    },
    dispose,
  };
}

/** The `activeAddress` option, checked: an IP address (no host name: PORT and EPRT carry addresses), or undefined. */
export function checkActiveAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  if (typeof address !== "string" || net.isIP(address) === 0) {
    throw Object.assign(new TypeError(`activeAddress must be an IPv4 or IPv6 address, got ${JSON.stringify(address)}`), {
      code: "ERR_INVALID_ARG_VALUE",
    });
  }
  return address;
}

/** The `activePortRange` option, checked: whole numbers in 1..65535, low first; or undefined. */
export function checkPortRange(range: readonly [number, number] | undefined): readonly [number, number] | undefined {
  if (range === undefined) return undefined;
  const [low, high] = Array.isArray(range) ? range : [];
  const valid = (port: unknown): port is number => Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535;
  if (!Array.isArray(range) || range.length !== 2 || !valid(low) || !valid(high) || low > high) {
    throw Object.assign(
      new RangeError(`activePortRange must be [low, high] with 1 <= low <= high <= 65535, got ${JSON.stringify(range)}`),
      {
        code: "ERR_OUT_OF_RANGE",
      },
    );
  }
  return [low, high];
}

/**
 * A listener for one active data connection on `host`: any port, or the
 * first free one of `range` (both ends included), tried from a random
 * place in it so that clients sharing a range rarely race for one port.
 * A range with no port free is an FtpConnectionError (`code` EADDRINUSE,
 * or the last failure's) naming the range; nothing has been sent then.
 */
async function listenForData(host: string, range: readonly [number, number] | undefined): Promise<net.Server> {
  if (!range) return listenOn(host, 0);
  const [low, high] = range;
  const count = high - low + 1;
  const first = Math.floor(Math.random() * count);
  let failure: unknown;
  for (let i = 0; i < count; i++) {
    try {
      return await listenOn(host, low + ((first + i) % count));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw new FtpConnectionError("cannot listen for the data connection", error);
      failure = error;
    }
  }
  throw new FtpConnectionError(`no free port in activePortRange ${low}-${high} to listen on for the data connection`, failure);
}

/** A server listening on `host`:`port` (0: any), or the listen's own error. */
async function listenOn(host: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  server.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, backlog: 1 }, resolve);
    });
  } catch (error) {
    server.close();
    if (port === 0) throw new FtpConnectionError("cannot listen for the data connection", error);
    throw error;
  }
  return server;
}

async function announcePort(session: Session, host: string, family: 4 | 6, port: number): Promise<void> {
  if (family === 4) {
    try {
      await session.voidCommand(`PORT ${formatPort(host, port)}`);
      return;
    } catch (error) {
      // A server that does not know PORT (500) or refuses its form (501) may still take EPRT.
      if (!(error instanceof FtpPermError) || (error.replyCode !== 500 && error.replyCode !== 501)) throw error;
    }
  }
  await session.voidCommand(`EPRT ${formatEprt(host, port, family)}`);
}
