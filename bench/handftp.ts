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

async function open(ftp: Endpoint, command: string): Promise<{ control: Control; data: net.Socket }> {
  const socket = net.connect({ host: ftp.host, port: ftp.port });
  await once(socket, "connect");
  const control = new Control(socket);
  await control.reply(/^220/);
  await control.send(`USER ${ftp.user}`, /^331/);
  await control.send(`PASS ${ftp.password}`, /^230/);
  await control.send("TYPE I", /^200/);
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(await control.send("EPSV", /^229/))![1]);
  const data = net.connect({ host: ftp.host, port });
  await once(data, "connect");
  await control.send(command, /^1\d\d/);
  return { control, data };
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
