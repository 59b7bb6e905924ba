/**
 * The bench's helper processes that stand in for the server's side (row 1's
 * senders, row 2's sink, the delaying proxy of rows 8, 9, 12 and 13): each
 * prints `PORT <n>` once it listens and exits when its stdin ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A running peer: where it listens, its process, and how to end it. */
export interface Peer {
  port: number;
  pid: number;
  stop: () => void;
}

const DELAY_PROXY = fileURLToPath(new URL("./delay-proxy.js", import.meta.url));

/** Spawns `command args` (`what` names it in errors) and resolves once it prints its port. */
export function startPeer(what: string, command: string, args: string[]): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    const stop = (): void => {
      child.stdin?.end();
      if (child.exitCode === null) child.kill();
    };
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      const match = /PORT (\d+)/.exec(buffered);
      if (match) resolve({ port: Number(match[1]), pid: child.pid!, stop });
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}`)));
    child.once("error", reject);
  });
}

/**
 * bench/delay-proxy.ts in a process of its own in front of `host:port`,
 * holding each chunk `ms` each way; `pin` runs it under `taskset -c <pin>`.
 */
export function startDelayProxy(host: string, port: number, ms: number, pin?: number): Promise<Peer> {
  const args = [DELAY_PROXY, host, String(port), String(ms)];
  return pin === undefined
    ? startPeer("delay proxy", process.execPath, args)
    : startPeer("delay proxy", "taskset", ["-c", String(pin), process.execPath, ...args]);
}
