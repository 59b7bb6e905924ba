/**
 * What the FTP_TLS specs against the fixture share: one self-signed
 * certificate for the suite, fixture servers that speak TLS with it, and
 * clients that trust it. Servers and clients made here are closed after
 * each test.
 */
import { makeSelfSignedCert, TestCert } from "../../fixtures/cert.js";
import type { Socket } from "node:net";
import { FixtureServer, type FixtureOptions, type FixtureTlsOptions, type Session } from "../../fixtures/server.js";
import { FTP_TLS, type FtpTlsOptions } from "../../lib/index.js";

export interface TlsFixture {
  /** The suite's certificate (made in before()). */
  cert(): TestCert;
  /** Starts a fixture server with TLS on the certificate (`tls` adds to or overrides its settings). */
  start(options?: Omit<FixtureOptions, "tls"> & { tls?: Partial<FixtureTlsOptions> }): Promise<FixtureServer>;
  /** A client that trusts the certificate (`tls` adds to or overrides that). */
  client(options?: FtpTlsOptions): FTP_TLS;
  /** Closes `ftp` after the test: for a client made otherwise (one that does not trust the certificate). */
  track(ftp: FTP_TLS): FTP_TLS;
}

/** Registers the suite's hooks (call inside describe()) and returns its fixture. */
export function useTlsFixture(): TlsFixture {
  let cert: TestCert | undefined;
  const servers: FixtureServer[] = [];
  const clients: FTP_TLS[] = [];

  before(async () => {
    cert = await makeSelfSignedCert();
  });

  afterEach(async () => {
    for (const ftp of clients.splice(0)) ftp.close();
    for (const server of servers.splice(0)) await server.close();
  });

  const fixture: TlsFixture = {
    cert() {
      if (!cert) throw new Error("the certificate is made in before(): use it inside a test");
      return cert;
    },
    async start(options = {}) {
      const { key, cert: pem } = fixture.cert();
      const server = await FixtureServer.start({ ...options, tls: { key, cert: pem, ...options.tls } });
      servers.push(server);
      return server;
    },
    client(options = {}) {
      return fixture.track(new FTP_TLS({ ...options, tls: { ca: fixture.cert().cert, ...options.tls } }));
    },
    track(ftp) {
      clients.push(ftp);
      return ftp;
    },
  };
  return fixture;
}

/** How a promise settled: its value, or its error (the TLS specs' one way to look at a call that may fail). */
export async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/** The data connection as the server opens it, TCP only, whatever PROT says. */
export async function openClearData(s: Session): Promise<Socket> {
  const prot = s.state.prot;
  s.state.prot = "C";
  try {
    return await s.openData();
  } finally {
    s.state.prot = prot;
  }
}
