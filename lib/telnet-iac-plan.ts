/**
 * Whether a command carrying a path would be refused before it is sent
 * (ERR_FTP_TELNET_IAC, see control.ts's wireForm): the tree transfers ask
 * it of each path they plan, so that a dry run refuses what the real
 * run's RETR, STOR, DELE or MKD would, instead of listing it as a
 * transfer. The same rule as the control connection's: the path's bytes
 * in the connection's encoding hold 0xFF, and the `telnetIac` handling,
 * as given or ("auto") as the welcome names the server, is "refuse".
 */
import { codecFor, hasEscapes, IAC, type TelnetIac, telnetIacOf } from "./text-codec.js";

/** The client's check (FTP has it; sync.ts's TreeClient may): internal, so keyed by a symbol. */
export const REFUSES_IAC: unique symbol = Symbol("ftpstream.refusesIac");

/**
 * Whether `text` cannot go in a command on a connection of `encoding`
 * whose `telnetIac` option is `telnetIac` and whose welcome was `welcome`
 * (none yet: an unknown server, as for the control connection).
 */
export function refusesIac(text: string, encoding: string, telnetIac: TelnetIac, welcome: string | undefined): boolean {
  const handling = telnetIac === "auto" ? (telnetIacOf(welcome ?? "")?.commands ?? "refuse") : telnetIac;
  if (handling !== "refuse") return false;
  const codec = codecFor(encoding);
  // UTF-8 never encodes to byte 0xFF; only an escaped byte (a name that did not decode) can be one.
  if (codec.utf8 && !hasEscapes(text)) return false;
  return codec.encode(text).indexOf(IAC) !== -1;
}
