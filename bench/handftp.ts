/**
 * The least a Node program can do to move a file through vsftpd: a control
 * connection spoken by hand (USER, PASS, TYPE I, EPSV, then RETR or STOR)
 * and a plain net.Socket for the data, piped to or from the row's shared
 * sink or source. No library, no checks beyond the reply codes: the row's
 * reference for what the server and Node's sockets allow, to set
 * ftpstream's own cost apart from the server's.
 */
import * as net from "node:net";
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import type { Readable, Writable } from "node:stream";
import type { Endpoint } from "./tasks.js";

class Control {
  private buffered = "";
  private readonly replies: string[] = [];
  private wake: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      this.buffered += text;
      for (let end = this.buffered.indexOf("\r\n"); end !== -1; end = this.buffered.indexOf("\r\n")) {
        const line = this.buffered.slice(0, end);
        this.buffered = this.buffered.slice(end + 2);
        // The last line of a reply: three digits and a space.
        if (/^\d{3} /.test(line)) this.replies.push(line);
      }
      this.wake?.();
    });
  }

  async reply(expect: RegExp): Promise<string> {
    while (this.replies.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const line = this.replies.shift()!;
    if (!expect.test(line)) throw new Error(`unexpected reply: ${line}`);
    return line;
  }

  send(command: string, expect: RegExp): Promise<string> {
    this.socket.write(`${command}\r\n`);
    return this.reply(expect);
  }
}

/** A control connection logged in and in TYPE I; `noDelay` sets TCP_NODELAY on it first. */
async function loggedIn(ftp: Endpoint, noDelay: boolean): Promise<Control> {
  const socket = net.connect({ host: ftp.host, port: ftp.port });
  if (noDelay) socket.setNoDelay(true);
  await once(socket, "connect");
  const control = new Control(socket);
  await control.reply(/^220/);
  await control.send(`USER ${ftp.user}`, /^331/);
  await control.send(`PASS ${ftp.password}`, /^230/);
  await control.send("TYPE I", /^200/);
  return control;
}

async function open(ftp: Endpoint, command: string): Promise<{ control: Control; data: net.Socket }> {
  const control = await loggedIn(ftp, false);
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await control.send("EPSV", /^229/))![1]);
  const data = net.connect({ host: ftp.host, port });
  await once(data, "connect");
  await control.send(command, /^1\d\d/);
  return { control, data };
}

/**
 * The same by hand for a run of small files on one connection, the limit
 * of rows 4, 5 and the upload row: per file `EPSV`, then, on the 229, the
 * data connection opened and `RETR` (or `STOR`) written at the same moment;
 * read to EOF (or write and end), then the 226. What a Node program that
 * knows its server can do; no checks beyond the reply codes.
 */
export class HandClient {
  private constructor(
    private readonly control: Control,
    private readonly host: string,
  ) {}

  static async open(ftp: Endpoint): Promise<HandClient> {
    return new HandClient(await loggedIn(ftp, true), ftp.host);
  }

  /** One round trip. */
  async noop(): Promise<void> {
    await this.control.send("NOOP", /^200/);
  }

  /**
   * `count` NOOPs written in one go, then their replies read: pipelining
   * with no window and nothing to match, the least a client can do for
   * many commands at once.
   */
  async noops(count: number): Promise<void> {
    this.control.socket.write("NOOP\r\n".repeat(count));
    for (let i = 0; i < count; i++) await this.control.reply(/^200/);
  }

  /** Downloads `path` into `sink` (left open); resolves to the bytes read once the 226 is in. */
  async retr(path: string, sink: Writable): Promise<number> {
    return this.receive(await this.transfer(`RETR ${path}`), sink);
  }

  /** Reads `data` into `sink` to EOF, and the 1xx and 226 meanwhile; resolves to the bytes read. */
  private async receive(data: net.Socket, sink: Writable): Promise<number> {
    let bytes = 0;
    data.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      sink.write(chunk);
    });
    await Promise.all([once(data, "end"), this.control.reply(/^1\d\d/).then(() => this.control.reply(/^226/))]);
    return bytes;
  }

  /**
   * As retr(), with `EPSV` and `RETR` written together, as ftpstream does
   * with `pipelining: true`: the server takes RETR once it has answered
   * EPSV, and waits for the data connection opened on the 229.
   */
  async retrPipelined(path: string, sink: Writable): Promise<number> {
    this.control.socket.write(`EPSV\r\nRETR ${path}\r\n`);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await this.control.reply(/^229/))![1]);
    return this.receive(net.connect({ host: this.host, port }), sink);
  }

  /** Uploads `bytes` as `path`; resolves once the 226 is in. */
  async stor(path: string, bytes: Buffer): Promise<void> {
    const data = await this.transfer(`STOR ${path}`);
    data.resume();
    data.end(bytes);
    await this.control.reply(/^1\d\d/);
    await this.control.reply(/^226/);
  }

  async quit(): Promise<void> {
    this.control.socket.end("QUIT\r\n");
    await once(this.control.socket, "close");
  }

  private async transfer(command: string): Promise<net.Socket> {
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await this.control.send("EPSV", /^229/))![1]);
    const data = net.connect({ host: this.host, port });
    this.control.socket.write(`${command}\r\n`);
    return data;
  }
}

export async function handDownload(ftp: Endpoint, path: string, sink: Writable): Promise<void> {
  const { control, data } = await open(ftp, `RETR ${path}`);
  await pipeline(data, sink);
  await control.reply(/^226/);
  control.socket.end("QUIT\r\n");
}

export async function handUpload(ftp: Endpoint, path: string, source: Readable): Promise<void> {
  const { control, data } = await open(ftp, `STOR ${path}`);
  data.resume();
  await pipeline(source, data);
  await control.reply(/^226/);
  control.socket.end("QUIT\r\n");
}
