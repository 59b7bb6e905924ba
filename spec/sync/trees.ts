/**
 * A tree as one object, for specs that compare whole trees: every file
 * below a root as path → content (latin1, so any bytes compare), every
 * directory as path → null. Local (read from disk) and remote (the
 * fixture's files).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";

/** Every file below `dir` as path → content, and every directory as path → null. */
export function localTree(dir: string, below = ""): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const entry of readdirSync(join(dir, below), { withFileTypes: true })) {
    const path = below ? `${below}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      out[path] = null;
      Object.assign(out, localTree(dir, path));
    } else {
      out[path] = readFileSync(join(dir, path), "latin1");
    }
  }
  return out;
}

/** Every file below `root` on the fixture as path → content, and every directory as path → null. */
export function remoteTree(srv: FixtureServer, root: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const path of srv.vfs.paths()) {
    if (!path.startsWith(`${root}/`)) continue;
    out[path.slice(root.length + 1)] = srv.vfs.isDir(path) ? null : srv.vfs.get(path)!.toString("latin1");
  }
  return out;
}
