/**
 * The LIST that structured listings (list(), walk(), downloadDir and the
 * tree operations built on them) send where there is no MLSD: `LIST -a`,
 * because vsftpd, proftpd and pure-ftpd leave names beginning with "."
 * (`.htaccess`, `.env`) out of a plain LIST, and a tree copied or synced
 * without them is silently incomplete. All three document `-a` (as `ls`
 * does); a server that does not know it either refuses it or reads it as
 * a name, and is then asked with plain LIST.
 *
 * ftplib's own methods (dir, nlst, retrlines) send what they are given;
 * only the structured listing goes through here.
 */
import { FtpPermError, FtpTempError } from "./errors.js";

/** Sends one listing command and yields the lines of its listing (a 4xx/5xx rejects the iteration). */
export type FetchListLines = (command: string) => AsyncIterable<string>;

/**
 * What each session (one per control connection) showed of `LIST -a`: true
 * once `LIST -a <path>` answered with lines (it takes `-a`), false once it
 * refused it or read it as a name. Keyed by the session object, so what is
 * learnt lasts as long as that connection: a reconnection, perhaps to
 * another server, starts again from not knowing. A bare `LIST -a` teaches
 * only a refusal: pyftpdlib takes `LIST -a` alone but reads `LIST -a /dir`
 * as the path "-a /dir" (550).
 */
const takesAllFlag = new WeakMap<object, boolean>();

/**
 * The lines of `LIST -a path` (`path` "" lists the working directory), or
 * of plain `LIST path` where the server does not take `-a`:
 *  - a 5xx (or 450, "no such file": the server took "-a" for a name) to
 *    `LIST -a`, before any line came: plain `LIST` is sent; if it
 *    succeeds, `-a` is not tried again on this session. If it fails too,
 *    its error is the one thrown (a missing directory costs two commands).
 *  - `LIST -a` answered with no lines at all (226 on an empty listing: a
 *    server that looked for a file named "-a"), while no `LIST -a <path>`
 *    on this session has yet had lines: plain `LIST` is sent too, and if
 *    it has lines they are the listing and `-a` is not tried again on this
 *    session. Once a `LIST -a <path>` had lines, an empty one is an empty
 *    directory and is not asked again.
 * Lines are passed on as they arrive; nothing is held.
 */
export async function* listAllLines(session: object | undefined, path: string, fetch: FetchListLines): AsyncGenerator<string> {
  const plain = path ? `LIST ${path}` : "LIST";
  // No session yet: plain LIST, which fails as any command would.
  const takesAll = session === undefined ? false : takesAllFlag.get(session);
  if (takesAll === false) {
    yield* fetch(plain);
    return;
  }
  let seen = 0;
  let refused = false;
  try {
    for await (const line of fetch(path ? `LIST -a ${path}` : "LIST -a")) {
      seen++;
      yield line;
    }
  } catch (error) {
    if (seen > 0 || !refusesFlag(error)) throw error;
    refused = true;
  }
  if (seen > 0) {
    if (path) takesAllFlag.set(session!, true);
    return;
  }
  if (takesAll && !refused) return;
  let plainSeen = 0;
  for await (const line of fetch(plain)) {
    plainSeen++;
    yield line;
  }
  if (refused || plainSeen > 0) takesAllFlag.set(session!, false);
}

/** A reply to `LIST -a ...` that may mean "-a" is not understood: any 5xx, or 450 (the server looked for a file named "-a"). */
function refusesFlag(error: unknown): boolean {
  return error instanceof FtpPermError || (error instanceof FtpTempError && error.replyCode === 450);
}

/**
 * Whether `LIST path` may list something other than `path` itself, with
 * nothing to tell it from the listing asked for: inetutils and netkit ftpd
 * run LIST through `ls`, its argument split at white space and each word
 * expanded as a glob pattern. So `LIST /t/sub[1]` lists `/t/sub1`,
 * inetutils' `LIST /t/x{b,c}` lists `/t/xb`, `LIST /t/x ` (a name ending in
 * a space) lists `/t/x`, and a relative path beginning with `~` or `-` is
 * a home directory or an option. (`*` and `?` match the name itself too,
 * and a space inside splits it in two: `ls` then heads each listing with
 * its name, a line no parser reads.) MLSD takes no pattern (RFC 3659); a
 * tree transfer does not take such a LIST for a read of the directory (see
 * DirTransferOptions.delete).
 */
export function listMayNameOther(path: string): boolean {
  return /[[{]|^[~\-\s]|\s$/.test(path);
}
