/**
 * A fixture server that refuses to rename over a file that exists (RNTO
 * 553, as vsftpd and others do on some file systems), for the specs of
 * part-file uploads renamed over their target (spec/cli/part-files,
 * spec/distributed/queue-worker-rename-refused).
 */
import type { FixtureServer } from "../../fixtures/server.js";

/** RNTO onto anything there but the RNFR's own name (the RNTO ending an RNFR onto the part itself) gets 553; with `always`, every RNTO. */
export function refuseOverExisting(srv: FixtureServer, always = false): void {
  srv.handle("RNTO", (s, arg) => {
    const from = s.state.renameFrom;
    if (from !== null && (always || (s.vfs.exists(s.resolvePath(arg)) && s.resolvePath(arg) !== from))) {
      s.state.renameFrom = null;
      return s.reply(553, "Rename failed: file exists.");
    }
    return s.defaultHandler("RNTO", arg);
  });
}
