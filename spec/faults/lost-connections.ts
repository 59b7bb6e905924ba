/**
 * What the specs of tree transfers against a server that loses its
 * connections share (hostile-pool-lost-connections, and the `retry` forms
 * hostile-pool-retry-lost-connections and hostile-pool-retry-single-client):
 * the numbered tree, the ways a server loses a connection, the local tree
 * to upload, and a server that loses some connections only.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FixtureServer, Session } from "../../fixtures/server.js";

/** `/tree/f0.txt` .. `/tree/f<count - 1>.txt`, each `file <i>\n`. */
export function numberedTree(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`/tree/f${i}.txt`] = `file ${i}\n`;
  return files;
}

/** How a server loses the connection at a command: with no reply, or with a 421 and its close. */
export const CONNECTION_LOSSES: ReadonlyArray<[string, (s: Session) => void]> = [
  ["drops the connection", (s) => s.drop()],
  ["answers 421 and closes", (s) => s.quit(421, "Service not available, closing control connection.")],
];

/** Writes `u0.txt` .. `u<count - 1>.txt` (each `upload <i>\n`) into the directory `local`. */
export async function writeUploads(local: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await writeFile(join(local, `u${i}.txt`), `upload ${i}\n`);
}

/** Makes `server` drop the connection at the first RETR of every third file of numberedTree (f0, f3, ...), and serve every other. */
export function dropFirstRetrOfEveryThird(server: FixtureServer): void {
  const dropped = new Set<string>();
  server.handle("RETR", async (s, arg) => {
    const n = Number(/f(\d+)\.txt$/.exec(arg)?.[1]);
    if (n % 3 === 0 && !dropped.has(arg)) {
      dropped.add(arg);
      s.drop();
      return;
    }
    await s.defaultHandler("RETR", arg);
  });
}
