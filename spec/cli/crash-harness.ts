/**
 * Plumbing of the crash specs (spec/cli/crash-*.spec.ts): `ftpstream
 * mirror --delete` run as a child process and SIGKILLed at a point drawn
 * from a seeded PRNG, then run again, as cron runs it after the OOM killer
 * or a reboot. The kill point is a control command: a proxy between the
 * CLI and the server (the fixture or a real one) counts the commands the
 * CLI sends and, at the one drawn, kills the CLI before the command
 * reaches the server, or once the server has answered it (the answer held
 * back), or a few milliseconds after it went on (a transfer flowing, a
 * local rename or deletion under way). Data connections go straight to
 * the server. After each kill the target is checked against the
 * invariants of an unattended mirror (checkAfterKill), and the last run,
 * not killed, must leave the target equal to the source (checkConverged).
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import type { VirtualFs } from "../../fixtures/vfs.js";
import { PART_SUFFIX } from "../../lib/part-file.js";
import { seededRandom } from "../chaos/proxy.js";
import { startCli } from "./run-cli.js";

/** A tree's files (path below the root, `/`-separated: bytes) and directories. */
export interface TreeState {
  files: Map<string, Buffer>;
  dirs: Set<string>;
}

/** One side of a mirror, read and changed the same way whether it is a local directory, the fixture's vfs or a real server's home. */
export interface TreeSide {
  read(): Promise<TreeState>;
  /** Writes `file` (its directories made as needed), its time `modified` (the specs give both sides one, so that what is the same is skipped). */
  write(file: string, data: Buffer, modified: Date): Promise<void>;
  remove(file: string): Promise<void>;
}

/** A local directory (or a real server's home, the files given its owner: the specs run as root). */
export function diskSide(root: string, owner?: { uid: number; gid: number }): TreeSide {
  return {
    read: async () => {
      const state: TreeState = { files: new Map(), dirs: new Set() };
      const walk = async (dir: string): Promise<void> => {
        const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT" && dir === "") return [];
          throw error;
        });
        for (const entry of entries) {
          const at = dir === "" ? entry.name : `${dir}/${entry.name}`;
          if (entry.isDirectory()) {
            state.dirs.add(at);
            await walk(at);
          } else if (entry.isFile()) state.files.set(at, await fs.readFile(path.join(root, at)));
          else throw new Error(`${at}: neither a file nor a directory`);
        }
      };
      await walk("");
      return state;
    },
    write: async (file, data, modified) => {
      const parts = file.split("/");
      await fs.mkdir(root, { recursive: true });
      for (let i = 1; i < parts.length; i++) {
        const dir = path.join(root, ...parts.slice(0, i));
        await fs.mkdir(dir, { recursive: true });
        if (owner) await fs.chown(dir, owner.uid, owner.gid);
      }
      await fs.writeFile(path.join(root, file), data);
      await fs.utimes(path.join(root, file), modified, modified);
      if (owner) await fs.chown(path.join(root, file), owner.uid, owner.gid);
    },
    remove: (file) => fs.rm(path.join(root, file), { recursive: true }),
  };
}

/** The fixture's files below `root` (an absolute vfs path). */
export function vfsSide(vfs: VirtualFs, root: string): TreeSide {
  return {
    read: () => {
      const state: TreeState = { files: new Map(), dirs: new Set() };
      for (const at of vfs.paths()) {
        if (!at.startsWith(`${root}/`)) continue;
        const below = at.slice(root.length + 1);
        if (vfs.isDir(at)) state.dirs.add(below);
        else state.files.set(below, vfs.get(at)!);
      }
      return Promise.resolve(state);
    },
    write: (file, data, modified) => Promise.resolve(vfs.set(`${root}/${file}`, data, modified)),
    remove: (file) => Promise.resolve(void vfs.remove(`${root}/${file}`)),
  };
}

/** Where a run is killed: at the `nth` command (0 the first of the run, all connections counted) that `matches`. */
export interface KillPoint {
  nth: number;
  /** Only commands for which this holds are counted; all of them without it. */
  matches?: (line: string) => boolean;
  /**
   * before: the command never reaches the server; answered: it does, and
   * the kill comes with the server's next reply, which the CLI never gets;
   * later: it does, and the kill comes `ms` after.
   */
  phase: "before" | "answered" | "later";
  ms?: number;
}

