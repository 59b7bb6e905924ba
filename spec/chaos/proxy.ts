/**
 * A chaos proxy for specs: a TCP proxy between an FTP client and a server
 * (the fixture or a real one) that also carries every data connection, by
 * rewriting the server's 227/229 replies (passive) and the client's
 * PORT/EPRT commands (active) to point at listeners of its own. On any
 * connection it can inject a fault at a byte offset:
 *
 * - `reset`: both sides get a TCP RST (a crashed middlebox);
 * - `close`: the client's side gets a FIN, the server's a RST (a NAT that
 *   forgot the connection: the client sees a clean end, the server an error);
 * - `stall`: nothing more is forwarded either way until `stallMs` passes,
 *   then both sides are reset (a black hole; the client's timeout fires first);
 * - `truncate`: both sides get a FIN, and whatever either sends after is
 *   read and dropped (a middlebox that ends the connection cleanly: the
 *   receiver sees a short but well-ended stream, the sender a success, so
 *   the server answers 226 to a short upload or after a download the
 *   client got only part of);
 *
 * and delay every forwarded chunk by up to `maxDelayMs`. Faults come from a
 * script (`inject()`) or are drawn from a seeded PRNG, so a failing run is
 * replayed by passing the same `seed` (and the same order of connections).
 * Plain FTP, or FTPS with `opaque` (control faults only: it cannot read
 * the control connection to carry the data connections); loopback only;
 * bounded: at most `maxConnections` connections and `stallMs` per stall,
 * and close() ends every socket and listener it made.
 */
import * as net from "node:net";

export type FaultKind = "reset" | "close" | "stall" | "truncate";
export type Channel = "control" | "data";

/** A fault on one connection: `kind` once `afterBytes` bytes have been forwarded (server to client on control, either way on data). */
export interface Fault {
  channel: Channel;
  kind: FaultKind;
  afterBytes: number;
}

export interface ChaosOptions {
  /** The real server's control address (loopback). */
  target: { host: string; port: number };
  /** Seed of the PRNG that draws random faults and delays. Default 1. */
  seed?: number;
  /** Chance that a control connection gets a random fault. Default 0. */
  controlFaultRate?: number;
  /** Chance that a data connection gets a random fault. Default 0. */
  dataFaultRate?: number;
  /** Random control faults fire within this many bytes of replies. Default 2000. */
  maxControlOffset?: number;
  /** Random data faults fire within this many bytes. Default 64 KiB. */
  maxDataOffset?: number;
  /** Kinds random faults are drawn from. Default reset, close and stall (truncate only when named). */
  kinds?: readonly FaultKind[];
  /** Chance that a forwarded chunk is delayed, and the longest delay. Default 0 / 20 ms. */
  delayRate?: number;
  maxDelayMs?: number;
  /**
   * Chance that a forwarded chunk is written in 2 to 5 pieces, each in its
   * own write a timer tick apart (split writes: a reply line, a 150 or a
   * data block arrives in parts). Default 0.
   */
  splitRate?: number;
  /**
   * Forward the control connection's bytes untouched (FTPS, whose control
   * connection the proxy cannot read): faults and delays still act on it,
   * but 227/229 and PORT/EPRT are not rewritten, so data connections go
   * straight between client and server and get none. Default false.
   */
  opaque?: boolean;
  /** How long a stall holds both sides before resetting them. Default 10 s. */
  stallMs?: number;
  /** Most connections (control and data) the proxy will accept over its life. Default 100,000. */
  maxConnections?: number;
}

/** What the proxy did, for the soak's figures. */
export interface ChaosStats {
  controlConnections: number;
  dataConnections: number;
  /** Faults that fired (a fault whose offset was never reached is not counted). */
  faults: Record<FaultKind, number>;
  delays: number;
  /** Chunks written in pieces (splitRate). */
  splits: number;
  /** Every fault that fired, in order. */
  log: Array<Fault & { connection: number }>;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy: Node 18.3+; older ones can only close.
  if (typeof socket.resetAndDestroy === "function" && !socket.connecting) socket.resetAndDestroy();
  else socket.destroy();
}

