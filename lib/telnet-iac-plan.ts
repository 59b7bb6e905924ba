/**
 * Whether a command carrying a path would be refused before it is sent
 * (ERR_FTP_TELNET_IAC: its bytes in the connection's encoding hold 0xFF,
 * and the `telnetIac` handling, as given or as the welcome names the
 * server, is "refuse"; see control.ts's wireForm). The tree transfers ask
 * it of each path they plan, so that a dry run refuses what the real
 * run's RETR, STOR, DELE or MKD would, instead of listing it as a
 * transfer. FTP answers it from its control connection (assertSendable),
 * so the plan's rule is the connection's own.
 */

/** The client's check (FTP has it; sync.ts's TreeClient may): internal, so keyed by a symbol. */
export const REFUSES_IAC: unique symbol = Symbol("ftpstream.refusesIac");
