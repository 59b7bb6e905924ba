/**
 * Plumbing of spec/cli/mirror-hostile: listings served as the spec writes
 * them, and the local tree read back whole. The `ftpstream` process
 * itself is run by ./run-cli.ts.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";

/** vsftpd's welcome: on such a server the mirror writes each download ahead of its turn. */
export const VSFTPD_WELCOME = "220 (vsFTPd 3.0.3)";

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
