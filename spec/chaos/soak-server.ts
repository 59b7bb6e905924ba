/**
 * The server behind the chaos soak's proxy: vsftpd (a real server, started
 * on loopback by spec/interop/servers.ts) where it is installed, else the
 * scripted fixture. The soak prints which one it ran against.
 * CHAOS_SERVER=fixture forces the fixture (to replay a run against it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FixtureServer, patternBytes, patternFile } from "../../fixtures/server.js";
import { findServer, startServer } from "../interop/servers.js";

export interface SoakServer {
  /** What the soak ran against, for its output: "vsftpd 3.0.3-13+b2" or "the fixture (vsftpd not installed: ...)". */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The bytes the server holds at `remotePath` (absolute), or undefined. */
  read(remotePath: string): Buffer | undefined;
  /** Server-side connections still open, where the server can tell (the fixture); undefined for a real server. */
  openConnections(): number | undefined;
  /** Forgets the fixture's command log (it grows with every command of a long run). */
  forgetCommands(): void;
  close(): Promise<void>;
}

/**
 * Starts the soak's server holding `files` (absolute path → size; each file
 * the pattern from offset 0), on loopback.
 */
export async function startSoakServer(files: Record<string, number>): Promise<SoakServer> {
  const vsftpd = findServer("vsftpd");
  if (process.env.CHAOS_SERVER !== "fixture" && vsftpd.found) return startVsftpd(files);
  const why = process.env.CHAOS_SERVER === "fixture" ? "CHAOS_SERVER=fixture" : `vsftpd not installed: ${vsftpd.why}`;
  return startFixture(files, `the fixture server (${why})`);
}

async function startVsftpd(files: Record<string, number>): Promise<SoakServer> {
  const server = await startServer("vsftpd");
  const local = (remotePath: string): string => path.join(server.home, remotePath);
  for (const [remotePath, size] of Object.entries(files)) fs.writeFileSync(local(remotePath), patternBytes(0, size), { mode: 0o644 });
  return {
    name: `vsftpd ${server.version} (a real server)`,
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    read: (remotePath) => {
      try {
        return fs.readFileSync(local(remotePath));
      } catch {
        return undefined;
      }
    },
    openConnections: () => undefined,
    forgetCommands: () => undefined,
    close: () => server.stop(),
  };
}

async function startFixture(files: Record<string, number>, name: string): Promise<SoakServer> {
  const generated: Record<string, ReturnType<typeof patternFile>> = {};
  for (const [remotePath, size] of Object.entries(files)) generated[remotePath] = patternFile(size);
  const srv = await FixtureServer.start({ files: generated });
  return {
    name,
    host: srv.host,
    port: srv.port,
    user: "user",
    password: "pass",
    read: (remotePath) => srv.vfs.get(remotePath),
    openConnections: () => srv.openConnections(),
    forgetCommands: () => {
      srv.commands.length = 0;
    },
    close: () => srv.close(),
  };
}
