/**
 * FtpOptions.timeout and connect()'s: what a timer cannot hold means no
 * timeout, and a value that is no timeout at all is refused as Node's own
 * argument checks refuse it. Node cuts a delay above 2^31 - 1 ms to 1 ms:
 * `timeout: 2 ** 31` ("a month") timed out every connect at once.
 */
import { expect } from "chai";
import { FTP } from "../../lib/index.js";
import { Harness } from "./helpers.js";

describe("the timeout option", function () {
  const harness = new Harness();
  /** The names of the process warnings emitted during the spec. */
  let warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.name);
  beforeEach(() => {
    warnings = [];
    process.on("warning", onWarning);
  });
  afterEach(async () => {
    process.removeListener("warning", onWarning);
    await harness.close();
  });

  for (const timeout of [2 ** 31, 2 ** 40, Number.MAX_VALUE, Infinity]) {
    it(`takes ${timeout} ms as no timeout: the login and a listing go through, given to the constructor or to connect(), and no timer overflows`, async function () {
      const srv = await harness.server({ files: { "/a.txt": "a\n" } });
      const given = new FTP({ timeout });
      try {
        await given.connect(srv.host, srv.port);
        await given.login("user", "pass");
        expect(await given.nlst("/")).to.deep.equal(["/a.txt"]);
      } finally {
        given.close();
      }
      const connected = new FTP();
      try {
        await connected.connect(srv.host, srv.port, { timeout });
        await connected.login("user", "pass");
        expect(await connected.pwd()).to.equal("/");
      } finally {
        connected.close();
      }
      // Emitted on the next tick of the setTimeout that overflowed.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((name) => name === "TimeoutOverflowWarning")).to.deep.equal([]);
    });
  }

  for (const [timeout, type, code] of [
    [-1, RangeError, "ERR_OUT_OF_RANGE"],
    [NaN, RangeError, "ERR_OUT_OF_RANGE"],
    ["30000", TypeError, "ERR_INVALID_ARG_TYPE"],
    [null, TypeError, "ERR_INVALID_ARG_TYPE"],
  ] as const) {
    it(`refuses ${String(timeout)} with ${type.name} (${code}), at construction and at connect(), before any connection`, async function () {
      const srv = await harness.server({});
      expect(() => new FTP({ timeout: timeout as number }))
        .to.throw(type)
        .with.property("code", code);
      const ftp = new FTP();
      try {
        const error = await ftp.connect(srv.host, srv.port, { timeout: timeout as number }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(type).and.have.property("code", code);
        expect(srv.sessions, "connections the server saw").to.have.length(0);
      } finally {
        ftp.close();
      }
    });
  }
});
