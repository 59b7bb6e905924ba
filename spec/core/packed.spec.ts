/**
 * The package as npm publishes it: `npm pack`, the tarball installed into a
 * new project (offline: the package has no dependencies), and used there as
 * a user would: `import`, `require`, the types under `tsc`, and the
 * `ftpstream` command. Needs `npm run build` first (npm test's pretest does
 * it). package.spec.ts covers the same entry points inside this checkout;
 * this one catches what only packing shows (the `files` list, the bin, the
 * .d.ts files a consumer's compiler reads, the source maps and the lib/*.ts
 * sources they point at).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const tsc = join(root, "node_modules", ".bin", "tsc");
const nodeTypes = join(root, "node_modules", "@types");

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

describe("the packed package, installed into a new project", function () {
  // npm pack, npm install and tsc each start a process that loads npm or the
  // compiler: seconds each on a busy machine. A bound on waiting, not a timing assertion.
  this.timeout(120_000);
  let scratch: string;
  let app: string;
  let packed: string[];

  before(async function () {
    scratch = mkdtempSync(join(tmpdir(), "ftpstream-pack-"));
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: root });
    const [result] = JSON.parse(stdout) as PackResult[];
    packed = result.files.map((file) => file.path);
    app = join(scratch, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(scratch, result.filename)], { cwd: app });
  });

  after(function () {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("holds the built dist/, the lib/*.ts sources and package.json, and nothing from spec/, bench/, fixtures/ or build/", function () {
    for (const file of [
      "package.json",
      "dist/esm/index.js",
      "dist/esm/index.d.ts",
      "dist/esm/cli.js",
      "dist/ftpstream.mjs",
      "dist/cjs/index.js",
      "dist/cjs/index.d.ts",
      "dist/cjs/package.json",
      "lib/index.ts",
    ]) {
      expect(packed, file).to.include(file);
    }
    const stray = packed.filter(
      (file) =>
        !file.startsWith("dist/") &&
        !/^lib\/[\w-]+\.ts$/.test(file) &&
        !["package.json", "README.md", "CHANGELOG.md", "LICENSE"].includes(file),
    );
    expect(stray, "files outside dist/ and lib/*.ts").to.deep.equal([]);
    expect(packed.filter((file) => /(^|\/)(spec|bench|fixtures|build)\//.test(file) || file.endsWith(".spec.js"))).to.deep.equal([]);
  });

  it("has a source map for every built file, each naming sources that are in the package", function () {
    const built = packed.filter((file) => /^dist\/.*\.(js|d\.ts)$/.test(file));
    expect(built).to.have.length.above(0);
    for (const file of built) {
      // What a debugger or `node --enable-source-maps` follows: the comment at the end of the file.
      const text = readFileSync(join(app, "node_modules", "ftpstream", file), "utf8");
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      expect(url, `${file} names its source map`).to.be.a("string");
      const mapFile = posix.join(posix.dirname(file), url!);
      expect(packed, `${file}'s map`).to.include(mapFile);
      const map = JSON.parse(readFileSync(join(app, "node_modules", "ftpstream", mapFile), "utf8")) as {
        sourceRoot?: string;
        sources: string[];
      };
      expect(map.sources, `${mapFile} sources`).to.have.length(1);
      for (const source of map.sources) {
        const resolved = posix.normalize(posix.join(posix.dirname(mapFile), map.sourceRoot ?? "", source));
        expect(packed, `${mapFile} points at ${source}`).to.include(resolved);
        expect(resolved).to.match(/^lib\/[\w-]+\.ts$/);
      }
    }
  });

  it("gives stack traces that point into lib/*.ts files in the package under --enable-source-maps, from import and from require", async function () {
    const installed = join(app, "node_modules", "ftpstream");
    const scripts = {
      "stack.mjs": `import { FTP } from "ftpstream"; new FTP().sendcmd("NOOP\\r\\nQUIT").catch((e) => console.log(e.stack));`,
      "stack.cjs": `const { FTP } = require("ftpstream"); new FTP().sendcmd("NOOP\\r\\nQUIT").catch((e) => console.log(e.stack));`,
    };
    for (const [name, source] of Object.entries(scripts)) {
      writeFileSync(join(app, name), source);
      const { stdout } = await run(process.execPath, ["--enable-source-maps", join(app, name)], { cwd: app });
      // "    at assertSafeArgument (/…/node_modules/ftpstream/lib/protocol.ts:20:7)"
      const frames = [...stdout.matchAll(/node_modules\/ftpstream\/([^:)\s]+):(\d+):\d+/g)].map((m) => ({
        file: m[1],
        line: Number(m[2]),
      }));
      expect(frames, `${name}: frames inside the package\n${stdout}`).to.have.length.above(0);
      for (const frame of frames) {
        expect(frame.file, `${name}: ${stdout}`).to.match(/^lib\/[\w-]+\.ts$/);
        const lines = readFileSync(join(installed, frame.file), "utf8").split("\n");
        expect(existsSync(join(installed, frame.file)) && frame.line <= lines.length, `${frame.file}:${frame.line}`).to.equal(true);
      }
      // The innermost frame is the line of the library's source that makes the error.
      expect(readFileSync(join(installed, frames[0].file), "utf8").split("\n")[frames[0].line - 1]).to.match(/new TypeError\(/);
    }
  });

  it("loads with import, and its errors carry string codes", async function () {
    const script = join(app, "esm.mjs");
    writeFileSync(
      script,
      `import { FTP, FtpPermError, FtpError } from "ftpstream";
       const error = new FtpPermError("550 No such file.");
       console.log(JSON.stringify([typeof FTP, error instanceof FtpError, error.code, error.replyCode]));`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: app });
    expect(JSON.parse(stdout)).to.deep.equal(["function", true, "ERR_FTP_PERM", 550]);
  });

  it("loads with require, and an error from the CommonJS copy is an instance of the ESM copy's classes", async function () {
    const script = join(app, "cjs.cjs");
    writeFileSync(
      script,
      `const cjs = require("ftpstream");
       import("ftpstream").then((esm) => {
         console.log(JSON.stringify([typeof cjs.FTP, cjs.FTP === esm.FTP, new cjs.FtpTempError("421 Busy.") instanceof esm.FtpError]));
       });`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: app });
    expect(JSON.parse(stdout)).to.deep.equal(["function", false, true]);
  });

  it("has types a consumer's compiler resolves, for import and for require", async function () {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          // The consumer's usual setting, and it spares checking all of @types/node;
          // the package's types are still resolved and used (see @ts-expect-error below).
          skipLibCheck: true,
          typeRoots: [nodeTypes],
          types: ["node"],
        },
        files: ["esm.mts", "cjs.cts"],
      }),
    );
    // The @ts-expect-error lines prove the types are real: were the package
    // untyped (any), the expected errors would not happen and tsc would fail.
    writeFileSync(
      join(app, "esm.mts"),
      `import { FTP, FtpPermError, type FtpError, type DownloadStream } from "ftpstream";
       const error: FtpError = new FtpPermError("550 No such file.");
       const replyCode: number | null = error.replyCode;
       const code: string = error.code;
       const connecting: Promise<FTP> = FTP.connect("ftp://127.0.0.1/");
       const download = (ftp: FTP): DownloadStream => ftp.retrbinary("RETR a");
       // @ts-expect-error replyCode is not a string
       const wrong: string = error.replyCode;
       export { replyCode, code, connecting, download, wrong };`,
    );
    writeFileSync(
      join(app, "cjs.cts"),
      `import ftpstream = require("ftpstream");
       const ftp: ftpstream.FTP = new ftpstream.FTP();
       const pwd: Promise<string> = ftp.pwd();
       // @ts-expect-error there is no such method
       ftp.nosuchmethod();
       export = pwd;`,
    );
    await run(tsc, ["-p", "tsconfig.json"], { cwd: app });
  });

  it("installs the ftpstream command, which runs", async function () {
    const { stdout } = await run(join(app, "node_modules", ".bin", "ftpstream"), ["--help"], { cwd: app });
    expect(stdout).to.match(/^usage: ftpstream/);
  });
});
