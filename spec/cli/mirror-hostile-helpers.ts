/**
 * Plumbing of spec/cli/mirror-hostile: the real `ftpstream` process run
 * against a scripted fixture server, listings served as the spec writes
 * them, and the local tree read back whole.
 */
import { spawn } from "node:child_process";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FixtureServer } from "../../fixtures/server.js";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));

/** vsftpd's welcome: on such a server the mirror writes each download ahead of its turn. */
export const VSFTPD_WELCOME = "220 (vsFTPd 3.0.3)";

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ftpstream <args>` as its own process. A run still going after
 * `killAfterMs` is killed (SIGKILL) and resolves with `signal` set: a spec
 * asserting that the CLI settled fails on that instead of hanging mocha.
 */
export function runCli(args: string[], { killAfterMs = 15_000 }: { killAfterMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Serves `lines` (MLSD facts lines, without line ends) as the MLSD of
 * `path`; every other MLSD as the fixture would.
 */
export function serveMlsd(srv: FixtureServer, path: string, lines: string[]): void {
  srv.handle("MLSD", async (s, arg) => {
    if (arg !== path) return s.defaultHandler("MLSD", arg);
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
}

/** A local tree by path: a file's text, null for a directory, `-> target` for a link. */
export function localTree(root: string, below = ""): Record<string, string | null> {
  const tree: Record<string, string | null> = {};
  for (const name of readdirSync(join(root, below)).sort()) {
    const path = below ? `${below}/${name}` : name;
    const info = lstatSync(join(root, path));
    if (info.isSymbolicLink()) tree[path] = `-> ${readlinkSync(join(root, path))}`;
    else if (info.isDirectory()) {
      tree[path] = null;
      Object.assign(tree, localTree(root, path));
    } else tree[path] = readFileSync(join(root, path), "utf8");
  }
  return tree;
}
