/**
 * What the parent (run.ts) asks one child (worker.ts) to measure. Every
 * measurement runs in a fresh Node process so contenders never share a
 * heap, a JIT warm-up or a GC debt, and so a child's peak RSS is its own.
 */

/** Where the FTP server is and how to log in. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

export type Task =
  | { kind: "ftpstream-download" | "basicftp-download"; ftp: Endpoint; path: string; size: number; highWaterMark?: number }
  | { kind: "ftpstream-upload" | "basicftp-upload"; ftp: Endpoint; path: string; size: number; highWaterMark?: number }
  | { kind: "raw-download" | "raw-upload"; host: string; port: number; size: number }
  | { kind: "handftp-download" | "handftp-upload"; ftp: Endpoint; path: string; size: number }
  | PairedTask
  | FreshTask
  | {
      kind: "rss-download" | "rss-basicftp-download";
      ftp: Endpoint;
      path: string;
      size: number;
      bytesPerSecond: number;
      highWaterMark?: number;
    }
  | { kind: "rss-raw-download"; host: string; port: number; size: number; bytesPerSecond: number }
  | { kind: "rss-upload"; ftp: Endpoint; path: string; size: number; highWaterMark?: number }
  | { kind: "rss-baseline" | "rss-node" };

/**
 * Contenders in one process (ftplib in a peer process), taking turns of
 * `batch` items (see bench/paired.ts); `first` picks who starts.
 * - retr: download `count` files of `size` bytes from `paths`
 * - stor: upload `count` files of `size` bytes
 * - noop: `count` round trips (a contender named "... size()" sends SIZE of paths[0])
 */
export interface PairedTask {
  kind: "paired";
  work: "retr" | "stor" | "noop";
  ftp: Endpoint;
  paths: string[];
  count: number;
  size: number;
  batch: number;
  first: number;
  /** Contender names, e.g. "ftpstream", "by hand", "ftplib", "basic-ftp", "FtpPool of 4", "ftpstream, pipelined". */
  contenders: string[];
  /** vsftpd's listening process: each contender's share of the server's CPU time is measured too (bench/server-cpu.ts). */
  serverPid?: number;
  /** The contender named BASELINE (bench/paired.ts) imports its FTP from here: another build's lib/index.js (--baseline). */
  baseline?: string | undefined;
  /** Uncounted passes over the items, in the same turns, before the counted one (default 1). */
  warmPasses?: number | undefined;
}

/**
 * One contender alone in a fresh process (bench/fresh.ts, rows 14 and 15):
 * `count` files one after another from the first, files [from, count) timed.
 */
export interface FreshTask {
  kind: "fresh";
  work: "retr" | "stor";
  /** "ftpstream" (retrbinary(cmd, sink) or storbinary(cmd, buffer)), "ftpstream, callback", "by hand", "ftplib". */
  contender: string;
  ftp: Endpoint;
  paths: string[];
  count: number;
  from: number;
  size: number;
  /** An ftpstream contender imports its FTP from here instead of this build's (another build's lib/index.js). */
  lib?: string | undefined;
}

/** What a child prints (one JSON line after RESULT_PREFIX). */
export interface TaskResult {
  /** Wall time of the measured part, from connect to the last byte confirmed. */
  ms: number;
  /** Bytes moved (checked against the expected size by the child). */
  bytes: number;
  /** The child's peak resident set (VmHWM) in bytes, read at the end. */
  peakRss: number;
  /**
   * CPU time (user + system) of the child over the measured part, in ms;
   * steadier than wall time when other work shares the machine. 0 for curl.
   */
  cpuMs: number;
  /** The server's CPU time over the measured part, ms, where it is known (paired rows on vsftpd). */
  serverCpuMs?: number;
  /**
   * Paired tasks: each client's share (its batches' wall time, CPU time and
   * bytes, and the server's CPU time over those batches when it is known).
   */
  pairs?: Record<string, Pick<TaskResult, "ms" | "cpuMs" | "bytes" | "serverCpuMs">>;
  /** Fresh-process tasks: how long importing the client took (before the clock), ms. */
  loadMs?: number;
}

export const RESULT_PREFIX = "RESULT ";
