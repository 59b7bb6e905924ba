/**
 * A fixture server turned hostile for FTPS, and a watch on what it got in
 * the clear: the cleartext-paths specs run every way the library (and the
 * CLI) opens a connection against it and check that no login and no file
 * data ever reached it unencrypted.
 */
import type { Socket } from "node:net";
import type { FixtureServer, Session } from "../../fixtures/server.js";

/** How the server misbehaves. */
export type Hostility =
  /** PROT P answered 534. */
  | "PROT refused"
  /** PBSZ answered 534. */
  | "PBSZ refused"
  /** AUTH TLS answered 234, then the server goes on in the clear (no handshake). */
  | "234 then no TLS"
  /** PROT P answered 200, then each RETR and STOR is served on a data connection in the clear. */
  | "clear data";

/** What the server got unencrypted. Each list empty: nothing went in the clear. */
export interface ClearWatch {
  /** USER, PASS, ACCT received on a control connection in the clear. */
  logins: string[];
  /** Transfer commands run without TLS on both the control and the data connection (PROT C, or no TLS). */
  transfers: string[];
  /** What the client sent on data connections the server opened in the clear ("clear data"). */
  bytes: Buffer[];
  /** Of those, how many the client did not begin with a TLS handshake record: it took them for clear ones. */
  notTls: number;
}

/** What an upload carries: found in the clear, it leaked. */
export const UPLOAD_SECRET = "upload-secret-5e1f0c\n".repeat(64);
/** What a "clear data" server sends in the clear in place of a file: taken by the client, it was accepted unprotected. */
export const CLEAR_PAYLOAD = "served-in-clear-ab71\n";

const LOGIN_VERBS = ["USER", "PASS", "ACCT"];
const TRANSFER_VERBS = ["RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD"];

/**
 * Makes `srv` hostile as `how` says on the connections `hostile` picks
 * (by their index in srv.sessions, and whether they got a REIN), and
 * watches every connection for what comes in the clear.
 */
export function makeHostile(
  srv: FixtureServer,
  how: Hostility,
  hostile: (index: number, reinitialized: boolean) => boolean,
  options: { dropFirstTransfer?: boolean } = {},
): ClearWatch {
  const watch: ClearWatch = { logins: [], transfers: [], bytes: [], notTls: 0 };
  const reinitialized = new WeakSet<Session>();
  const isHostile = (s: Session): boolean => hostile(srv.sessions.indexOf(s), reinitialized.has(s));
  srv.handle("REIN", async (s, arg) => {
    reinitialized.add(s);
    await s.defaultHandler("REIN", arg);
  });
  for (const verb of LOGIN_VERBS) {
    srv.handle(verb, async (s, arg) => {
      if (!s.state.tls) watch.logins.push(verb);
      await s.defaultHandler(verb, arg);
    });
  }
  for (const verb of TRANSFER_VERBS) {
    srv.handle(verb, async (s, arg) => {
      // The first connection drops at its first transfer: a `retry` client reconnects.
      if (options.dropFirstTransfer && srv.sessions.indexOf(s) === 0) return s.drop();
      if (how === "clear data" && isHostile(s) && (verb === "RETR" || verb === "STOR")) return serveInClear(s, verb, watch);
      if (!s.state.tls || s.state.prot !== "P") watch.transfers.push(`${verb} ${arg}`);
      await s.defaultHandler(verb, arg);
    });
  }
  srv.handle("AUTH", async (s, arg) => {
    if (how !== "234 then no TLS" || !isHostile(s)) return s.defaultHandler("AUTH", arg);
    s.reply(234, "AUTH TLS successful.");
    // No handshake: the session goes on reading lines in the clear, and says so.
    await s.sleep(50);
    s.reply(200, "Go on.");
  });
  srv.handle("PROT", async (s, arg) => {
    if (how === "PROT refused" && isHostile(s)) return s.reply(534, "Request denied for policy reasons.");
    await s.defaultHandler("PROT", arg);
  });
  srv.handle("PBSZ", async (s, arg) => {
    if (how === "PBSZ refused" && isHostile(s)) return s.reply(534, "Request denied for policy reasons.");
    await s.defaultHandler("PBSZ", arg);
  });
  return watch;
}

/** RETR or STOR on a data connection opened in the clear whatever PROT says; what the client sends on it goes to `watch.bytes`. */
async function serveInClear(s: Session, verb: string, watch: ClearWatch): Promise<void> {
  s.reply(150, "Here it comes.");
  const prot = s.state.prot;
  s.state.prot = "C";
  let raw: Socket;
  try {
    raw = await s.openData();
  } finally {
    s.state.prot = prot;
  }
  const chunks: Buffer[] = [];
  let first: () => void = () => undefined;
  // What the client sends first, or nothing for 500 ms: a client that speaks TLS has sent its ClientHello by then.
  const spoke = new Promise<void>((resolve) => {
    first = resolve;
    setTimeout(resolve, 500);
  });
  const closed = new Promise<void>((resolve) => {
    raw.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      first();
    });
    raw.on("error", () => undefined);
    raw.on("close", () => resolve());
    // openData gives it paused.
    raw.resume();
  });
  await spoke;
  // A TLS record of type 22 (handshake): the client did not take the connection for a clear one.
  if (chunks.length === 0 || chunks[0][0] !== 22) watch.notTls++;
  if (verb === "RETR") raw.end(CLEAR_PAYLOAD);
  else setTimeout(() => raw.end(), 300);
  await closed;
  watch.bytes.push(Buffer.concat(chunks));
  s.reply(226, "Transfer complete.");
}

/** Whether anything leaked: the lists of `watch`, the secret looked for in the clear bytes. */
export function leaks(watch: ClearWatch): { logins: string[]; transfers: string[]; secretInClear: boolean; notTls: number } {
  return {
    logins: watch.logins,
    transfers: watch.transfers,
    secretInClear: Buffer.concat(watch.bytes).includes("upload-secret"),
    notTls: watch.notTls,
  };
}

/** What leaks() gives when nothing leaked. */
export const NO_LEAK = { logins: [], transfers: [], secretInClear: false, notTls: 0 };
