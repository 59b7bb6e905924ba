/**
 * A small pool of logged-in clients for parallel transfers, and a
 * segmented download of one big file over several connections (each
 * segment starts with REST and is cut off with ABOR at its end).
 */
import { FileHandle, open } from "node:fs/promises";
import type { FTP } from "./client.js";
import { tagPoolClient } from "./debug.js";
import { FtpError } from "./errors.js";
import { DirTransferOptions, DirTransferResult, downloadDir, TreeWorkers, uploadDir } from "./sync.js";

export interface FtpPoolOptions {
  /** Makes one connected, logged-in client (e.g. `() => FTP.connect(url)`). */
  connect: () => Promise<FTP>;
  /** Most clients at once. Default 4. */
  size?: number;
}

export interface SegmentedDownloadOptions {
  /** Connections to use at once. Default: the pool's size. */
  segments?: number;
  /** Smallest segment worth a connection, in bytes. Default 8 MiB. */
  minSegmentSize?: number;
}

/** Pools made so far in this process; numbers their debug tags. */
let poolsMade = 0;

export class FtpPool {
  private readonly connect: () => Promise<FTP>;
  private readonly size: number;
  private readonly idle: FTP[] = [];
  private readonly all = new Set<FTP>();
  private readonly waiting: Array<(client: FTP | undefined) => void> = [];
  private opening = 0;
  /** Clients opened so far: a client's index in its debug tag (`ftp#3@pool#1[0]`). */
  private opened = 0;
  private readonly debugTag = `pool#${++poolsMade}`;
  private isClosed = false;

  constructor(options: FtpPoolOptions) {
    this.connect = options.connect;
    this.size = options.size ?? 4;
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`size must be a positive integer, got ${this.size}`);
  }

  /** The pool's size: how many clients it may hold. */
  get capacity(): number {
    return this.size;
  }

  /**
   * Runs `task` with a client of its own, then returns the client to the
   * pool. A client that ended closed (timeout, dropped connection), or was
   * found closed while idle (its `keepAlive` NOOP failed, the server hung
   * up), is dropped and a new one made instead: a dead client is never
   * handed out. Clients made with `keepAlive` keep their NOOPs going while
   * idle in the pool.
   */
  async use<T>(task: (client: FTP) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await task(client);
    } finally {
      this.release(client);
    }
  }

  /**
   * Downloads `remotePath` into the local file `localPath` over several
   * connections at once, each writing its byte range in place. Needs SIZE;
   * without REST STREAM in FEAT it downloads over one connection. Resolves
   * to the number of bytes written.
   */
  async downloadSegmented(remotePath: string, localPath: string, options: SegmentedDownloadOptions = {}): Promise<number> {
    const [size, features] = await this.use(async (client) => [await client.size(remotePath), await client.features()] as const);
    if (size === null) throw new FtpError(`the server gave no SIZE for ${remotePath}`, "ERR_FTP_NO_SIZE");
    const minimum = options.minSegmentSize ?? 8 * 1024 * 1024;
    // Segments start with REST: a server whose FEAT lists no REST STREAM gets one connection.
    const restless = features.size > 0 && features.get("REST")?.toUpperCase() !== "STREAM";
    const count = restless ? 1 : Math.max(1, Math.min(options.segments ?? this.size, Math.ceil(size / minimum)));
    const step = Math.ceil(size / count);
    const file = await open(localPath, "w");
    try {
      await file.truncate(size);
      const ranges = Array.from({ length: count }, (_, i) => ({ start: i * step, end: Math.min(size, (i + 1) * step) }));
      await Promise.all(ranges.map((range) => this.use((client) => downloadRange(client, remotePath, range, size, file))));
    } finally {
      await file.close();
    }
    return size;
  }

  /**
   * FTP.downloadDir over the pool: directories are listed and files
   * fetched on all of its connections at once. See {@link FTP.downloadDir}.
   */
  downloadDir(remote: string, local: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return downloadDir(this.treeWorkers, remote, local, options);
  }

  /**
   * FTP.uploadDir over the pool: directories are listed and files sent on
   * all of its connections at once. See {@link FTP.uploadDir}.
   */
  uploadDir(local: string, remote: string, options: DirTransferOptions = {}): Promise<DirTransferResult> {
    return uploadDir(this.treeWorkers, local, remote, options);
  }

  /**
   * Tree transfers on the pool: two files per client at once, so a client
   * given back while its last file's local steps (utimes, rename) run is
   * taken by the next file at once.
   */
  private get treeWorkers(): TreeWorkers {
    return { run: (task) => this.use(task), concurrency: 2 * this.size };
  }

  /** Quits every client; later use() rejects. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(clients.map((client) => client.quit().catch(() => client.close())));
  }

  private async acquire(): Promise<FTP> {
    if (this.isClosed) throw new FtpError("the pool is closed", "ERR_FTP_POOL_CLOSED");
    for (;;) {
      const client = this.idle.pop();
      if (!client) break;
      if (!client.closed) return client;
      // Found dead while idle (a failed keepalive NOOP, a timeout, the
      // server hung up): replaced, never handed out.
      this.all.delete(client);
      client.close();
    }
    if (this.all.size + this.opening < this.size) {
      this.opening++;
      const index = this.opened++;
      try {
        const client = await this.connect();
        tagPoolClient(client, `${this.debugTag}[${index}]`);
        this.all.add(client);
        return client;
      } finally {
        this.opening--;
      }
    }
    const client = await new Promise<FTP | undefined>((resolve) => this.waiting.push(resolve));
    if (!client) throw new FtpError("the pool is closed", "ERR_FTP_POOL_CLOSED");
    return client;
  }

  private release(client: FTP): void {
    if (client.closed) {
      this.all.delete(client);
      // A waiter gets a fresh client instead of the dead one.
      const next = this.waiting.shift();
      if (next) this.acquire().then(next, () => next(undefined));
      return;
    }
    const next = this.waiting.shift();
    if (next) next(client);
    else this.idle.push(client);
  }
}

async function downloadRange(
  client: FTP,
  remotePath: string,
  range: { start: number; end: number },
  size: number,
  file: FileHandle,
): Promise<void> {
  const stream = client.retrbinary(`RETR ${remotePath}`, { rest: range.start || undefined });
  let position = range.start;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const wanted = Math.min(chunk.length, range.end - position);
    await file.write(chunk, 0, wanted, position);
    position += wanted;
    // The server sends to the end of the file; stop (ABOR) at the range's
    // end. The last range runs to the end and gets the server's 226.
    if (position >= range.end && range.end < size) break;
  }
  if (position < range.end) {
    throw new FtpError(`segment ${range.start}-${range.end} of ${size} ended at ${position}`, "ERR_FTP_SHORT_SEGMENT");
  }
}
