/** Trees the interop specs lay out in a real server's home before they run. */
import * as fs from "node:fs/promises";
import * as path from "node:path";

/** What to make below a home, by paths relative to it, in this order: directories, files, links. */
export interface HomeTree {
  /** Directories, each made alone (a parent listed before its children). */
  dirs: string[];
  /** Files and their text. */
  files: Record<string, string>;
  /** Links and the targets they hold. */
  links: Record<string, string>;
}

/**
 * Makes `tree` below `home`, everything owned as `home` is: the specs run
 * as root, and the server's user must be able to list and change what
 * they made (a link itself chowned, not what it points to).
 */
export async function layOutHome(home: string, tree: HomeTree): Promise<void> {
  const { uid, gid } = await fs.stat(home);
  for (const dir of tree.dirs) await fs.mkdir(path.join(home, dir));
  for (const [file, text] of Object.entries(tree.files)) await fs.writeFile(path.join(home, file), text);
  for (const [link, target] of Object.entries(tree.links)) await fs.symlink(target, path.join(home, link));
  for (const at of [...tree.dirs, ...Object.keys(tree.files)]) await fs.chown(path.join(home, at), uid, gid);
  for (const link of Object.keys(tree.links)) await fs.lchown(path.join(home, link), uid, gid);
}