/** A proxy on the control connection that kills the CLI at its KillPoint (see the module's comment). */
export class KillTap {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private point: KillPoint | undefined;
  private kill: () => void = () => undefined;
  private counted = 0;
  private fired = false;
  /** The commands of the current run, as the CLI sent them. */
  commands: string[] = [];

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.carry(client));
  }

  static async start(target: { host: string; port: number }): Promise<KillTap> {
    const tap = new KillTap(target);
    await new Promise<void>((resolve) => tap.server.listen(0, "127.0.0.1", resolve));
    return tap;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Arms the tap for the next run: `kill` is called once, at `point` (never without one). */
  arm(point: KillPoint | undefined, kill: () => void): void {
    this.point = point;
    this.kill = kill;
    this.counted = 0;
    this.fired = false;
    this.commands = [];
  }

  /** Whether the armed kill came. */
  get killed(): boolean {
    return this.fired;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.kill();
  }

  private carry(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    let pending = "";
    let awaitingAnswer = false;
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    upstream.on("data", (chunk: Buffer) => {
      if (awaitingAnswer) {
        awaitingAnswer = false;
        this.fire();
      }
      if (!this.fired) client.write(chunk);
    });
    client.on("data", (chunk: Buffer) => {
      if (this.fired) return;
      pending += chunk.toString("latin1");
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline + 1);
        pending = pending.slice(newline + 1);
        const command = line.replace(/\r?\n$/, "");
        this.commands.push(command);
        const point = this.point;
        const counts = point !== undefined && (point.matches?.(command) ?? true);
        if (counts && this.counted++ === point.nth) {
          if (point.phase === "before") {
            this.fire();
            return;
          }
          if (point.phase === "answered") awaitingAnswer = true;
          else setTimeout(() => this.fire(), point.ms ?? 0);
        }
        upstream.write(Buffer.from(line, "latin1"));
        if (this.fired) return;
      }
    });
  }
}

/** What one run of the CLI came to. */
export interface RunOutcome {
  killed: boolean;
  code: number | null;
  stderr: string;
  commands: string[];
}

/** Runs `ftpstream <args>` through `tap`, killed (SIGKILL) at `point` if the run gets there, or after `limitMs`. */
export async function runThrough(tap: KillTap, args: string[], point: KillPoint | undefined, limitMs = 15_000): Promise<RunOutcome> {
  const run = startCli(args, { killAfterMs: limitMs });
  tap.arm(point, () => run.child.kill("SIGKILL"));
  const code = await run.exit;
  return { killed: tap.killed, code, stderr: run.lines.join("\n"), commands: tap.commands };
}

/** A kill point drawn from `random`: one of the first `span` commands, in any phase (up to 25 ms later). */
export function drawPoint(random: () => number, span: number): KillPoint {
  const phases = ["before", "answered", "later"] as const;
  return { nth: Math.floor(random() * span), phase: phases[Math.floor(random() * 3)], ms: Math.floor(random() * 25) };
}

/** Whether `name` (a path's last segment) is a part file's. */
export function isPartName(file: string): boolean {
  const name = file.slice(file.lastIndexOf("/") + 1);
  return name.startsWith(".") && name.endsWith(PART_SUFFIX);
}

/** What the target may hold between a kill and the next run. */
export interface KillRules {
  /** The target before the first run of the sequence. */
  old: TreeState;
  source: TreeState;
  /** The target after the kill before this one (or `old`). */
  previous: TreeState;
  /**
   * Uploads without partFiles: a file of the source may be a prefix of its
   * new version (STOR to its own name; partFiles' TSDoc: "a failed upload then leaves a partial file there,
   * unstamped, which the next run sends again").
   */
  tornAllowed: boolean;
}

/** Checks the target after a kill; `what` names the run in failures. Returns the files found torn (a prefix of the new version, not the whole). */
export function checkAfterKill(now: TreeState, rules: KillRules, what: string): string[] {
  const { old, source, previous, tornAllowed } = rules;
  const torn: string[] = [];
  for (const [file, data] of now.files) {
    if (isPartName(file)) continue;
    const fresh = source.files.get(file);
    const stale = old.files.get(file);
    const whole = (fresh !== undefined && data.equals(fresh)) || (stale !== undefined && data.equals(stale));
    if (whole) continue;
    if (tornAllowed && fresh !== undefined && fresh.subarray(0, data.length).equals(data)) {
      torn.push(file);
      continue;
    }
    expect.fail(`${what}: ${file} holds ${data.length} bytes, neither its old copy (${stale?.length}) nor its new one (${fresh?.length})`);
  }
  for (const [file, data] of previous.files) {
    if (isPartName(file) || !source.files.has(file)) continue;
    const fresh = source.files.get(file)!;
    // A file of the source that was whole in the target stays there, whole (or, unguarded, torn by a new upload).
    expect(now.files.has(file), `${what}: ${file} was in the target and is gone`).to.equal(true);
    const wasNew = data.equals(fresh);
    if (wasNew) expect(now.files.get(file)!.equals(fresh), `${what}: ${file} was its new copy and is not now`).to.equal(true);
  }
  return torn;
}

