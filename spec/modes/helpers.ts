/**
 * Shared set-up for the spec/modes suites: a fixture server per test and a
 * logged-in client against it, both closed after the test.
 */
import { FTP, type FtpOptions } from "../../lib/index.js";
import { FixtureServer, type FixtureOptions } from "../../fixtures/server.js";

/** Starts fixture servers and clients for one test and closes them all afterwards. */
export class Harness {
  private readonly servers: FixtureServer[] = [];
  private readonly clients: FTP[] = [];

  async server(options: FixtureOptions = {}): Promise<FixtureServer> {
    const srv = await FixtureServer.start(options);
    this.servers.push(srv);
    return srv;
  }

  /** A client connected to `srv` and logged in as user/pass. */
  async client(srv: FixtureServer, options: FtpOptions = {}): Promise<FTP> {
    const ftp = new FTP(options);
    this.clients.push(ftp);
    await ftp.connect(srv.host, srv.port);
    await ftp.login("user", "pass");
    return ftp;
  }

  /** A client that is not connected yet (the test connects it). */
  bare(options: FtpOptions = {}): FTP {
    const ftp = new FTP(options);
    this.clients.push(ftp);
    return ftp;
  }

  async close(): Promise<void> {
    for (const ftp of this.clients.splice(0)) ftp.close();
    await Promise.all(this.servers.splice(0).map((srv) => srv.close()));
  }
}

/** The verbs of the commands a fixture received, after `from`. */
export function verbs(srv: FixtureServer, from = 0): string[] {
  return srv.commands.slice(from).map((line) => line.split(" ", 1)[0].toUpperCase());
}

/** Commands after login (USER/PASS dropped), exactly as received. */
export function afterLogin(srv: FixtureServer): string[] {
  const at = srv.commands.findIndex((line) => line.startsWith("PASS "));
  return srv.commands.slice(at + 1);
}

/** Collects a Readable into one Buffer. */
export async function collect(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Resolves with what `promise` rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