export class ChaosProxy {
  readonly stats: ChaosStats = {
    controlConnections: 0,
    dataConnections: 0,
    faults: { reset: 0, close: 0, stall: 0, truncate: 0 },
    delays: 0,
    splits: 0,
    log: [],
  };
  readonly host = "127.0.0.1";
  private readonly random: () => number;
  /** Delays draw from their own sequence: how many chunks a transfer takes varies from run to run, and must not shift the faults. */
  private readonly delayRandom: () => number;
  /** Splits draw from a third sequence, so splitRate 0 leaves the delays of a seed as they were. */
  private readonly splitRandom: () => number;
  private readonly script: Fault[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly listeners = new Set<net.Server>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private accepted = 0;
  private closing = false;

  private constructor(
    private readonly options: ChaosOptions,
    private readonly listener: net.Server,
  ) {
    this.random = seededRandom(options.seed ?? 1);
    this.delayRandom = seededRandom((options.seed ?? 1) ^ 0x9e3779b9);
    this.splitRandom = seededRandom((options.seed ?? 1) ^ 0x85ebca6b);
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** Connections (both kinds) still open through the proxy. */
  get openSockets(): number {
    return this.sockets.size;
  }

  static async start(options: ChaosOptions): Promise<ChaosProxy> {
    if (!LOOPBACK.has(options.target.host)) throw new Error(`the chaos proxy talks to loopback only, not ${options.target.host}`);
    const listener = net.createServer({ allowHalfOpen: true });
    const proxy = new ChaosProxy(options, listener);
    listener.on("connection", (client) => proxy.onControl(client));
    await listen(listener, proxy.host);
    return proxy;
  }

  /** Queues a fault for the next connection of its channel (before any random one). */
  inject(fault: Fault): void {
    this.script.push(fault);
  }

  /** Faults that fired so far, all kinds. */
  get faultsInjected(): number {
    const { reset: resets, close, stall, truncate } = this.stats.faults;
    return resets + close + stall + truncate;
  }

  /** Ends every connection and listener at once. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    const closing = [this.listener, ...this.listeners].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
  }

  private admit(socket: net.Socket): boolean {
    socket.on("error", () => undefined);
    if (this.closing || this.accepted >= (this.options.maxConnections ?? 100_000)) {
      socket.destroy();
      return false;
    }
    this.accepted++;
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    return true;
  }

  private connectOut(host: string, port: number): net.Socket {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    this.admit(socket);
    return socket;
  }

  private nextFault(channel: Channel): Fault | undefined {
    const index = this.script.findIndex((fault) => fault.channel === channel);
    if (index >= 0) return this.script.splice(index, 1)[0];
    const rate = (channel === "control" ? this.options.controlFaultRate : this.options.dataFaultRate) ?? 0;
    // Draw every number whether or not it is used, so one decision does not shift the next.
    const [roll, kindRoll, offsetRoll] = [this.random(), this.random(), this.random()];
    if (roll >= rate) return undefined;
    const kinds = this.options.kinds ?? ["reset", "close", "stall"];
    const limit = channel === "control" ? (this.options.maxControlOffset ?? 2000) : (this.options.maxDataOffset ?? 64 * 1024);
    return { channel, kind: kinds[Math.floor(kindRoll * kinds.length)], afterBytes: Math.floor(offsetRoll * limit) };
  }

  private delay(): number {
    const roll = this.delayRandom();
    const amount = this.delayRandom();
    if (roll >= (this.options.delayRate ?? 0)) return 0;
    this.stats.delays++;
    return Math.floor(amount * (this.options.maxDelayMs ?? 20));
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  private onControl(client: net.Socket): void {
    if (!this.admit(client)) return;
    this.stats.controlConnections++;
    const number = this.stats.controlConnections;
    const server = this.connectOut(this.options.target.host, this.options.target.port);
    const link = new Link(this, client, server, this.nextFault("control"), number);
    const fromServer = new LineRewriter((line) => this.rewriteReply(line, link));
    const fromClient = new LineRewriter((line) => this.rewriteCommand(line, link));
    const opaque = this.options.opaque === true;
    link.forward(server, client, (chunk) => (opaque ? chunk : fromServer.push(chunk)), true);
    link.forward(client, server, (chunk) => (opaque ? chunk : fromClient.push(chunk)), false);
  }

  /** 227/229: listen on a port of ours and send the client there; its connection goes on to the server's port. */
  private async rewriteReply(line: string, link: Link): Promise<string> {
    const pasv = /^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(line);
    const epsv = /^229 .*\(([^\d])\1\1(\d+)\1\)/.exec(line);
    if (!pasv && !epsv) return line;
    const serverPort = pasv ? Number(pasv[5]) * 256 + Number(pasv[6]) : Number(epsv![2]);
    const port = await this.dataListener(link, () => this.connectOut(this.options.target.host, serverPort));
    if (epsv) return `229 Entering Extended Passive Mode (|||${port}|)\r\n`;
    return `227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255}).\r\n`;
  }

  /** PORT/EPRT: listen on a port of ours and send the server there; its connection goes on to the client's port. */
  private async rewriteCommand(line: string, link: Link): Promise<string> {
    const port = /^PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/i.exec(line);
    const eprt = /^EPRT ([^\d])(\d)\1([^|]+)\1(\d+)\1/i.exec(line);
    if (!port && !eprt) return line;
    const clientHost = port ? port.slice(1, 5).join(".") : eprt![3];
    const clientPort = port ? Number(port[5]) * 256 + Number(port[6]) : Number(eprt![4]);
    const ours = await this.dataListener(link, () => this.connectOut(clientHost, clientPort), true);
    if (eprt) return `EPRT |1|127.0.0.1|${ours}|\r\n`;
    return `PORT 127,0,0,1,${ours >> 8},${ours & 255}\r\n`;
  }

  /** One listener for one data connection: the first connection is linked to `dial()`; the listener then closes. */
  private async dataListener(control: Link, dial: () => net.Socket, serverDials = false): Promise<number> {
    // Half-open: an upload's client ends its side first and waits for the server's FIN.
    const server = net.createServer({ allowHalfOpen: true });
    this.listeners.add(server);
    server.on("error", () => undefined);
    const stop = (): void => {
      server.close();
      this.listeners.delete(server);
    };
    server.once("connection", (incoming) => {
      stop();
      if (!this.admit(incoming)) return;
      this.stats.dataConnections++;
      const outgoing = dial();
      const [client, upstream] = serverDials ? [outgoing, incoming] : [incoming, outgoing];
      const link = new Link(this, client, upstream, this.nextFault("data"), this.stats.dataConnections);
      link.forward(upstream, client, (chunk) => chunk, true);
      link.forward(client, upstream, (chunk) => chunk, true);
    });
    // A listener nobody connects to must not outlive its control connection.
    control.onEnd(stop);
    await listen(server, this.host);
    return (server.address() as net.AddressInfo).port;
  }

  /** Called by a Link when its fault fires. */
  recordFault(fault: Fault, connection: number): void {
    this.stats.faults[fault.kind]++;
    this.stats.log.push({ ...fault, connection });
  }

  delayFor(): number {
    return this.delay();
  }

  /** Where to cut a chunk of `length` bytes into pieces (sorted offsets inside it), or [] to write it whole. */
  splitsFor(length: number): number[] {
    if (!this.options.splitRate) return [];
    const roll = this.splitRandom();
    const count = 1 + Math.floor(this.splitRandom() * 4);
    if (length < 2 || roll >= this.options.splitRate) return [];
    this.stats.splits++;
    const cuts = new Set<number>();
    for (let i = 0; i < count; i++) cuts.add(1 + Math.floor(this.splitRandom() * (length - 1)));
    return [...cuts].sort((a, b) => a - b);
  }

  schedule(ms: number, action: () => void): void {
    this.later(ms, action);
  }

  get stallMs(): number {
    return this.options.stallMs ?? 10_000;
  }
}

/** One proxied connection pair (client side, server side) and its fault. */
class Link {
  private forwarded = 0;
  private fired = false;
  /** After a truncate: both sides ended, and what they send is read and dropped. */
  private draining = false;
  private readonly endHandlers: Array<() => void> = [];

  constructor(
    private readonly proxy: ChaosProxy,
    private readonly client: net.Socket,
    private readonly server: net.Socket,
    private readonly fault: Fault | undefined,
    private readonly number: number,
  ) {
    for (const socket of [client, server]) {
      socket.once("close", () => {
        // One side gone: the other goes too (after what is queued for it).
        // A stalled link resets the other side at once rather than hold it
        // for the rest of the stall, so the proxy's connections stay bounded.
        // The other is read on to its end too: forward() leaves a side
        // paused once its chunk's destination is gone, and a paused socket
        // never reads its peer's FIN, so it stayed open half-closed for ever.
        const other = socket === client ? server : client;
        if (!this.fired) other.end().resume();
        else if (this.fault?.kind === "stall") reset(other);
        for (const handler of this.endHandlers.splice(0)) handler();
      });
    }
  }

  onEnd(handler: () => void): void {
    this.endHandlers.push(handler);
  }

  /**
   * Forwards `from` to `to` in order, through `transform` (which may be
   * async and return text), with backpressure, delays, and this link's
   * fault counted on the bytes where `counted` is true.
   */
  forward(from: net.Socket, to: net.Socket, transform: (chunk: Buffer) => Buffer | Promise<string[]>, counted: boolean): void {
    let chain: Promise<void> = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      // Nowhere to go: dropped, and `from` is not paused for it.
      if (this.draining || to.destroyed) return;
      from.pause();
      chain = chain
        .then(async () => {
          const wait = this.proxy.delayFor();
          if (wait > 0) await new Promise<void>((resolve) => this.proxy.schedule(wait, resolve));
          const out = await transform(chunk);
          const bytes = Buffer.isBuffer(out) ? out : Buffer.from(out.join(""), "latin1");
          let start = 0;
          for (const cut of this.proxy.splitsFor(bytes.length)) {
            this.write(to, bytes.subarray(start, cut), counted);
            start = cut;
            await new Promise<void>((resolve) => this.proxy.schedule(1, resolve));
          }
          this.write(to, bytes.subarray(start), counted);
        })
        .then(() => {
          if (this.fired || to.destroyed) return;
          if (to.writableNeedDrain) to.once("drain", () => from.resume());
          else from.resume();
        });
    });
    from.on("end", () => {
      chain = chain.then(() => {
        if (!this.fired) to.end();
      });
    });
  }