/** Checks that `now` is `source` exactly, with no part file left. */
export function checkConverged(now: TreeState, source: TreeState, what: string): void {
  expect([...now.files.keys()].filter(isPartName), `${what}: part files left`).to.deep.equal([]);
  expect([...now.files.keys()].sort(), `${what}: names`).to.deep.equal([...source.files.keys()].sort());
  for (const [file, data] of source.files) expect(now.files.get(file)!.equals(data), `${what}: ${file}'s content`).to.equal(true);
  expect([...now.dirs].sort(), `${what}: directories`).to.deep.equal([...source.dirs].sort());
}

/** A tree's version 1 and version 2 (see layOut): what changes between them covers every kind of change a mirror makes. */
export function versions(random: () => number): { v1: Map<string, Buffer>; v2: Map<string, Buffer> } {
  const bytes = (label: string, size: number): Buffer => {
    const line = Buffer.from(`${label} ${Math.floor(random() * 1e9)}\n`);
    const out = Buffer.alloc(size);
    for (let at = 0; at < size; at += line.length) line.copy(out, at);
    return out;
  };
  const v1 = new Map<string, Buffer>([
    ["same.txt", bytes("same", 3000)],
    ["grows.bin", bytes("grows v1", 120_000)],
    ["shrinks.bin", bytes("shrinks v1", 200_000)],
    ["sub/changes.txt", bytes("changes v1", 5000)],
    ["sub/kept.txt", bytes("kept", 100)],
    ["sub/gone.txt", bytes("gone", 700)],
    ["old/only.txt", bytes("only in v1", 900)],
    ["old/deeper/also.txt", bytes("also only in v1", 400)],
  ]);
  const v2 = new Map<string, Buffer>([
    ["same.txt", v1.get("same.txt")!],
    ["grows.bin", bytes("grows v2", 260_000)],
    ["shrinks.bin", bytes("shrinks v2", 50_000)],
    ["sub/changes.txt", bytes("changes v2", 5001)],
    ["sub/kept.txt", v1.get("sub/kept.txt")!],
    ["new.txt", bytes("new in v2", 800)],
    ["fresh/deep/new.bin", bytes("new deep in v2", 150_000)],
  ]);
  return { v1, v2 };
}

/** The time every file laid out gets, on both sides. */
export const LAID_OUT = new Date(Date.UTC(2025, 5, 1, 8, 0, 0));

/** Puts `files` on `side`, after removing what it holds that `files` lacks. */
export async function layOut(side: TreeSide, files: Map<string, Buffer>): Promise<void> {
  const now = await side.read();
  for (const file of now.files.keys()) if (!files.has(file)) await side.remove(file);
  const dirsNeeded = new Set<string>();
  for (const file of files.keys()) for (let at = file; at.includes("/");) dirsNeeded.add((at = at.slice(0, at.lastIndexOf("/"))));
  for (const dir of [...now.dirs].sort((a, b) => b.length - a.length)) if (!dirsNeeded.has(dir)) await side.remove(dir);
  for (const [file, data] of files) await side.write(file, data, LAID_OUT);
}

/** Everything that must not change (beside the target, and the source): a snapshot to compare after. */
export async function snapshot(sides: TreeSide[]): Promise<TreeState[]> {
  return Promise.all(sides.map((side) => side.read()));
}

/** A sequence's seed: FTPSTREAM_CRASH_SEED when set (replaying a failure), else `fixed`. */
export function seedOf(fixed: number): number {
  const given = process.env.FTPSTREAM_CRASH_SEED;
  return given === undefined ? fixed : Number(given);
}

export { seededRandom };

/** What a crash sequence saw: the runs killed, and the torn files and part files found after them (summed over the kills). */
export interface CrashesSeen {
  kills: number;
  torn: number;
  parts: number;
  /** Runs after the kills that had to be run again (see crashSequence's `patient`). */
  reruns: number;
}

/**
 * One crash sequence: the target holding v1 and the source v2 (the files
 * they share of one time, LAID_OUT), then up to `kills` runs each killed at a
 * drawn point (each checked with checkAfterKill), then a run to its end
 * (exit 0, checkConverged). `outside` are trees beside the target and the
 * source that nothing may change. Returns what it saw, for the loop's
 * figures.
 */
