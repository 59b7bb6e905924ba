/**
 * A fake remote tree for the specs of links a server lists as directories:
 * MLSD and MLST answer from a table of directories (their `unique` facts
 * and entries), LIST from canned lines, the files from the fixture.
 */
import type { FixtureServer } from "../../fixtures/server.js";

/** What a directory of the fake tree lists: its unique value, and its entries' MLSD lines. */
export interface FakeDir {
  unique: string;
  entries: string[];
}

/** LIST's line for /r/out, a link to a directory outside /r. */
export const OUT_LIST = "lrwxrwxrwx   1 root     root           10 Dec 07 08:10 out -> ../outside";

export interface FakeTreeOptions {
  /** MLSD gives a `type=cdir` line carrying the directory's unique value; without it (pyftpdlib) MLST of a directory gives it. */
  cdir: boolean;
  /** LIST's lines by directory; a directory not here is listed as the fixture does. */
  list?: Record<string, string[]>;
  /** The path of `tree` a path asked for stands for (by default itself). */
  resolve?: (path: string) => string;
}

/** Has `srv` answer MLSD and MLST of the directories of `tree`, and LIST of those in `options.list`, as `options` says. */
export function serveFakeTree(srv: FixtureServer, tree: Record<string, FakeDir>, options: FakeTreeOptions): void {
  const list = options.list ?? {};
  const find = (path: string): FakeDir | undefined => tree[options.resolve ? options.resolve(path) : path];
  srv.handle("LIST", async (s, arg) => {
    const lines = list[arg.replace(/^-a /, "")];
    if (!lines) return s.defaultHandler("LIST", arg);
    s.reply(150, "Here comes the directory listing.");
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
  srv.handle("MLSD", async (s, arg) => {
    const listed = find(arg);
    if (!listed) return s.reply(550, "No such directory.");
    s.reply(150, "Here comes the directory listing.");
    const lines = options.cdir ? [`type=cdir;perm=el;unique=${listed.unique}; .`, ...listed.entries] : listed.entries;
    await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
    s.reply(226, "Directory send OK.");
  });
  srv.handle("MLST", (s, arg) => {
    const listed = find(arg);
    if (!listed) return s.defaultHandler("MLST", arg);
    s.send(`250-Listing ${arg}\r\n type=dir;perm=el;unique=${listed.unique}; ${arg}\r\n250 End\r\n`);
  });
}
