#!/usr/bin/env node
/**
 * The `ftpstream` command: get, put, ls and cat over ftp://, ftpes:// and
 * ftps:// URLs, piping through stdin/stdout, with a progress bar on a
 * terminal. Exit status 0 only when the server confirmed the transfer.
 */
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FTP, FtpOptions } from "./client.js";
import { FtpError } from "./errors.js";
import type { TransferProgress } from "./streams.js";
import { FTP_TLS, FtpTlsOptions } from "./tls.js";
import { FtpUrl, parseFtpUrl } from "./url.js";

const USAGE = `usage: ftpstream <command> [options] ...
  get <url> [file|-]   download a file (default: its name here; - for stdout)
  put <file|-> <url>   upload a file (- for stdin)
  ls <url>             list a directory (MLSD, or LIST if the server lacks it)
  cat <url>            download a file to stdout
urls: ftp://[user[:password]@]host[:port]/path, ftpes:// (AUTH TLS), ftps:// (implicit TLS)
options:
  --active           active mode (PORT/EPRT) instead of passive
  --timeout <ms>     connect/reply/idle timeout (default 30000)
  --ca <file>        trust this CA certificate (PEM) for FTPS
  --insecure         do not verify the server's certificate
  --quiet            no progress bar
  --debug            print the control conversation (ftplib's debug level 1; passwords masked)`;

interface CliOptions {
  active: boolean;
  timeout: number | undefined;
  ca: string | undefined;
  insecure: boolean;
  quiet: boolean;
  debug: boolean;
  args: string[];
}

function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = { active: false, timeout: undefined, ca: undefined, insecure: false, quiet: false, debug: false, args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--active") options.active = true;
    else if (arg === "--insecure") options.insecure = true;
    else if (arg === "--quiet") options.quiet = true;
    else if (arg === "--debug") options.debug = true;
    else if (arg === "--timeout") options.timeout = Number(argv[++i]);
    else if (arg === "--ca") options.ca = argv[++i];
    else if (arg === "--help" || arg === "-h") throw new UsageError("");
    else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else options.args.push(arg);
  }
  if (options.timeout !== undefined && !(Number.isInteger(options.timeout) && options.timeout >= 0)) {
    throw new UsageError("--timeout takes a whole number of milliseconds");
  }
  return options;
}

class UsageError extends Error {}

async function open(url: FtpUrl, options: CliOptions): Promise<FTP> {
  const common: FtpOptions = {
    host: url.host,
    port: url.port,
    timeout: options.timeout,
    passive: !options.active,
    debugLevel: options.debug ? 1 : 0,
  };
  const login = { user: url.user ?? "anonymous", password: url.password ?? "" };
  if (url.security === "none") return FTP.create({ ...common, ...login, host: url.host });
  const settings: FtpTlsOptions = {
    ...common,
    ...login,
    implicit: url.security === "implicit",
    tls: { ...(options.ca ? { ca: readFileSync(options.ca) } : {}), rejectUnauthorized: !options.insecure },
  };
  const client = new FTP_TLS(settings);
  try {
    await client.ready;
    await client.prot_p();
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

function progressBar(label: string, quiet: boolean): (progress: TransferProgress) => void {
  if (quiet || !process.stderr.isTTY) return () => undefined;
  return (progress) => {
    const mib = (progress.bytes / 1048576).toFixed(1);
    const rate = (progress.bytesPerSecond / 1048576).toFixed(1);
    let bar = "";
    if (progress.total) {
      const share = Math.min(1, progress.bytes / progress.total);
      const width = 30;
      bar = `[${"#".repeat(Math.round(share * width)).padEnd(width)}] ${(share * 100).toFixed(0).padStart(3)}% `;
    }
    process.stderr.write(`\r${label} ${bar}${mib} MiB ${rate} MiB/s   `);
  };
}

function endBar(quiet: boolean): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write("\n");
}

async function get(url: FtpUrl, target: string | undefined, options: CliOptions, toStdout: boolean): Promise<void> {
  if (!url.path) throw new UsageError("the URL must name a file");
  const ftp = await open(url, options);
  try {
    const download = ftp.retrbinary(`RETR ${url.path}`);
    download.on("progress", progressBar(posix.basename(url.path), options.quiet || toStdout));
    if (toStdout || target === "-") {
      await pipeline(download, process.stdout, { end: false });
    } else {
      // Written beside the target and renamed only after the server's 226,
      // so a failed download never leaves a file that looks complete.
      const file = target ?? basename(url.path);
      const partial = `${file}.part`;
      try {
        await pipeline(download, createWriteStream(partial));
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    }
    endBar(options.quiet || toStdout);
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

async function put(source: string, url: FtpUrl, options: CliOptions): Promise<void> {
  if (!url.path) throw new UsageError("the URL must name the remote file");
  const ftp = await open(url, options);
  try {
    const upload = ftp.storbinary(`STOR ${url.path}`);
    upload.on("progress", progressBar(posix.basename(url.path), options.quiet));
    const input: Readable = source === "-" ? process.stdin : createReadStream(source);
    await pipeline(input, upload);
    endBar(options.quiet);
    if (!options.quiet) process.stderr.write(`${upload.response}\n`);
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

async function list(url: FtpUrl, options: CliOptions): Promise<void> {
  const ftp = await open(url, options);
  try {
    try {
      for await (const [name, facts] of ftp.mlsd(url.path)) {
        if (facts.type === "cdir" || facts.type === "pdir") continue;
        process.stdout.write(`${(facts.type ?? "?").padEnd(4)} ${(facts.size ?? "-").padStart(12)} ${facts.modify ?? ""} ${name}\n`);
      }
    } catch (error) {
      // Servers without MLSD answer 500/502; fall back to LIST.
      if (!(error instanceof FtpError) || (error.replyCode !== 500 && error.replyCode !== 502)) throw error;
      await ftp.dir(...(url.path ? [url.path] : []), (line: string) => process.stdout.write(line + "\n"));
    }
    await ftp.quit();
  } finally {
    ftp.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const options = parseArgs(argv);
  const [command, ...rest] = options.args;
  switch (command) {
    case "get":
      if (rest.length < 1 || rest.length > 2) throw new UsageError("get takes <url> [file|-]");
      return get(parseFtpUrl(rest[0]), rest[1], options, rest[1] === "-");
    case "cat":
      if (rest.length !== 1) throw new UsageError("cat takes <url>");
      return get(parseFtpUrl(rest[0]), "-", options, true);
    case "put":
      if (rest.length !== 2) throw new UsageError("put takes <file|-> <url>");
      return put(rest[0], parseFtpUrl(rest[1]), options);
    case "ls":
      if (rest.length !== 1) throw new UsageError("ls takes <url>");
      return list(parseFtpUrl(rest[0]), options);
    default:
      throw new UsageError(command ? `unknown command ${command}` : "");
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    if (error.message) process.stderr.write(`ftpstream: ${error.message}\n`);
    process.stderr.write(USAGE + "\n");
    process.exitCode = 2;
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ftpstream: ${message}\n`);
  process.exitCode = 1;
});