export async function crashSequence(options: {
  seed: number;
  tap: KillTap;
  source: TreeSide;
  target: TreeSide;
  outside: TreeSide[];
  args: string[];
  kills: number;
  tornAllowed: boolean;
  /** How many commands a kill is drawn among. */
  span: number;
  what: string;
  /** Runs after the kills that fail some files (exit 3) are run again (twice at most), each given 120 s: for the loop against vsftpd. */
  patient?: boolean;
}): Promise<CrashesSeen> {
  const { seed, tap, source, target, outside, args, kills, tornAllowed, span } = options;
  const what = `${options.what} (seed ${seed})`;
  const random = seededRandom(seed);
  const { v1, v2 } = versions(random);
  await layOut(target, v1);
  await layOut(source, v2);
  const outsideBefore = await snapshot(outside);
  const sourceState = await source.read();
  const old = await target.read();
  let previous = old;
  let seen = { kills: 0, torn: 0, parts: 0, reruns: 0 };
  for (let i = 0; i < kills; i++) {
    const point = drawPoint(random, span);
    const run = await runThrough(tap, args, point);
    const label = `${what}: run ${i + 1}, killed at command ${point.nth} (${point.phase}${point.phase === "later" ? ` ${point.ms} ms` : ""})`;
    if (!run.killed) {
      expect(run.code, `${label}: ended before the kill\n${run.stderr}`).to.equal(0);
      break;
    }
    const now = await target.read();
    const torn = checkAfterKill(now, { old, source: sourceState, previous, tornAllowed }, label);
    seen = {
      ...seen,
      kills: seen.kills + 1,
      torn: seen.torn + torn.length,
      parts: seen.parts + [...now.files.keys()].filter(isPartName).length,
    };
    previous = now;
  }
  // vsftpd (lock_upload_files) keeps a killed run's STOR waiting for its data connection, and the file locked, for its
  // accept_timeout (60 s): the next run's STOR of that file times out and it fails (exit 3). The loop runs again then.
  for (let run = 1; ; run++) {
    const last = await runThrough(tap, args, undefined, options.patient ? 120_000 : 15_000);
    const shown = `${what}: run ${run} after the kills\n${last.stderr}\nits last commands:\n${last.commands.slice(-12).join("\n")}`;
    if (last.code === 0) break;
    expect(options.patient && run < 3 && last.code === 3, shown).to.equal(true);
    seen.reruns++;
  }
  checkConverged(await target.read(), sourceState, `${what}: after the last run`);
  const outsideAfter = await snapshot(outside);
  for (let i = 0; i < outside.length; i++) {
    checkConverged(outsideAfter[i], { files: outsideBefore[i].files, dirs: outsideBefore[i].dirs }, `${what}: outside the target`);
  }
  checkConverged(await source.read(), sourceState, `${what}: the source`);
  return seen;
}

const OUTSIDE = { "keep.txt": "beside the target\n", "deep/keep.bin": "x".repeat(5000) };

export interface CrashSetup {
  /** The server's control address. */
  server: { host: string; port: number; user: string; password: string };
  /** The remote tree, the remote directory beside it, by the remote path of each. */
  remote: (dir: string) => TreeSide;
  work: string;
}

function urlOf(setup: CrashSetup, tap: KillTap, dir: string): string {
  const { user, password } = setup.server;
  return `ftp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${tap.port}/${dir}`;
}

/**
 * A crash sequence (crashSequence) of `mirror --delete` between a local
 * directory below `setup.work` and the remote directory t, in `direction`,
 * uploads with or without --part-files, with a directory beside the target
 * on both sides that nothing may touch; `extra`: more arguments
 * (--parallel 3, --no-pipelining); `patient`: see crashSequence.
 */
export async function mirrorCrashes(
  setup: CrashSetup,
  direction: "download" | "upload",
  partFiles: boolean,
  seed: number,
  kills = 2,
  extra: string[] = [],
  patient = false,
): Promise<CrashesSeen> {
  const tap = await KillTap.start(setup.server);
  try {
    const local = path.join(setup.work, "tree");
    const beside = path.join(setup.work, "beside");
    const besideSide = diskSide(beside);
    for (const [file, text] of Object.entries(OUTSIDE)) await besideSide.write(file, Buffer.from(text), LAID_OUT);
    const remoteOther = setup.remote("other");
    for (const [file, text] of Object.entries(OUTSIDE)) await remoteOther.write(file, Buffer.from(text), LAID_OUT);
    const remote = setup.remote("t");
    const args =
      direction === "download"
        ? ["mirror", urlOf(setup, tap, "t"), local, "--delete", "--quiet", ...extra]
        : ["mirror", local, urlOf(setup, tap, "t"), "--delete", "--quiet", ...(partFiles ? ["--part-files"] : []), ...extra];
    const seen = await crashSequence({
      seed,
      tap,
      source: direction === "download" ? remote : diskSide(local),
      target: direction === "download" ? diskSide(local) : remote,
      outside: [besideSide, remoteOther],
      args,
      kills,
      tornAllowed: direction === "upload" && !partFiles,
      // About the commands of a whole run: a kill drawn past the end is a run to its end.
      span: direction === "download" ? 30 : 50,
      what: `${direction}${direction === "upload" && partFiles ? " --part-files" : ""}`,
      patient,
    });
    return seen;
  } finally {
    await tap.close();
  }
}
