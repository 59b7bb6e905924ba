/**
 * The package as users get it: the built dist/ reached through package.json's
 * `exports` map by name (a package may import itself by its own name), once
 * as ESM and once through require(). Needs `npm run build` first (npm test's
 * pretest does it).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect } from "chai";
import type * as Lib from "../../lib/index.js";
import { useFixtures } from "./helpers.js";

const root = new URL("../../../", import.meta.url);
const packageJson = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  name: string;
  exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }>;
};
const PUBLIC_CLASSES = [
  "FTP",
  "FTP_TLS",
  "FtpError",
  "FtpReplyError",
  "FtpTempError",
  "FtpPermError",
  "FtpProtoError",
  "FtpClosedError",
  "FtpConnectionError",
  "FtpTimeoutError",
  "DownloadStream",
  "UploadStream",
];
const ERROR_CLASSES = [
  "FtpReplyError",
  "FtpTempError",
  "FtpPermError",
  "FtpProtoError",
  "FtpClosedError",
  "FtpConnectionError",
  "FtpTimeoutError",
];

type Api = typeof Lib;
/** The same module, looked up by export name. */
const byName = (api: Api): Record<string, { prototype: unknown } | undefined> => api;

// A variable specifier: the compiler must not resolve the package at build time, Node does at run time.
const packageName: string = packageJson.name;
const requireHere = createRequire(import.meta.url);

function path(relative: string): string {
  return fileURLToPath(new URL(relative, root));
}

describe("the package", function () {
  const fixtures = useFixtures();

  it("is named ftpstream and maps import and require to built files that exist, with types", function () {
    expect(packageName).to.equal("ftpstream");
    const entry = packageJson.exports["."];
    expect(entry.import.default).to.equal("./dist/esm/index.js");
    expect(entry.require.default).to.equal("./dist/cjs/index.js");
    for (const file of [entry.import.default, entry.import.types, entry.require.default, entry.require.types]) {
      expect(existsSync(path(file)), `${file} exists (run npm run build)`).to.equal(true);
    }
    // The package is "type": "module": dist/cjs needs its own marker to load as CommonJS.
    expect(JSON.parse(readFileSync(path("dist/cjs/package.json"), "utf8"))).to.deep.equal({ type: "commonjs" });
  });

  it("resolves import('ftpstream') to dist/esm/index.js and require('ftpstream') to dist/cjs/index.js", async function () {
    // One URL, one module record: the same namespace object means the name
    // resolved to that file. (import.meta.resolve would say it directly, but
    // Node 18 has it only from 18.19, behind a flag before.)
    expect(await import(packageName)).to.equal(await import(pathToFileURL(path("dist/esm/index.js")).href));
    expect(requireHere.resolve(packageName)).to.equal(path("dist/cjs/index.js"));
  });

  for (const [form, load] of [
    ["import('ftpstream')", async (): Promise<Api> => (await import(packageName)) as Api],
    ["require('ftpstream')", (): Promise<Api> => Promise.resolve(requireHere(packageName) as Api)],
  ] as const) {
    describe(form, function () {
      it("exports FTP, FTP_TLS and the error classes, each error an FtpError", async function () {
        const api = await load();
        for (const name of PUBLIC_CLASSES) expect(byName(api)[name], name).to.be.a("function");
        expect(new api.FTP_TLS()).to.be.instanceOf(api.FTP);
        for (const name of ERROR_CLASSES) expect(byName(api)[name]?.prototype, name).to.be.instanceOf(api.FtpError);
        expect(api.FtpError.prototype).to.be.instanceOf(Error);
        const perm = new api.FtpPermError("550 No such file.");
        expect(perm).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 No such file.", name: "FtpPermError" });
      });

      it("works against a server: login, a download stream, typed errors", async function () {
        const api = await load();
        const srv = await fixtures.server({ files: { "/hello.txt": "hello from the package\n" } });
        const ftp = new api.FTP({ timeout: 5000 });
        try {
          await ftp.connect(srv.host, srv.port);
          expect(await ftp.login("user", "pass")).to.equal("230 Login successful.");
          const chunks: Buffer[] = [];
          for await (const chunk of ftp.retrbinary("RETR /hello.txt")) chunks.push(chunk as Buffer);
          expect(Buffer.concat(chunks).toString()).to.equal("hello from the package\n");
          const error = await ftp.size("/missing").then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).to.be.instanceOf(api.FtpPermError);
          expect(error).to.be.instanceOf(api.FtpError);
          expect(await ftp.quit()).to.equal("221 Goodbye.");
        } finally {
          ftp.close();
        }
      });
    });
  }

  it("exports the same names from both builds", async function () {
    const esm = Object.keys((await import(packageName)) as Api)
      .filter((name) => name !== "default")
      .sort();
    const cjs = Object.keys(requireHere(packageName) as Api)
      .filter((name) => name !== "default" && name !== "__esModule")
      .sort();
    expect(cjs).to.deep.equal(esm);
  });

  it("has a bin that is one bundled file: it runs, downloads, and imports only node: builtins (bullmq when a queue command runs)", async function () {
    const bin = (JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { bin: Record<string, string> }).bin.ftpstream;
    const file = path(bin);
    const source = readFileSync(file, "utf8");
    expect(source.startsWith("#!/usr/bin/env node\n")).to.equal(true);
    const imported = [...source.matchAll(/(?:^|[\s;])(?:import|from)\s*\(?\s*["']([^"']+)["']/gm)].map((match) => match[1]);
    expect(imported.filter((name) => !name.startsWith("node:") && name !== "bullmq")).to.deep.equal([]);
    const srv = await fixtures.server({ files: { "/hello.txt": "hello\n" } });
    // Not spawnSync: the fixture answers from this process's event loop.
    const child = spawn(process.execPath, [file, "cat", `ftp://user:pass@${srv.host}:${srv.port}/hello.txt`]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const run = { status, stdout, stderr };
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("hello\n");
  });
});
