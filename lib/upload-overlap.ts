/**
 * Resuming an upload under the `retry` option only onto bytes that are
 * ours. SIZE says how much the server holds; that says nothing of whose
 * bytes they are. A server that uploads to a temporary file and replaces
 * the target only once it is whole (pure-ftpd -0) still shows the old
 * file; a part file left by a killed run stays until data comes; another
 * writer may have replaced the file between attempts. Resumed blind, each
 * gave a file of their bytes then ours, reported good. So before REST held
 * + STOR (or APPE), the last bytes held are read back (REST + RETR on the
 * same session, as a resumed download reads its overlap again) and
 * compared with those the upload sent there: resume-overlap.ts's
 * RESUME_OVERLAP of them at most, and only those still kept.
 */
import { FtpError, isRefusal } from "./errors.js";
import { ignore } from "./ignore.js";
import type { ReplayBuffer } from "./resume.js";
import { RESUME_OVERLAP } from "./resume-overlap.js";
import type { Session } from "./session.js";
import { DataTransfer } from "./transfer.js";

/**
 * Whether the `held` bytes the server holds of the upload to `path` end
 * with ours: undefined when the last of them (up to RESUME_OVERLAP, no
 * further back than `replay` still keeps) equal what the upload sent
 * there, else what was found instead, for a message. `base` is where our
 * byte 0 lands in the file (a STOR's REST offset, an APPE's size before).
 * With none of them still kept, nothing can be compared: that is reported
 * too, never taken as a match. Called only when an attempt resumes at
 * `held` > 0; a failure to read other than a refusal (the connection, a
 * 4xx) is thrown, and the session is left in step. `track` is told the
 * read back's transfer while it runs (then undefined), for the upload's
 * own abort to abort it; an abort of it not the read back's own (that,
 * or ftp.abort()) throws ERR_FTP_ABORTED, never transient: the abort is
 * the owner's, and ends the upload.
 */
export async function heldNotOurs(
  session: Session,
  path: string,
  replay: ReplayBuffer,
  held: number,
  base: number,
  track: (transfer: DataTransfer | undefined) => void = ignore,
): Promise<string | undefined> {
  const count = Math.min(RESUME_OVERLAP, held - replay.start);
  if (count <= 0) {
    return `none of them is still at hand to compare with the server's (bytes ${base + replay.start}..${base + replay.end} are)`;
  }
  const from = held - count;
  const range = `${base + from}..${base + held}`;
  const found = await readBack(session, path, base + from, count, track);
  if (typeof found === "string") return `reading its bytes ${range} back ${found}`;
  if (found.length < count)
    return `reading its bytes ${range} back brought only ${found.length} of them (the file is shorter than SIZE said)`;
  const ours = replay.slice(from, held);
  if (found.equals(ours)) return undefined;
  let at = 0;
  while (found[at] === ours[at]) at++;
  return `its bytes ${range} are not those the upload sent there (they differ at byte ${base + from + at}): another file is there, or another writer's bytes`;
}

/**
 * Bytes `from`..`from + count` of `path` (REST, RETR in TYPE I): what came,
 * or, where the server refused (a 5xx to REST or RETR: a drop box that
 * takes files but gives none back) or sent more than `count` (REST not
 * honoured, or the file grew), what happened. More than `count` ends the
 * transfer with ABOR; a file of `from + count` bytes, which SIZE said it
 * is, needs none.
 */
async function readBack(
  session: Session,
  path: string,
  from: number,
  count: number,
  track: (transfer: DataTransfer | undefined) => void,
): Promise<Buffer | string> {
  let transfer: DataTransfer;
  try {
    transfer = await DataTransfer.open(session, { command: `RETR ${path}`, rest: from > 0 ? from : undefined, type: "I" });
  } catch (error) {
    if (!isRefusal(error)) throw error;
    // A RETR refused after its REST may leave that offset pending on the server, for the next STOR to write at.
    if (from > 0) await clearRest(session);
    return `was refused (${error.response || error.message})`;
  }
  session.activeTransfer = transfer;
  track(transfer);
  try {
    const socket = transfer.socket;
    const chunks: Buffer[] = [];
    let got = 0;
    let whole: boolean;
    try {
      whole = await session.within(
        new Promise<boolean>((resolve, reject) => {
          socket.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            got += chunk.length;
            if (got > count) resolve(false);
          });
          socket.once("end", () => resolve(true));
          // A close without an end: the server's final reply says why.
          socket.once("close", () => resolve(true));
          socket.on("error", reject);
        }),
        (ms) => `the bytes read back to check a resume did not all come within ${ms} ms`,
      );
    } catch (error) {
      const theirs = transfer.aborted;
      // The RETR's final reply is still owed: read it (ABOR) before the next command goes.
      transfer.abort().catch(ignore);
      await transfer.settledAbort();
      throw theirs ? abortedWhileReading(path) : error;
    }
    // Aborted by the owner (its close ended the wait): the bytes may be too few, or none, which is no finding of the server's.
    if (transfer.aborted) {
      await transfer.settledAbort();
      throw abortedWhileReading(path);
    }
    if (!whole) {
      transfer.abort().catch(ignore);
      await transfer.settledAbort();
      return `brought more than the ${count} bytes asked (the server did not honour REST ${from}, or the file grew)`;
    }
    try {
      await transfer.finish();
    } catch (error) {
      if (transfer.aborted) throw abortedWhileReading(path);
      if (isRefusal(error)) return `failed (${error.response || error.message})`;
      throw error;
    }
    if (transfer.aborted) throw abortedWhileReading(path);
    return Buffer.concat(chunks, got);
  } finally {
    track(undefined);
    session.activeTransfer = undefined;
  }
}

/** An abort (ftp.abort(), the upload's own) of the read back: the owner's, so never a transient failure to retry. */
function abortedWhileReading(path: string): FtpError {
  return new FtpError(`the upload to ${JSON.stringify(path)} was aborted while it read back the bytes the server holds`, "ERR_FTP_ABORTED");
}

/** REST 0, whatever the answer (a server that refused REST has nothing pending): no offset is left for the next transfer. */
async function clearRest(session: Session): Promise<void> {
  session.control.send("REST 0");
  await session.control.readReply(session.settings.timeout);
}