  private write(to: net.Socket, bytes: Buffer, counted: boolean): void {
    if (this.fired || to.destroyed) return;
    const fault = this.fault;
    if (!counted || !fault || this.forwarded + bytes.length <= fault.afterBytes) {
      if (counted) this.forwarded += bytes.length;
      to.write(bytes);
      return;
    }
    const before = fault.afterBytes - this.forwarded;
    this.forwarded = fault.afterBytes;
    this.fired = true;
    this.proxy.recordFault(fault, this.number);
    // The fault acts once the bytes before it are on the wire, a moment
    // later: a socket reset in the same turn as its last write completes
    // sends a FIN instead of the RST (seen on Node 20 / Linux).
    to.write(bytes.subarray(0, Math.max(0, before)), () => this.proxy.schedule(2, () => this.fire(fault)));
  }

  private fire(fault: Fault): void {
    switch (fault.kind) {
      case "reset":
        reset(this.client);
        reset(this.server);
        break;
      case "close":
        this.client.end(() => this.client.destroy());
        reset(this.server);
        break;
      case "stall":
        this.client.pause();
        this.server.pause();
        this.proxy.schedule(this.proxy.stallMs, () => {
          reset(this.client);
          reset(this.server);
        });
        break;
      case "truncate":
        this.draining = true;
        this.client.end();
        this.server.end();
        this.client.resume();
        this.server.resume();
        break;
    }
  }
}

/** Splits a byte stream into CRLF/LF-terminated lines (latin1, so bytes survive) and rewrites each; a partial line waits for the rest. */
class LineRewriter {
  private partial = "";

  constructor(private readonly rewrite: (line: string) => Promise<string>) {}

  async push(chunk: Buffer): Promise<string[]> {
    const text = this.partial + chunk.toString("latin1");
    const lines = text.split(/(?<=\n)/);
    this.partial = lines[lines.length - 1].endsWith("\n") ? "" : (lines.pop() ?? "");
    const out: string[] = [];
    for (const line of lines) out.push(await this.rewrite(line));
    return out;
  }
}

function listen(server: net.Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
}
