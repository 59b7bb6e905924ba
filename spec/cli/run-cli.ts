/**
 * The built `ftpstream` command (build/lib/cli.js) run as its own process,
 * for the specs that test the CLI from outside: `runCli` for a run awaited
 * to its end, `startCli` for a long-lived one (queue workers) watched line
 * by line while it runs. One place spawns it, so every such spec sees the
 * same stdio, environment and kill rules.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FixtureServer, type FixtureOptions } from "../../fixtures/server.js";

/** The built CLI's entry, for a spec that must run it some other way (under `script`, for a terminal). */
export const CLI_PATH = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));

/** What a run awaited to its end gives back. */
export interface CliRun<Stdout extends Buffer | string = Buffer> {
  code: number | null;
  /** Set when the child was killed: by the spec, or by `killAfterMs`. */
  signal: NodeJS.Signals | null;
  /** Empty when `stdout: "ignore"`. */
  stdout: Stdout;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /**
   * The child's whole environment but for PATH, which is taken from this
   * process. Without it the child inherits `process.env`. A spec about
   * where a password comes from sets it, so that nothing of the shell
   * running the specs (HOME and its ~/.netrc, NETRC, FTPSTREAM_PASSWORD,
   * REDISCLI_AUTH) reaches the child.
   */
  env?: Record<string, string>;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: Buffer | string;
  /**
   * What becomes of the child's stdout: read as bytes (the default), read
   * as UTF-8 text (decoded once it has all come), or sent to /dev/null,
   * for a spec that reads none of it.
   */
  stdout?: "bytes" | "text" | "ignore";
  /**
   * Closes the reading end of stdout once this many bytes have come, as
   * `| head -c <bytes>` does: the CLI's next write to stdout fails with
   * EPIPE. What came before is kept.
   */
  closeStdoutAfter?: number;
  /**
   * A child still running this long after it started is killed (SIGKILL),
   * and the run ends with `signal` set: a spec on a CLI that never ends
   * fails on that, instead of holding mocha open. `runCli` defaults to
   * 15 s, longer than any awaited run takes; `startCli` has no limit by
   * default (its spec ends its workers itself).
   */
  killAfterMs?: number;
  /** Runs the child as this user (root ignores mode bits: a spec about a file it may not read needs another user). */
  user?: { uid: number; gid: number };
}

/** A CLI process still running, its stderr read line by line as it comes. */
export interface RunningCli {
  child: ChildProcess;
  /** Its stderr so far, line by line; once it has ended, the last line too though unterminated. */
  lines: string[];
  /** Its exit code, once it has exited and its stderr has been read to the end. */
  exit: Promise<number | null>;
  /**
   * Resolves once `test(lines)` holds (at once when it already does);
   * rejects, with the last lines of stderr, when the child ends first or
   * after `ms` (30 s by default).
   */
  waitFor(test: (lines: string[]) => boolean, ms?: number): Promise<void>;
}

const RUN_KILL_AFTER_MS = 15_000;

/** What a CLI spec's `describe` shares between its tests (useCliFixture). */
export interface CliFixture {
  /** This test's own empty temp directory. */
  dir: () => string;
  /** Starts a fixture server, closed once this test ends. */
  start: (options?: FixtureOptions) => Promise<FixtureServer>;
  /** `ftp://user:pass@host:port/<path>` on `srv`. */
  url: (srv: FixtureServer, path: string) => string;
  /** The arguments of the commands `srv` was sent as `verb <argument>`, in order. */
  sent: (srv: FixtureServer, verb: string) => string[];
  /**
   * `startCli(args)` run in `dir()` and killed after 15 s unless `options`
   * says otherwise; still running once the test ends, it is killed then.
   */
  cli: (args: string[], options?: CliOptions) => RunningCli;
}

/**
 * Registers a beforeEach that makes a temp directory named `<prefix>…`,
 * and an afterEach that kills the CLIs `cli` started and that are still
 * running, closes the servers `start` started, and removes the directory.
 */
