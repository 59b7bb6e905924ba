/**
 * Structured listings of a remote directory: MLSD where the server has it,
 * else LIST parsed line by line; and walk(), a depth-first tree of them.
 */
import { FtpPermError } from "./errors.js";
import { entryFromFacts, ListEntry } from "./listing.js";
import { assertSafeArgument } from "./protocol.js";

/** The two listings a client can fetch. */
export interface ListingSource {
  /** MLSD of `path` ("" = the working directory) as `[name, facts]`. */
  mlsd(path: string): AsyncIterable<[string, Record<string, string>]>;
  /** The lines of LIST `path` ("" = the working directory). */
  listLines(path: string): AsyncIterable<string>;
  /** Turns a LIST line into an entry (undefined: not an entry). */
  parseLine(line: string): ListEntry | undefined;
  /** Whether FEAT offers MLST (and so MLSD), when FEAT was read already; undefined when not known. */
  mlsdOffered(): boolean | undefined;
}

/** One entry found by walk(), with its full path. */
export interface WalkEntry {
  path: string;
  entry: ListEntry;
}

/** Options of walk(). */
export interface WalkOptions {
  /** Levels to descend: 1 lists `path` alone. Default: all. */
  maxDepth?: number;
}

export class RemoteListing {
  /** The server answered MLSD with 500/502/504: list() uses LIST. */
  private mlsdMissing = false;

  constructor(private readonly source: ListingSource) {}

  /** See FTP.list. */
  async *list(path: string): AsyncGenerator<ListEntry> {
    assertSafeArgument(path, "path");
    // Without FEAT read, MLSD is tried: a refusal costs what FEAT would.
    if (!this.mlsdMissing && this.source.mlsdOffered() !== false) {
      let yielded = false;
      try {
        for await (const [name, facts] of this.source.mlsd(path)) {
          if (facts.type === "cdir" || facts.type === "pdir" || isSelfOrParent(name)) continue;
          yielded = true;
          yield entryFromFacts(name, facts);
        }
        return;
      } catch (error) {
        // 500/502/504: the server has no MLSD; anything else is a real failure.
        const missing = error instanceof FtpPermError && [500, 502, 504].includes(error.replyCode ?? 0);
        if (yielded || !missing) throw error;
        this.mlsdMissing = true;
      }
    }
    for await (const line of this.source.listLines(path)) {
      const entry = this.source.parseLine(line);
      if (entry && !isSelfOrParent(entry.name)) yield entry;
    }
  }

  /** See FTP.walk. */
  async *walk(path: string, options: WalkOptions): AsyncGenerator<WalkEntry> {
    const maxDepth = options.maxDepth ?? Infinity;
    const pending: Array<{ dir: string; depth: number }> = [{ dir: path, depth: 1 }];
    while (pending.length > 0) {
      const { dir, depth } = pending.pop()!;
      const entries: ListEntry[] = [];
      for await (const entry of this.list(dir)) entries.push(entry);
      const below: Array<{ dir: string; depth: number }> = [];
      for (const entry of entries) {
        if (!isPathSegment(entry.name)) continue;
        const full = joinRemote(dir, entry.name);
        yield { path: full, entry };
        if (entry.type === "dir" && depth < maxDepth) below.push({ dir: full, depth: depth + 1 });
      }
      pending.push(...below.reverse());
    }
  }
}

/** `dir/name`, without doubling a trailing slash. */
export function joinRemote(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** `.` or `..`: a listing's entry for the directory itself or its parent. */
function isSelfOrParent(name: string): boolean {
  return name === "." || name === "..";
}

/** A name that stays inside its directory when joined to it. */
export function isPathSegment(name: string): boolean {
  return name !== "" && !isSelfOrParent(name) && !name.includes("/");
}
