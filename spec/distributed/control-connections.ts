/**
 * How many control connections a fixture FTP server held open at once,
 * counted by the server itself: each from its accept to its socket's
 * close. A connection cap protects the server, so this is the count it
 * is about, and it is exact: no connection is missed however short, none
 * is counted twice.
 *
 * Not open-connections.ts's sampler, for a spec whose own event loop
 * runs the server and the workers: the sampler reads and splits the
 * whole of /proc/net/tcp every 20 ms, synchronously. That file lists
 * every socket of the machine's network namespace, TIME_WAIT ones too
 * (each connection closed in the last minute), so its size is set by
 * whatever else runs, not by the spec: with 8,000 to 12,000 lines one
 * reading took 80 to 130 ms on a loaded 2-core machine, the readings ran
 * back to back, and the server, the Redis clients and the workers they
 * measured got the loop only between two of them.
 */
import type { FixtureServer } from "../../fixtures/server.js";

/** The control connections of a server, from when counting began. */
export interface ControlConnections {
  /** Open now. */
  readonly open: number;
  /** Most open at once. */
  readonly most: number;
}

/** Counts `srv`'s control connections from now on. Takes its onConnect: each client gets the welcome as before. */
export function countControlConnections(srv: FixtureServer): ControlConnections {
  let open = 0;
  let most = 0;
  // Called as the session is made, in the server's 'connection' event: its socket cannot have closed yet.
  srv.onConnect((session) => {
    open++;
    most = Math.max(most, open);
    session.socket.once("close", () => open--);
    session.sendWelcome();
  });
  return {
    get open() {
      return open;
    },
    get most() {
      return most;
    },
  };
}
