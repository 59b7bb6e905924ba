/**
 * A CLI run as the session leader of a new pseudo-terminal (a python3 pty
 * harness), whose other end is closed on request: the kernel then sends
 * it SIGHUP, as when a terminal or an ssh session closes under it.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { once } from "node:events";
import { CLI_PATH } from "./run-cli.js";

/**
 * Runs argv[1:] in a new pty (its stdin and stdout; its stderr a pipe, so
 * that what it says after the hangup is still read), copying what it shows
 * and says to stdout; on a line on stdin closes the pty's other end, then
 * prints, on a line of its own once the child ended, how it ended:
 * `{"code": n}` or `{"signal": n}`.
 */
const HANGUP_PTY = `
import json, os, pty, select, sys
err_r, err_w = os.pipe()
pid, fd = pty.fork()
if pid == 0:
    os.dup2(err_w, 2)
    os.execv(sys.argv[1], sys.argv[1:])
os.close(err_w)
def copy(source):
    try:
        data = os.read(source, 65536)
    except OSError:
        data = b""
    sys.stdout.write(data.decode("utf8", "replace"))
    sys.stdout.flush()
    return len(data) > 0
sources = [sys.stdin, fd, err_r]
while True:
    ready, _, _ = select.select(sources, [], [])
    if fd in ready and not copy(fd):
        sources.remove(fd)
    if err_r in ready and not copy(err_r):
        break
    if sys.stdin in ready:
        sys.stdin.readline()
        sources.remove(sys.stdin)
        sources.remove(fd)
        os.close(fd)
_, status = os.waitpid(pid, 0)
print("\\n" + json.dumps({"code": os.WEXITSTATUS(status)} if os.WIFEXITED(status) else {"signal": os.WTERMSIG(status)}), flush=True)
`;

/** The CLI in a pty: what it has shown so far, and its hangup. */
export interface PtyRun {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  /** What the CLI has shown on the terminal so far. */
  shown(): string;
  /** Closes the terminal; resolves to how the CLI ended (`{ signal: 1 }`: died of the hangup). */
  hangUp(): Promise<{ code?: number; signal?: number }>;
  /** Resolves once the CLI has shown or said `text`; rejects if it ends first. */
  waitFor(text: string): Promise<void>;
  /** Kills the harness and the CLI if still running. */
  kill(): void;
}

/** Starts `ftpstream args` in a pty (see HANGUP_PTY). */
export function runInPty(args: readonly string[]): PtyRun {
  const child = spawn("python3", ["-c", HANGUP_PTY, process.execPath, CLI_PATH, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  let said = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
  const closed = once(child, "close");
  return {
    child,
    shown: () => said,
    async hangUp() {
      child.stdin.write("hang up\n");
      await closed;
      return JSON.parse(said.trimEnd().split("\n").pop() ?? "") as { code?: number; signal?: number };
    },
    waitFor(text) {
      return new Promise<void>((resolve, reject) => {
        const look = (): void => {
          if (!said.includes(text)) return;
          child.stdout.off("data", look);
          resolve();
        };
        child.stdout.on("data", look);
        look();
        void closed.then(() => reject(new Error(`ended before showing ${JSON.stringify(text)}; it showed:\n${said}`)));
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
