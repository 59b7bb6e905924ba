/**
 * Shared plumbing for the core specs: fixture servers and clients that are
 * closed after every spec, with a leak check, and small waiting helpers.
 */
import { expect } from "chai";
import * as net from "node:net";
import { FixtureServer, type FixtureOptions } from "../../fixtures/server.js";
import { FTP, type FtpOptions } from "../../lib/index.js";

/** Polls `cond` until it holds; fails the spec if it never does. Not a timing assertion: a bound on waiting. */
export async function until(cond: () => boolean, what = "condition", timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A wait the spec ends by hand: a fixture handler awaits `passed`, the spec calls `open()`. */
export function gate(): { passed: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { passed, open };
}

/** The error `promise` rejects with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

export interface ClientOptions extends FtpOptions {
  /** Log in as user/pass after connecting. Default true. */
  login?: boolean;
}

/**
 * Registers an afterEach that closes every client and server made through
 * it, after checking that the server saw no handler errors and that no
 * socket is left open once the clients have gone.
 */
export function useFixtures(): {
  server(options?: FixtureOptions): Promise<FixtureServer>;
  client(srv: FixtureServer, options?: ClientOptions): Promise<FTP>;
} {
  const servers: FixtureServer[] = [];
  const clients: FTP[] = [];
  afterEach(async function () {
    for (const ftp of clients.splice(0)) ftp.close();
    for (const srv of servers.splice(0)) {
      try {
        await until(() => srv.openConnections() === 0, "every fixture connection closing");
        expect(srv.errors, "fixture handler errors").to.deep.equal([]);
      } finally {
        await srv.close();
      }
    }
  });
  return {
    async server(options = {}) {
      const srv = await FixtureServer.start(options);
      servers.push(srv);
      return srv;
    },
    async client(srv, options = {}) {
      const { login = true, ...ftpOptions } = options;
      const ftp = new FTP({ timeout: 5000, ...ftpOptions });
      clients.push(ftp);
      await ftp.connect(srv.host, srv.port);
      if (login) await ftp.login("user", "pass");
      return ftp;
    },
  };
}

/** Commands the server saw from index `from` on, minus the login the helper did. */
export function commandsAfterLogin(srv: FixtureServer): string[] {
  const at = srv.commands.indexOf("PASS pass");
  return srv.commands.slice(at + 1);
}

/**
 * Holds each reply to `verb` until the client writes another command (at
 * most `ms`), and records, in order, whether it did: true when the
 * command behind it was written without waiting for this reply.
 */
export function watchOverlap(srv: FixtureServer, verb: string, ms = 150): boolean[] {
  const overlapped: boolean[] = [];
  const from = srv.commands.length;
  srv.handle(verb, async (s, arg) => {
    // This is the verb's n-th command since the watch began: where it sits among all the fixture has read.
    let index = from - 1;
    for (let n = 0; n <= overlapped.length; n++) index = srv.commands.findIndex((line, i) => i > index && line.split(" ")[0] === verb);
    const deadline = Date.now() + ms;
    while (srv.commands.length <= index + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    overlapped.push(srv.commands.length > index + 1);
    await s.defaultHandler(verb, arg);
  });
  return overlapped;
}

/**
 * What a client writes on its control socket, write by write: pass
 * `createConnection` in the client's options; `writes` fills as it writes
 * (as text), and `onBytes`, if given, gets each write's bytes as sent.
 */
export function controlWrites(onBytes?: (bytes: Buffer) => void): {
  writes: string[];
  createConnection: NonNullable<FtpOptions["createConnection"]>;
} {
  const writes: string[] = [];
  return {
    writes,
    createConnection: (request) => {
      const socket = net.connect({ host: request.host, port: request.port });
      if (request.purpose === "control") {
        const write = socket.write.bind(socket) as (chunk: string | Buffer, ...rest: unknown[]) => boolean;
        socket.write = (chunk: string | Buffer, ...rest: unknown[]) => {
          writes.push(String(chunk));
          onBytes?.(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
          return write(chunk, ...rest);
        };
      }
      return socket;
    },
  };
}

/**
 * A client `logger` (at debugLevel 1) that records the wire into `wire`:
 * `> LINE` for each command as it is written, `< code` for each reply as
 * it arrives, in order.
 */
export function wireLogger(wire: string[]): (line: string) => void {
  return (line) => {
    const command = /^\*cmd\* '(.*)'$/.exec(line);
    if (command) wire.push(`> ${command[1]}`);
    const reply = /^\*resp\* ['"](\d{3})/.exec(line);
    if (reply) wire.push(`< ${reply[1]}`);
  };
}