export function useCliFixture(prefix: string): CliFixture {
  let dir: string | undefined;
  const servers: FixtureServer[] = [];
  const running: RunningCli[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const cli of running.splice(0)) if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGKILL");
    for (const srv of servers.splice(0)) await srv.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return {
    dir: () => {
      if (dir === undefined) throw new Error("useCliFixture: dir() is there only while a test runs");
      return dir;
    },
    start: async (options = {}) => {
      const srv = await FixtureServer.start(options);
      servers.push(srv);
      return srv;
    },
    url: (srv, path) => `ftp://user:pass@${srv.host}:${srv.port}/${path}`,
    sent: (srv, verb) => srv.commands.filter((line) => line.startsWith(`${verb} `)).map((line) => line.slice(verb.length + 1)),
    cli: (args, options = {}) => {
      const run = startCli(args, { cwd: dir, killAfterMs: RUN_KILL_AFTER_MS, ...options });
      running.push(run);
      return run;
    },
  };
}

/**
 * Runs `ftpstream <args>` to its end. Stdout is a Buffer, or a string
 * with `stdout: "text"`; stderr is a string.
 */
export function runCli(args: string[], options: CliOptions & { stdout: "text" }): Promise<CliRun<string>>;
export function runCli(args: string[], options?: CliOptions & { stdout?: "bytes" | "ignore" }): Promise<CliRun<Buffer>>;
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun<Buffer | string>> {
  return spawnCli(args, { killAfterMs: RUN_KILL_AFTER_MS, ...options }).ended;
}

/**
 * Starts `ftpstream <args>` and returns at once, for a spec that watches
 * what it writes to stderr while it runs, kills it, or waits for its exit.
 * Its stdout goes to /dev/null unless `options.stdout` says otherwise.
 */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const { child, lines, ended, watchers } = spawnCli(args, { stdout: "ignore", ...options });
  const exit = ended.then((run) => run.code);
  return {
    child,
    lines,
    exit,
    waitFor: (test, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out; stderr so far:\n${lines.slice(-20).join("\n")}`));
        }, ms);
        function check(): void {
          if (!test(lines)) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve();
        }
        watchers.add(check);
        // A child that ends without meeting the test fails the wait and stops its timer:
        // a loser of a race must not keep the process alive until the timer fires.
        const ends = (): void => {
          check();
          if (!watchers.has(check)) return;
          clearTimeout(timer);
          watchers.delete(check);
          reject(new Error(`exited before the wait was met; last lines:\n${lines.slice(-20).join("\n")}`));
        };
        void exit.then(ends, ends);
        check();
      }),
  };
}

interface Spawned {
  child: ChildProcess;
  lines: string[];
  ended: Promise<CliRun<Buffer | string>>;
  /** Called after each chunk of stderr, once `lines` holds it. */
  watchers: Set<() => void>;
}

function spawnCli(args: string[], options: CliOptions): Spawned {
  const { cwd, env, input, stdout = "bytes", closeStdoutAfter, killAfterMs, user } = options;
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd,
    ...user,
    env: env && { PATH: process.env.PATH ?? "", ...env },
    stdio: [input === undefined ? "ignore" : "pipe", stdout === "ignore" ? "ignore" : "pipe", "pipe"],
  });

  const out: Buffer[] = [];
  let received = 0;
  child.stdout?.on("data", (chunk: Buffer) => {
    out.push(chunk);
    received += chunk.length;
    if (closeStdoutAfter !== undefined && received >= closeStdoutAfter) child.stdout?.destroy();
  });

  let stderr = "";
  let unterminated = "";
  const lines: string[] = [];
  const watchers = new Set<() => void>();
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    const parts = (unterminated + chunk).split("\n");
    unterminated = parts.pop()!;
    lines.push(...parts);
    for (const watcher of watchers) watcher();
  });

  if (input !== undefined) child.stdin!.end(input);

  const timer =
    killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          // Said here as well as in `signal`: a spec that reads only the exit code fails on null without saying why.
          process.stderr.write(`run-cli: ftpstream ${args.join(" ")} still running after ${killAfterMs} ms: killed\n`);
          child.kill("SIGKILL");
        }, killAfterMs);

  const ended = new Promise<CliRun<Buffer | string>>((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // "close", not "exit": by then stdout and stderr have been read to their end.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (unterminated !== "") lines.push(unterminated);
      unterminated = "";
      const bytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdout === "text" ? bytes.toString("utf8") : bytes, stderr });
    });
  });
  return { child, lines, ended, watchers };
}
