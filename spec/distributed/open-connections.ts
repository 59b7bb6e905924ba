/**
 * How many connections to a loopback server were open at once, read from
 * /proc/net/tcp (client side, state ESTABLISHED) by the queue specs.
 *
 * One reading is not a snapshot. readFileSync takes the file in several
 * read() calls (64 KiB, about 430 lines, each), and the kernel starts each
 * one again at a position it saved; connections opened or closed between
 * two calls shift that position, so a line can be listed twice (the same
 * socket two or three times in one reading, seen on Linux 6.18 while
 * workers handed connections back) or skipped, and a connection that
 * closed during the reading can be listed beside the one that replaced it.
 * Counting lines saw 7 connections where a proxy in front of the server
 * never saw more than 6 (the queue-mirror spec's one failure in CI).
 *
 * So a connection counts once (by its addresses and inode), and only when
 * two readings in a row list it: it was open from the first to the
 * second, so all such connections were open together between the two.
 * That never counts more than were open; an excess shorter than two
 * readings goes unseen (the leases' own specs drive those interleavings).
 */
import { readFileSync } from "node:fs";

/** The client sockets ESTABLISHED to `port` in one reading of /proc/net/tcp: local address, remote address and inode, each once. */
export function establishedTo(text: string, port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    // sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
    const fields = line.trim().split(/\s+/);
    if (fields[2]?.endsWith(`:${hex}`) && fields[3] === "01") found.add(`${fields[1]} ${fields[2]} ${fields[9]}`);
  }
  return found;
}

/** Readings of /proc/net/tcp in order; `most` is how many connections to `port` two readings in a row both showed, at most. */
export class OpenConnections {
  private previous: Set<string> | undefined;
  most = 0;

  constructor(private readonly port: number) {}

  read(text: string): void {
    const now = establishedTo(text, this.port);
    if (this.previous) {
      let both = 0;
      for (const id of now) if (this.previous.has(id)) both++;
      this.most = Math.max(this.most, both);
    }
    this.previous = now;
  }
}

/** Most connections to `port` open at once, read from /proc/net/tcp every 20 ms until stopped (see OpenConnections). */
export function connectionSampler(port: number): { stop(): number } {
  const open = new OpenConnections(port);
  const timer = setInterval(() => {
    let text: string;
    try {
      text = readFileSync("/proc/net/tcp", "utf8");
    } catch {
      return;
    }
    open.read(text);
  }, 20);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return open.most;
    },
  };
}
