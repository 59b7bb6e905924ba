/**
 * `node build/examples/mirror.js`: mirrors a remote tree into a local
 * folder, against the bundled loopback fixture server, twice. The first
 * run fetches every file; the second fetches only what changed on the
 * server in between (a file whose size differs, and a new one).
 *
 * walk() lists each directory with MLSD and yields every entry with its
 * full path; its names are single path segments, so every local path
 * stays inside the target folder. Files go through a `.part` name and are
 * renamed only once the server's 226 has come.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../fixtures/server.js";
import { FTP } from "../lib/index.js";

const REMOTE_ROOT = "/exports";

/** Local size of `file`, or -1 if it is not there. */
async function localSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return -1;
  }
}

/** Mirrors REMOTE_ROOT into `target`; resolves to the number of files fetched and skipped. */
async function mirror(ftp: FTP, target: string): Promise<{ fetched: number; skipped: number }> {
  let fetched = 0;
  let skipped = 0;
  for await (const { path, entry } of ftp.walk(REMOTE_ROOT)) {
    const local = join(target, path.slice(REMOTE_ROOT.length + 1));
    if (entry.type === "dir") {
      await mkdir(local, { recursive: true });
    } else if (entry.type === "file") {
      if (entry.size !== null && (await localSize(local)) === entry.size) {
        skipped++;
        continue;
      }
      await ftp.retrbinary(`RETR ${path}`, createWriteStream(`${local}.part`));
      await rename(`${local}.part`, local);
      console.log(`   fetched ${path} (${entry.size ?? "?"} bytes)`);
      fetched++;
    }
  }
  return { fetched, skipped };
}

async function main(): Promise<void> {
  const server = await FixtureServer.start({
    files: {
      "/exports/readme.txt": "daily exports\n",
      "/exports/2026/01/sales.csv": "id,amount\n1,10\n2,20\n",
      "/exports/2026/01/stock.csv": "sku,count\nA,3\n",
      "/exports/2026/02/sales.csv": "id,amount\n3,30\n",
      "/exports/empty/": "",
    },
  });
  const target = await mkdtemp(join(tmpdir(), "ftpstream-mirror-"));
  const ftp = new FTP({ timeout: 10_000 });
  try {
    await ftp.connect(server.host, server.port);
    await ftp.login("user", "pass");

    console.log(`1. mirror ${REMOTE_ROOT} into ${target}`);
    const first = await mirror(ftp, target);
    console.log(`   ${first.fetched} fetched, ${first.skipped} unchanged`);

    console.log("2. the server changes: one file grows, one is new");
    server.vfs.set("/exports/2026/02/sales.csv", Buffer.from("id,amount\n3,30\n4,40\n"));
    server.vfs.set("/exports/2026/02/stock.csv", Buffer.from("sku,count\nB,7\n"));

    console.log("3. mirror again: only what changed");
    const second = await mirror(ftp, target);
    console.log(`   ${second.fetched} fetched, ${second.skipped} unchanged`);

    const check = await readFile(join(target, "2026/02/sales.csv"), "utf8");
    const same = check === "id,amount\n3,30\n4,40\n" && (await localSize(join(target, "empty"))) >= 0;
    console.log(`   local copy ${same ? "matches" : "DIFFERS from"} the server`);
    console.log(await ftp.quit());
    if (!same || first.fetched !== 4 || second.fetched !== 2) process.exitCode = 1;
  } finally {
    ftp.close();
    await server.close();
    await rm(target, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error("mirror example failed:", error);
  process.exitCode = 1;
});
