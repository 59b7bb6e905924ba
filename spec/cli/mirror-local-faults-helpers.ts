/**
 * Plumbing of spec/cli/mirror-local-faults: transfers the fixture server
 * holds half-way until the spec lets them go, so a spec can act on the
 * local machine (a signal, a removed directory, a second run) while a
 * file's data is flowing, and know that it is.
 */
import { once } from "node:events";
import { chownSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FixtureServer } from "../../fixtures/server.js";
import { DataConnectionError, type Session } from "../../fixtures/session.js";

/** One transfer the server holds: the file, and what lets it go on. */
export interface HeldTransfer {
  /** The command's argument (the remote path). */
  arg: string;
  /** Lets the transfer finish: the rest of the data, then 226. */
  release(): void;
}

/** Transfers held as they come, in order. */
export interface Holds {
  /** The `n`th held transfer (0 the first), once its first half has gone (RETR) or its data has all come (STOR). */
  nth(n: number): Promise<HeldTransfer>;
  /** Lets every transfer held now or later go on. */
  releaseAll(): void;
}

/** The time a held transfer waits at most for its release: longer than any spec, so it is the spec that ends it. */
const HOLD_MS = 60_000;

function holds(): Holds & { add(held: HeldTransfer): void; released: boolean } {
  const seen: HeldTransfer[] = [];
  const waiters = new Map<number, Array<(held: HeldTransfer) => void>>();
  const state = {
    released: false,
    add(held: HeldTransfer): void {
      seen.push(held);
      for (const waiter of waiters.get(seen.length - 1) ?? []) waiter(held);
      if (state.released) held.release();
    },
    nth: (n: number): Promise<HeldTransfer> =>
      n < seen.length ? Promise.resolve(seen[n]) : new Promise((resolve) => waiters.set(n, [...(waiters.get(n) ?? []), resolve])),
    releaseAll(): void {
      state.released = true;
      for (const held of seen) held.release();
    },
  };
  return state;
}

/** A promise `release` settles, or the session's end (a client killed mid-transfer), whichever comes first. */
function gate(s: Session): { opened: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { opened: Promise.race([released, s.sleep(HOLD_MS)]), release };
}

/**
 * Holds each RETR whose argument `matches`: its 150 announces the file's
 * size, the first half of the file is sent, and the rest only once the
 * spec releases it. Other RETRs are the fixture's.
 */
export function holdRetr(srv: FixtureServer, matches: (arg: string) => boolean): Holds {
  const held = holds();
  srv.handle("RETR", async (s, arg) => {
    const data = s.vfs.get(s.resolvePath(arg));
    if (!matches(arg) || !data) return s.defaultHandler("RETR", arg);
    s.takeRest();
    const { opened, release } = gate(s);
    const half = Math.floor(data.length / 2);
    const body = Readable.from(
      (async function* () {
        yield data.subarray(0, half);
        held.add({ arg, release });
        await opened;
        yield data.subarray(half);
      })(),
    );
    s.reply(150, `Opening BINARY mode data connection for ${arg} (${data.length} bytes).`);
    await s.sendData(body);
    s.reply(226, "Transfer complete.");
  });
  return held;
}

/**
 * Holds each STOR whose argument `matches` once its data has all come:
 * the file is written to the server's tree and answered 226 only once the
 * spec releases it. Other STORs are the fixture's.
 */
export function holdStor(srv: FixtureServer, matches: (arg: string) => boolean): Holds {
  const held = holds();
  srv.handle("STOR", async (s, arg) => {
    if (!matches(arg)) return s.defaultHandler("STOR", arg);
    const { opened, release } = gate(s);
    s.reply(150, "Ok to send data.");
    const data = await s.receiveAll();
    held.add({ arg, release });
    await opened;
    s.vfs.set(s.resolvePath(arg), data);
    s.reply(226, "Transfer complete.");
  });
  return held;
}

/**
 * Holds each STOR whose argument `matches` once its first bytes came,
 * reading no more (the client's writes wait) until the spec releases it or
 * the client closes the data connection (ABOR, a dropped connection). As a
 * real server, it keeps what arrived under the STOR's name, then answers
 * 226 after a whole upload, 426 after a cut one. Other STORs are the fixture's.
 */
export function holdStorMidway(srv: FixtureServer, matches: (arg: string) => boolean): Holds {
  const held = holds();
  srv.handle("STOR", async (s, arg) => {
    if (!matches(arg)) return s.defaultHandler("STOR", arg);
    const { opened, release } = gate(s);
    s.reply(150, "Ok to send data.");
    const sock = await s.openData();
    const closed = once(sock, "close");
    const chunks: Buffer[] = [];
    let cut = false;
    try {
      for await (const chunk of sock) {
        chunks.push(chunk as Buffer);
        if (chunks.length > 1) continue;
        held.add({ arg, release });
        await Promise.race([opened, closed]);
      }
    } catch {
      cut = true;
    }
    s.vfs.set(s.resolvePath(arg), Buffer.concat(chunks));
    if (cut || s.abortRequested || s.closed) throw new DataConnectionError("Transfer aborted.", false);
    await s.closeData();
    s.reply(226, "Transfer complete.");
  });
  return held;
}

/** Every entry below `root` (paths, sorted), part files included: what a run left on the disk. */
export function entriesBelow(root: string, below = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, below)).sort()) {
    const path = below ? `${below}/${name}` : name;
    out.push(path);
    if (lstatSync(join(root, path)).isDirectory()) out.push(...entriesBelow(root, path));
  }
  return out;
}

/** The uid and gid of `nobody`, which the CLI runs as where a spec needs mode bits to count (root ignores them). */
export const NOBODY = { uid: 65534, gid: 65534 };

/** Gives `root` and everything below it to `nobody`. */
export function giveToNobody(root: string): void {
  chownSync(root, NOBODY.uid, NOBODY.gid);
  for (const path of entriesBelow(root)) chownSync(join(root, path), NOBODY.uid, NOBODY.gid);
}

/**
 * Holds the next `verb` (its first, then each one after a release) before
 * the fixture runs it: the spec changes the local disk meanwhile.
 */
export function holdCommand(srv: FixtureServer, verb: string): Holds {
  const held = holds();
  srv.handle(verb, async (s, arg) => {
    const { opened, release } = gate(s);
    held.add({ arg, release });
    await opened;
    await s.defaultHandler(verb, arg);
  });
  return held;
}
