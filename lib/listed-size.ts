/**
 * The check a tree download makes once a file's transfer ended well (2xx):
 * the bytes received against the size the file was listed (or enqueued)
 * with. A data connection cut with a FIN, on a server whose 150 announces
 * no size (pure-ftpd, pyftpdlib), reads as a whole file; only the listing
 * says otherwise. Used by downloadDir (sync.ts) and the queue worker's
 * download jobs (queue-worker.ts).
 */
import { FtpSizeMismatchError, isRefusal } from "./errors.js";

/** What the check asks SIZE with: an FTP client. */
export interface SizeAsker {
  size(filename: string): Promise<number | null>;
}

/**
 * Resolves when `received` bytes may stand for the file `path` that was
 * listed at `listed` bytes; else rejects with FtpSizeMismatchError, and the
 * caller must not put the bytes in place. SIZE tells a cut from a file that
 * changed since the listing: the bytes stand only if SIZE now gives that
 * very count (a refused SIZE tells nothing, so the listing's count stands).
 * Nothing is asked when the counts agree or the listing gave no size.
 */
export async function checkListedSize(client: SizeAsker, path: string, listed: number | null, received: number): Promise<void> {
  if (listed === null || received === listed) return;
  // A refused SIZE (5xx) tells nothing: the count stands against the listing's.
  const now = await remoteSize(client, path);
  if (now === received) return;
  throw new FtpSizeMismatchError(
    now ?? listed,
    received,
    "",
    `${JSON.stringify(path)}: the download brought ${received} bytes, but the listing gave ${listed}` +
      (now === null ? " (and SIZE no answer)" : ` and SIZE ${now}`),
  );
}

/** The size SIZE gives for `path`, or null when the server refuses it (5xx: not there, or no SIZE). */
export async function remoteSize(client: SizeAsker, path: string): Promise<number | null> {
  try {
    return await client.size(path);
  } catch (error) {
    if (isRefusal(error)) return null;
    throw error;
  }
}
