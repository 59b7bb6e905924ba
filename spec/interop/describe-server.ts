/**
 * Mocha glue for the interop specs: one describe() per real server (and TLS
 * mode), the server started in before() and stopped in after(), even when a
 * spec fails. A server that is not installed makes its suite pending with the
 * reason in the title, or, under CI=true, a failing test: CI must never pass
 * by skipping the servers it was meant to prove us against.
 */
import { findServer, SERVER_KINDS, startServer, type RealServer, type ServerKind, type TlsMode } from "./servers.js";

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
}

export interface ServerSuite {
  kind: ServerKind;
  variant: ServerVariant;
  /** The running server; only valid inside hooks and tests. */
  server: () => RealServer;
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
          server = await startServer(kind, { tls: variant.tls });
        });
        after(async () => {
          await server?.stop();
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
