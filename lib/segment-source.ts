/**
 * What a segmented download (FtpPool.downloadSegmented) knows of its
 * remote file before its segments start and after the last one ended:
 * SIZE and MDTM, written together in one round trip. Segments start at
 * different times on different connections; a file replaced between them
 * (even by one of the same size) gave a local file made of two versions,
 * reported whole. A stamp that moved fails the download instead.
 */
import { replyOrError, sendBurst } from "./command-burst.js";
import { FtpError, FtpSourceChangedError } from "./errors.js";
import { parse213 } from "./protocol.js";
import type { Reply } from "./reply.js";
import type { Session } from "./session.js";

/**
 * The FTP method that asks a file's SourceStamp as one queued task: used
 * by FtpPool.downloadSegmented, keyed by a symbol, as it is no public API.
 */
export const SOURCE_STAMP: unique symbol = Symbol("ftpstream.sourceStamp");

/** A remote file's SIZE and MDTM as the server answered them. */
export interface SourceStamp {
  /** The size from a 213, or null (a 2xx that is not one), or the FtpError of a 4xx/5xx to SIZE. */
  size: number | null | FtpError;
  /**
   * The MDTM reply's text when it was a 2xx (compared as given, to the
   * precision the server gives), or null when the server refused it (no
   * MDTM: the size alone is compared then).
   */
  modified: string | null;
}

/**
 * Sends TYPE I (unless the session is in it: several servers refuse SIZE
 * in ASCII), then `SIZE path` and `MDTM path` in one write, inside the
 * caller's queue task. A refused SIZE is its FtpError in the stamp (the
 * caller decides: before the segments it fails the call, as FTP.size()
 * rejects; after them the file changed); a refused MDTM only means there
 * is no time to compare. A lost connection rejects.
 */
export async function askStamp(session: Session, path: string): Promise<SourceStamp> {
  await session.useType("I");
  const [size, modified] = await sendBurst(session, [`SIZE ${path}`, `MDTM ${path}`]);
  const refused = replyOrError(size);
  return { size: refused instanceof FtpError ? refused : parse213(size.code, size.text), modified: mdtmText(modified) };
}

/** An MDTM reply's text when it was a 2xx; null for a refusal or anything else. */
function mdtmText(reply: Reply): string | null {
  return reply.code >= 200 && reply.code < 300 ? reply.text.trim() : null;
}

/**
 * The FtpSourceChangedError (`"changed"`) for a file whose stamp `after`
 * the segments is not the one `before` them, or undefined when it is the
 * same: the size, and the MDTM time where the server gave one before.
 * A SIZE refused after the segments (the file is gone, or cannot be asked
 * about) counts as changed: what they read cannot be shown to be one
 * version.
 */
export function stampChange(path: string, before: SourceStamp, after: SourceStamp): FtpSourceChangedError | undefined {
  const changed = (what: string): FtpSourceChangedError =>
    new FtpSourceChangedError(path, "changed", `${path} changed while its segments were downloaded: ${what}; nothing was put in place`);
  if (after.size instanceof FtpError) return changed(`SIZE after the last segment was refused (${after.size.message})`);
  if (after.size !== before.size)
    return changed(`SIZE was ${String(before.size)} before the first segment, ${String(after.size)} after the last`);
  if (before.modified !== null && after.modified !== before.modified) {
    return changed(
      `MDTM was ${JSON.stringify(before.modified)} before the first segment, ${JSON.stringify(after.modified)} after the last`,
    );
  }
  return undefined;
}
