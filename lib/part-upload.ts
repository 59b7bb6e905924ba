/**
 * An upload through a part name (`.name.ftpstream-part`, part-file.ts),
 * the one step every caller takes: uploadDir's `partFiles` (sync.ts), the
 * queue worker's upload jobs and `ftpstream put --part-files`. The file is
 * STORed to the part, then the part renamed over the target only while it
 * holds the bytes sent (renameOwnPart, part-rename.ts), so a failed, cut
 * or torn upload leaves the target as it was, never half there under its
 * own name.
 *
 * Some servers refuse to rename over a file that exists (RNTO answered
 * 553 or 550). Then the target is deleted and the rename tried again, but
 * only where the target is known to be a plain file: the remote listing
 * showed one, or MLST / SIZE proves one there (isPlainFile) once the
 * rename was refused. A directory, a link or anything unknown is never
 * deleted: the refusal is reported.
 *
 * The part is deleted on any failure, except when it is another run's
 * (two runs uploading one file at once: it is theirs to finish) and once
 * the target was deleted (the part is then the only copy left, and stays).
 */
import { FtpError, isRefusal } from "./errors.js";
import type { ListEntry } from "./listing.js";
import { RENAME_OWN_PART } from "./part-rename.js";
import { ignore } from "./ignore.js";

/** What an upload through a part name needs of a client (FTP has it, and sync.ts's TreeClient). */
export interface PartUploadClient {
  delete(filename: string): Promise<string>;
  [RENAME_OWN_PART](part: string, target: string, sent: number, pipelining: boolean): Promise<FtpError | undefined>;
}

/** One upload through a part name (see uploadThroughPart). */
export interface PartUpload {
  /** The file as the error messages name it (a tree's relative path, the target). */
  name: string;
  /** The part name beside the target (remotePartName). */
  part: string;
  target: string;
  /** STORs the file to `part` (checked whole, as the caller requires); resolves to the bytes sent. */
  send(): Promise<number>;
  /**
   * Whether the target is a plain file: asked only once the rename was
   * refused, and only true where that is known (a listing showed a file,
   * isPlainFile proved one). A rejection counts as false.
   */
  targetIsFile(): boolean | Promise<boolean>;
  /** SIZE and RNFR written together (see renameOwnPart). */
  pipelining: boolean;
  /** Deletes the part after a failure, never rejecting. Default: DELE, its failure ignored. */
  deletePart?(): Promise<void>;
}

/** Errors whose upload left its complete copy at the part name, the target deleted (see keptAtPart). */
const keptAtPartErrors = new WeakSet<object>();

/**
 * Whether `error`, from uploadThroughPart, says the target was deleted and
 * the whole upload stays at the part name, the only copy left: running the
 * upload again would STOR over that copy.
 */
export function keptAtPart(error: unknown): error is FtpError {
  return typeof error === "object" && error !== null && keptAtPartErrors.has(error);
}

/**
 * Sends `upload` to its part and renames the part over the target;
 * resolves to the bytes sent. Rejects with the send's error, the
 * rename's (FtpSizeMismatchError or FtpError `ERR_FTP_PART_FILE` when the
 * part is another run's: left alone), the refusal when the rename is
 * refused and the target is not known to be a plain file (or DELE of it is
 * refused too), and FtpError `ERR_FTP_PART_FILE` naming the part when the
 * rename failed again once the target was deleted (keptAtPart). The part is
 * deleted on every failure but the part of another run and those after
 * the target was deleted.
 */
export async function uploadThroughPart(client: PartUploadClient, upload: PartUpload): Promise<number> {
  const { name, part, target, pipelining } = upload;
  // Whether the part may still be deleted on a failure: not once it is the only copy, nor when it is another run's.
  let partExpendable = true;
  try {
    const bytes = await upload.send();
    // Set when the part turned out to be another run's (renameOwnPart): left alone, not renamed.
    let othersPart: FtpError | undefined;
    const rename = async (): Promise<void> => {
      othersPart = await client[RENAME_OWN_PART](part, target, bytes, pipelining);
      if (othersPart) {
        partExpendable = false;
        throw othersPart;
      }
    };
    try {
      await rename();
    } catch (error) {
      // Only a file at the target can be what stops the rename; deleting anything else would not help, nor be ours to do.
      if (!partExpendable || !isRefusal(error) || !(await known(() => upload.targetIsFile()))) throw error;
      await client.delete(target);
      partExpendable = false;
      await rename().catch((again: unknown) => {
        if (othersPart && again === othersPart) {
          throw new FtpError(
            `${JSON.stringify(name)}: the server refused to rename ${JSON.stringify(part)} over the file; once the file was deleted, ${othersPart.message}`,
            "ERR_FTP_PART_FILE",
            othersPart.response,
            { cause: othersPart },
          );
        }
        // The old copy is gone now: the new one stays at the part name, whole, rather than nothing at all.
        const kept = new FtpError(
          `${JSON.stringify(name)}: the server refused to rename ${JSON.stringify(part)} over the file, and again once the file was deleted; ` +
            `the complete upload stays at ${JSON.stringify(part)} (${again instanceof Error ? again.message : String(again)})`,
          "ERR_FTP_PART_FILE",
          "",
          { cause: again },
        );
        keptAtPartErrors.add(kept);
        throw kept;
      });
    }
    return bytes;
  } catch (error) {
    if (partExpendable) await (upload.deletePart ? upload.deletePart() : client.delete(part).then(ignore, ignore));
    throw error;
  }
}

/** `question`'s answer, false when it rejects or throws: what is not known is not a file. */
async function known(question: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return (await question()) === true;
  } catch {
    return false;
  }
}

/**
 * Whether `path` is a plain file on the server, for a caller with no
 * listing of it: FTP.stat's answer (MLST where the server has it, else
 * SIZE in binary, 213 meaning a file, else the parent's listing) says
 * "file". False for a directory, a link, what is not there or cannot be
 * told, and when stat fails.
 */
export async function isPlainFile(client: { stat(path: string): Promise<ListEntry> }, path: string): Promise<boolean> {
  try {
    return (await client.stat(path)).type === "file";
  } catch {
    return false;
  }
}
