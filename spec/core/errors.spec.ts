/**
 * The error classes as users meet them: `code` a stable string, `replyCode`
 * the reply's number, and `instanceof` holding across the two builds. An app
 * may load dist/esm (through `import`) and dist/cjs (through `require`) at
 * once, one per dependency; an error thrown by one copy must still match the
 * other copy's classes. Both builds are reached by the package's name, as in
 * package.spec.ts (needs `npm run build` first; npm test's pretest does it).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { expect } from "chai";
import type * as Lib from "../../lib/index.js";
import { rejectionOf, useFixtures } from "./helpers.js";

type Api = typeof Lib;
type ErrorName =
  | "FtpError"
  | "FtpReplyError"
  | "FtpTempError"
  | "FtpPermError"
  | "FtpProtoError"
  | "FtpTimeoutError"
  | "FtpConnectionError"
  | "FtpClosedError"
  | "FtpSizeMismatchError"
  | "FtpResumeError"
  | "FtpTlsTruncatedError"
  | "FtpDataCertificateError";

/** Each class, how to make one, and what it must carry. `isA`: the classes it is an instance of. */
const CLASSES: Record<ErrorName, { make: (api: Api) => Lib.FtpError; code: string; replyCode: number | null; isA: ErrorName[] }> = {
  FtpError: { make: (api) => new api.FtpError("base", "ERR_FTP_TEST"), code: "ERR_FTP_TEST", replyCode: null, isA: [] },
  FtpReplyError: { make: (api) => new api.FtpReplyError("332 Need account."), code: "ERR_FTP_REPLY", replyCode: 332, isA: ["FtpError"] },
  FtpTempError: { make: (api) => new api.FtpTempError("451 Local error."), code: "ERR_FTP_TEMP", replyCode: 451, isA: ["FtpError"] },
  FtpPermError: { make: (api) => new api.FtpPermError("550 No such file."), code: "ERR_FTP_PERM", replyCode: 550, isA: ["FtpError"] },
  FtpProtoError: {
    make: (api) => new api.FtpProtoError("not a reply", "abc Hello"),
    code: "ERR_FTP_PROTO",
    replyCode: null,
    isA: ["FtpError"],
  },
  FtpTimeoutError: { make: (api) => new api.FtpTimeoutError("timed out"), code: "ERR_FTP_TIMEOUT", replyCode: null, isA: ["FtpError"] },
  FtpConnectionError: {
    make: (api) => new api.FtpConnectionError("lost", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })),
    code: "ECONNRESET",
    replyCode: null,
    isA: ["FtpError"],
  },
  FtpClosedError: { make: (api) => new api.FtpClosedError(), code: "ERR_FTP_CLOSED", replyCode: null, isA: ["FtpError"] },
  FtpSizeMismatchError: {
    make: (api) => new api.FtpSizeMismatchError(10, 4, "226 Transfer complete."),
    code: "ERR_FTP_SIZE_MISMATCH",
    replyCode: 226,
    isA: ["FtpError"],
  },
  FtpResumeError: {
    make: (api) => new api.FtpResumeError(100, 5000, 9000, "cannot resume"),
    code: "ERR_FTP_RESUME",
    replyCode: null,
    isA: ["FtpError"],
  },
  FtpTlsTruncatedError: {
    make: (api) => new api.FtpTlsTruncatedError(),
    code: "ERR_FTP_TLS_TRUNCATED",
    replyCode: null,
    isA: ["FtpError", "FtpConnectionError"],
  },
  FtpDataCertificateError: {
    make: (api) => new api.FtpDataCertificateError("another certificate"),
    code: "ERR_FTP_DATA_CERTIFICATE",
    replyCode: null,
    isA: ["FtpError"],
  },
};
const NAMES = Object.keys(CLASSES) as ErrorName[];

// A variable specifier: the compiler must not resolve the package at build time, Node does at run time.
const packageName: string = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { name: string }).name;
const requireHere = createRequire(import.meta.url);

describe("error classes", function () {
  const fixtures = useFixtures();
  let builds: { esm: Api; cjs: Api };

  before(async function () {
    builds = { esm: (await import(packageName)) as Api, cjs: requireHere(packageName) as Api };
    expect(builds.esm.FtpError, "two distinct copies").to.not.equal(builds.cjs.FtpError);
  });

  for (const name of NAMES) {
    it(`${name}: a string code, replyCode, and instanceof its own class and ancestors in both builds, no other`, function () {
      const { make, code, replyCode, isA } = CLASSES[name];
      for (const [madeBy, maker] of Object.entries(builds)) {
        const error = make(maker);
        expect(error, `${madeBy} ${name}`).to.include({ name, code, replyCode });
        expect(error).to.be.instanceOf(Error);
        for (const [checkedBy, checker] of Object.entries(builds)) {
          for (const other of NAMES) {
            const expected = other === name || isA.includes(other);
            expect(error instanceof checker[other], `${madeBy} ${name} instanceof ${checkedBy} ${other}`).to.equal(expected);
          }
        }
      }
    });
  }

  it("does not match what is not one of its errors", function () {
    for (const api of Object.values(builds)) {
      for (const name of NAMES) {
        const cls = api[name];
        for (const value of [
          new Error("550 x"),
          new TypeError("x"),
          { code: "ERR_FTP_PERM", replyCode: 550 },
          null,
          undefined,
          550,
          "550 x",
          () => 0,
        ]) {
          expect(value instanceof cls, `${typeof value} ${JSON.stringify(value) ?? ""} instanceof ${name}`).to.equal(false);
        }
      }
    }
  });

  it("keeps the ordinary check for a subclass made outside the library", function () {
    const { esm, cjs } = builds;
    class NotFound extends esm.FtpPermError {}
    const mine = new NotFound("550 No such file.");
    expect(mine).to.be.instanceOf(NotFound);
    expect(mine).to.be.instanceOf(cjs.FtpPermError);
    expect(mine).to.be.instanceOf(cjs.FtpError);
    expect(new esm.FtpPermError("550 x")).to.not.be.instanceOf(NotFound);
    expect(new cjs.FtpPermError("550 x")).to.not.be.instanceOf(NotFound);
  });

  for (const [made, checked] of [
    ["cjs", "esm"],
    ["esm", "cjs"],
  ] as const) {
    it(`a refused REST from the ${made} build is an FtpPermError and an FtpReplyError of the ${checked} build`, async function () {
      // Server: login; TYPE I; EPSV; REST 3 -> 554 (instead of 350).
      const srv = await fixtures.server({ files: { "/f": "0123456789" } });
      srv.once("REST", (s) => s.reply(554, "REST refused."));
      const ftp = new builds[made].FTP({ timeout: 5000 });
      try {
        await ftp.connect(srv.host, srv.port);
        await ftp.login("user", "pass");
        const error = await rejectionOf(ftp.retrbinary("RETR /f", () => undefined, { rest: 3 }));
        expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 554 });
        for (const api of [builds[made], builds[checked]]) {
          expect(error).to.be.instanceOf(api.FtpPermError);
          expect(error).to.be.instanceOf(api.FtpReplyError);
          expect(error).to.be.instanceOf(api.FtpError);
          expect(error).to.not.be.instanceOf(api.FtpTempError);
        }
        expect(await ftp.pwd()).to.equal("/");
      } finally {
        ftp.close();
      }
    });
  }
});
