/**
 * Where the CLI's login comes from, in this order: the URL
 * (`ftp://user:pw@host`), a netrc file (`--netrc`, `--netrc-file`), and
 * `FTPSTREAM_PASSWORD` (only with `--env-password`). A password in the URL
 * wins, as in curl's `--netrc-optional`; a netrc entry names its host, so
 * it comes before the environment's password, which names none.
 *
 * A login that names a user (other than `anonymous` or `ftp`) and finds no
 * password is refused before connecting ({@link FtpNoPasswordError}),
 * never sent with an empty password: a queue worker whose job came without
 * its password says so instead of reading a 530.
 */
import { FtpNoPasswordError } from "./errors.js";
import { findNetrcEntry, type NetrcEntry } from "./netrc.js";
import type { FtpUrl } from "./url.js";

/** What the command line gave besides the URL. */
export interface LoginSources {
  /** The netrc file read for `--netrc` or `--netrc-file`, and its entries. */
  netrc?: { file: string; entries: readonly NetrcEntry[] };
  /** `FTPSTREAM_PASSWORD`, when `--env-password` was given. */
  envPassword?: string;
}

/** The user and password to log in with, and where the password came from (`"none"`: an anonymous login). */
export interface ResolvedLogin {
  user: string;
  password: string;
  /** The netrc entry's `account`, sent with ACCT when the server asks for one (332), as ftp(1) does. */
  account?: string;
  source: "url" | "netrc" | "env" | "none";
}

/** Users that log in without a password of their own (ftplib sends `anonymous@` for the first). */
function isAnonymous(user: string): boolean {
  return user === "anonymous" || user === "ftp";
}

/**
 * The login for `url`: its own password; else the netrc entry for its host
 * (and its user, when it names one), whose login also names the user when
 * the URL does not; else, for a named user, the environment's password.
 * No user anywhere: `anonymous`. Throws {@link FtpNoPasswordError} for a
 * named user with no password from any of them.
 */
export function resolveLogin(url: FtpUrl, sources: LoginSources): ResolvedLogin {
  if (url.password !== undefined) return { user: url.user ?? "anonymous", password: url.password, source: "url" };
  const entry = sources.netrc ? findNetrcEntry(sources.netrc.entries, url.host, url.user) : undefined;
  const user = url.user ?? entry?.login;
  if (user === undefined) return { user: "anonymous", password: "", source: "none" };
  if (entry?.password !== undefined) {
    return { user, password: entry.password, ...(entry.account === undefined ? {} : { account: entry.account }), source: "netrc" };
  }
  if (isAnonymous(user)) return { user, password: "", source: "none" };
  if (sources.envPassword !== undefined) return { user, password: sources.envPassword, source: "env" };
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  const looked = [
    "the URL has none",
    sources.netrc ? `${sources.netrc.file} has no password for it` : "no netrc file was given (--netrc, --netrc-file)",
    "--env-password was not given",
  ];
  throw new FtpNoPasswordError(
    user,
    url.host,
    url.port,
    `no password for user ${JSON.stringify(user)} on ${host}:${url.port}: ${looked.join(", ")}. ` +
      `Give it in a netrc file (--netrc reads ~/.netrc or $NETRC; --netrc-file <path>) ` +
      `or in FTPSTREAM_PASSWORD with --env-password`,
  );
}

/**
 * The server as queue jobs should name it: the URL's host, port and
 * security, the user the login resolved to (so every worker logs in as the
 * same account, or fails), and a password only when the URL itself held
 * one. A password found in a netrc file or the environment stays on this
 * machine; each worker finds its own.
 */
export function jobServer(url: FtpUrl, login: ResolvedLogin): FtpUrl {
  const user = url.user === undefined && login.source === "none" ? undefined : login.user;
  return { ...url, path: "", user, password: login.source === "url" ? login.password : undefined };
}
