/**
 * Mocha glue for the interop specs: one describe() per real server (and TLS
 * mode). Its before() takes the server of that kind and mode kept from an
 * earlier suite, reset to the sample files (RealServer.reset), or starts
 * one: starting a daemon took about half a second, 136 times a run. The
 * servers kept are stopped after the last spec file, even when a spec fails;
 * one whose daemon is gone is started again. A suite that changes its
 * server's configuration (ServerVariant.ownServer) starts its own and stops
 * it in after(). A server that is not installed makes its suite pending with the
 * reason in the title, or, under CI=true, a failing test: CI must never pass
 * by skipping the servers it was meant to prove us against.
 */
import { findServer, onPortShortage, SERVER_KINDS, startServer, type RealServer, type ServerKind, type TlsMode } from "./servers.js";

export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

let reported = false;

/** Prints, once per run, which servers are missing and how to get them. */
export function reportMissingServers(): void {
  if (reported) return;
  reported = true;
  const missing = SERVER_KINDS.map((k) => ({ k, f: findServer(k) })).filter(({ f }) => !f.found);
  if (missing.length === 0) return;
  const lines = missing.map(({ k, f }) => `  - ${k}: ${f.why}`);
  const verdict = IN_CI ? "CI=true: their specs FAIL." : "Their interop specs are pending (skipped).";
  process.stderr.write(`\ninterop: real FTP servers not found:\n${lines.join("\n")}\n${verdict}\n\n`);
}

export interface ServerVariant {
  /** e.g. "plain", "explicit FTPS" */
  label: string;
  tls?: TlsMode;
  /** Data connection mode the suite's clients use (default passive). */
  passive?: boolean;
  /** The suite changes the server's configuration: it gets a server of its own, which no other suite is given. */
  ownServer?: boolean;
}

export interface ServerSuite {
  kind: ServerKind;
  variant: ServerVariant;
  /** The running server; only valid inside hooks and tests. */
  server: () => RealServer;
}

/** Servers kept from one suite to the next, by kind and TLS mode. */
const kept = new Map<string, Promise<RealServer>>();
/** The keys of kept servers a suite is running on now. */
const inUse = new Set<string>();
let stopsKept = false;

// Each kept server holds a port block: when none is left, the idle ones go (and start again when next wanted).
onPortShortage(async () => {
  let stopped = 0;
  for (const [key, server] of kept) {
    if (inUse.has(key)) continue;
    kept.delete(key);
    await (await server.catch(() => undefined))?.stop();
    stopped++;
  }
  return stopped;
});

const keyOf = (kind: ServerKind, tls: TlsMode | undefined): string => `${kind} ${tls ?? "plain"}`;

/** The kept server of `kind` and `tls`, reset for a new suite, or a new one if there is none or its daemon is gone. */
async function keptServer(kind: ServerKind, tls: TlsMode | undefined): Promise<RealServer> {
  const key = keyOf(kind, tls);
  inUse.add(key);
  const earlier = await kept.get(key)?.catch(() => undefined);
  if (earlier?.running()) {
    await earlier.reset();
    return earlier;
  }
  await earlier?.stop();
  const started = startServer(kind, { tls });
  kept.set(key, started);
  return started;
}

/**
 * Defines `${title} — ${kind} (${variant.label})` for each kind and each of
 * its variants. `variants` returning [] leaves a kind out.
 */
export function describeServers(
  title: string,
  variants: (kind: ServerKind) => ServerVariant[],
  body: (suite: ServerSuite) => void,
  kinds: readonly ServerKind[] = SERVER_KINDS,
): void {
  reportMissingServers();
  if (!stopsKept) {
    stopsKept = true;
    // Called while mocha loads a spec file, outside any describe(): a root hook, run after the last file.
    after(async function () {
      this.timeout(15_000);
      const servers = await Promise.all([...kept.values()].map((server) => server.catch(() => undefined)));
      kept.clear();
      for (const server of servers) await server?.stop();
    });
  }
  for (const kind of kinds) {
    for (const variant of variants(kind)) {
      const name = `${title} — ${kind} (${variant.label})`;
      const found = findServer(kind);
      if (!found.found) {
        describe(name, () => {
          if (IN_CI) {
            it(`${kind} is installed`, () => {
              throw new Error(`${kind} not found: ${found.why}`);
            });
          } else {
            // A test without a function is pending; the title carries why.
            it(`${kind} not found: ${found.why}`);
          }
        });
        continue;
      }
      describe(name, function () {
        // Real servers, real sockets: a generous ceiling per test.
        this.timeout(60_000);
        let server: RealServer | undefined;
        before(async function () {
          this.timeout(15_000);
          server = variant.ownServer ? await startServer(kind, { tls: variant.tls }) : await keptServer(kind, variant.tls);
        });
        after(async () => {
          if (variant.ownServer) await server?.stop();
          else inUse.delete(keyOf(kind, variant.tls));
          server = undefined;
        });
        body({
          kind,
          variant,
          server: () => {
            if (!server) throw new Error(`${kind} is not running`);
            return server;
          },
        });
      });
    }
  }
}
