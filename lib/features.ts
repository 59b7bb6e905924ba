/**
 * The server's FEAT reply (RFC 2389), read once per login on first need and
 * kept on the session: which extensions the client may use (MLST, MFMT,
 * EPSV, REST STREAM, UTF8).
 */
import { FtpError, FtpPermError, FtpTempError } from "./errors.js";
import type { Session } from "./session.js";
import { codecFor } from "./text-codec.js";

/** Feature name (upper-cased) → its parameters as the server gave them ("" when none). */
export type Features = Map<string, string>;

/**
 * Parses a FEAT reply: each line between the first (`211-Features:`) and
 * the last (`211 End`) is a feature, its first word the name (upper-cased)
 * and the rest its parameters. RFC 2389 begins each with a space; taken
 * also are the lines proftpd before 1.3.7b sends with `MultilineRFC2228
 * on` (`211-MDTM`, the reply's code and `-` in place of the space: with
 * them read as no features, its MLST, MFMT, UTF8 and EPSV went unused) and
 * lines with no space at all, as some embedded servers send them.
 */
export function parseFeatures(reply: string): Features {
  const features: Features = new Map();
  const lines = reply.split(/\r?\n/);
  const codeDash = `${lines[0].slice(0, 3)}-`;
  for (let at = 1; at < lines.length - 1; at++) {
    const line = lines[at];
    const text = (line.startsWith(codeDash) ? line.slice(codeDash.length) : line).trim();
    if (!text) continue;
    const space = text.indexOf(" ");
    const name = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    features.set(name, space < 0 ? "" : text.slice(space + 1).trim());
  }
  return features;
}

/**
 * The session's features, sending FEAT the first time (inside a queue
 * task). A server without FEAT (500/502) has none; any reply but 2xx or
 * 5xx rejects (FtpReplyError for a 1xx or 3xx, FtpTempError for a 4xx),
 * and the next call asks again. On the first read, a
 * UTF8 server is asked for `OPTS UTF8 ON` when the client speaks utf8
 * (servers that offer it but refuse the option, as pure-ftpd and
 * pyftpdlib do, are in UTF-8 already), and a server that lists features
 * but not EPSV gets PASV from then on.
 */
export function sessionFeatures(session: Session): Promise<Features> {
  if (session.features) return Promise.resolve(session.features);
  if (!session.readingFeatures) {
    const reading = readFeatures(session);
    session.readingFeatures = reading;
    reading.then(
      (features) => {
        if (session.readingFeatures === reading) session.features = features;
      },
      // A timeout or a dropped connection is not the answer: ask again next time.
      () => {
        if (session.readingFeatures === reading) session.readingFeatures = undefined;
      },
    );
  }
  return session.readingFeatures;
}

async function readFeatures(session: Session): Promise<Features> {
  let text: string;
  try {
    // voidcmd's rule, as for every command that opens no transfer: a 1xx
    // (or 3xx) is no FEAT answer. Taken as one, it was kept as the login's
    // features (none); now it is an FtpReplyError, asked again next time,
    // and the final reply a 1xx announced is skipped (replyToLast).
    text = (await session.voidCommand("FEAT")).text;
  } catch (error) {
    if (error instanceof FtpPermError) return new Map();
    throw error;
  }
  const features = parseFeatures(text);
  if (features.has("UTF8") && codecFor(session.settings.encoding).utf8) {
    try {
      await session.command("OPTS UTF8 ON");
    } catch (error) {
      if (!(error instanceof FtpPermError || error instanceof FtpTempError)) throw error;
    }
  }
  if (features.size > 0 && !features.has("EPSV")) session.epsvRefused = true;
  return features;
}

/** The reply number of an FtpError that carries a reply (e.g. 550), else undefined. */
export function replyNumber(error: unknown): number | undefined {
  if (!(error instanceof FtpError) || !/^\d{3}/.test(error.response)) return undefined;
  return Number(error.response.slice(0, 3));
}

/** 500, 502 or 504: the server does not have the command (or that form of it). */
export function isNotImplemented(error: unknown): boolean {
  const code = replyNumber(error);
  return code === 500 || code === 502 || code === 504;
}
