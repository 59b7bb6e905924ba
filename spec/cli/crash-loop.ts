/**
 * The crash specs' loop, run by hand over many seeds (crash-mirror.spec.ts
 * runs a few fixed ones):
 *
 *   node build/spec/cli/crash-loop.js <server> <mode> <first seed> <count> [kills]
 *
 * server: fixture, or a real server of spec/interop (vsftpd, proftpd,
 * pure-ftpd, pyftpdlib; root, the servers installed); mode: download,
 * upload (no --part-files) or upload-parts. Each seed is one
 * mirrorCrashes sequence; a failure prints its seed and the loop goes on.
 * FTPSTREAM_CRASH_ARGS: more arguments for every run (--parallel 3);
 * FTPSTREAM_CRASH_VERBOSE: what each seed saw.
 * Exit 1 if any seed failed.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { startServer, type RealServer, type ServerKind } from "../interop/servers.js";
import { diskSide, mirrorCrashes, vfsSide, type CrashSetup } from "./crash-harness.js";

const [kind = "fixture", mode = "download", first = "1", count = "20", kills = "3"] = process.argv.slice(2);
const direction = mode === "download" ? "download" : "upload";
const partFiles = mode !== "upload";
const extra = (process.env.FTPSTREAM_CRASH_ARGS ?? "").split(" ").filter((arg) => arg !== "");

let fixture: FixtureServer | undefined;
let real: RealServer | undefined;
if (kind === "fixture") fixture = await FixtureServer.start({});
else real = await startServer(kind as ServerKind);

let failed = 0;
const totals = { kills: 0, torn: 0, parts: 0, reruns: 0 };
for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-crash-loop-"));
  let setup: CrashSetup;
  if (fixture) {
    const vfs = fixture.vfs;
    for (const dir of ["/t", "/other"]) vfs.remove(dir);
    vfs.mkdir("/t");
    vfs.mkdir("/other");
    setup = {
      server: { host: fixture.host, port: fixture.port, user: "user", password: "pass" },
      remote: (dir) => vfsSide(vfs, `/${dir}`),
      work,
    };
  } else {
    const s = real!;
    const owner = await fs.stat(s.home);
    for (const dir of ["t", "other"]) {
      await fs.rm(path.join(s.home, dir), { recursive: true, force: true });
      await fs.mkdir(path.join(s.home, dir));
      await fs.chown(path.join(s.home, dir), owner.uid, owner.gid);
    }
    setup = { server: s, remote: (dir) => diskSide(path.join(s.home, dir), owner), work };
  }
  try {
    const seen = await mirrorCrashes(setup, direction, partFiles, seed, Number(kills), extra, kind === "vsftpd");
    totals.kills += seen.kills;
    totals.torn += seen.torn;
    totals.parts += seen.parts;
    totals.reruns += seen.reruns;
    if (process.env.FTPSTREAM_CRASH_VERBOSE) process.stdout.write(`seed ${seed}: ${JSON.stringify(seen)}\n`);
  } catch (error) {
    failed++;
    process.stdout.write(`seed ${seed} FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
process.stdout.write(
  `${kind} ${mode}: seeds ${first}..${Number(first) + Number(count) - 1}, ${failed} failed; ` +
    `${totals.kills} kills, ${totals.torn} torn files and ${totals.parts} part files seen after them; ${totals.reruns} runs after them run again\n`,
);
await fixture?.close();
await real?.stop();
process.exit(failed > 0 ? 1 : 0);
