/**
 * Issue 25: bullmq (and ioredis) only for the queue commands. The library
 * core's import graph (lib/index.ts and all it reaches) names no queue
 * package, statically or by import(); only lib/queue-cli.ts loads bullmq,
 * and a missing bullmq is a typed error saying what to install.
 */
import { readdirSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { FtpError } from "../../lib/index.js";
import { FtpQueueModuleError, loadBullmq, parseQueueUrl } from "../../lib/queue-cli.js";

const lib = new URL("../../../lib/", import.meta.url);

/** Every module specifier a source names: import/export from, side-effect imports, import(). */
function specifiers(source: string): string[] {
  const found = new Set<string>();
  for (const pattern of [
    /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ]) {
    for (const match of source.matchAll(pattern)) found.add(match[1]);
  }
  return [...found];
}

function modulesReached(start: string): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const next = [start];
  while (next.length > 0) {
    const name = next.pop()!;
    if (reached.has(name)) continue;
    const names = specifiers(readFileSync(new URL(name, lib), "utf8"));
    reached.set(name, names);
    for (const specifier of names) if (specifier.startsWith("./")) next.push(specifier.slice(2).replace(/\.js$/, ".ts"));
  }
  return reached;
}

describe("the queue commands' dependencies (bullmq only where used)", function () {
  it("lib/index.ts reaches no module that names bullmq or ioredis, and nothing outside node: builtins", function () {
    const reached = modulesReached("index.ts");
    expect(reached.has("queue-jobs.ts") && reached.has("queue-worker.ts") && reached.has("queue-limit.ts")).to.equal(true);
    expect(reached.has("queue-cli.ts"), "index.ts reaches queue-cli.ts").to.equal(false);
    const outside = [...reached].flatMap(([name, names]) =>
      names
        .filter((specifier) => !specifier.startsWith("./") && !specifier.startsWith("node:"))
        .map((specifier) => `${name}: ${specifier}`),
    );
    expect(outside).to.deep.equal([]);
  });

  it("only queue-cli.ts loads bullmq, with import() (never at module load), and the CLI loads queue-cli.ts with import()", function () {
    const namers = readdirSync(lib)
      .filter((file) => file.endsWith(".ts"))
      .filter((file) => specifiers(readFileSync(new URL(file, lib), "utf8")).some((s) => s === "bullmq" || s === "ioredis"));
    expect(namers).to.deep.equal(["queue-cli.ts"]);
    const source = readFileSync(new URL("queue-cli.ts", lib), "utf8");
    expect(source).to.match(/import\("bullmq"\)/);
    expect(source).not.to.match(/^import\s[^;]*from\s*"bullmq"/m);
    const cli = readFileSync(new URL("cli.ts", lib), "utf8");
    expect(cli).to.match(/await import\("\.\/queue-cli\.js"\)/);
    expect(cli).not.to.match(/^import\s[^;]*from\s*"\.\/queue-(cli|worker|limit)\.js"/m);
  });

  it("a missing bullmq is FtpQueueModuleError (ERR_FTP_QUEUE_MODULE_MISSING) saying to install it; other load errors pass through", async function () {
    const missing = Object.assign(new Error("Cannot find package 'bullmq'"), { code: "ERR_MODULE_NOT_FOUND" });
    const error = await loadBullmq(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(FtpQueueModuleError).and.instanceOf(FtpError);
    expect((error as FtpError).code).to.equal("ERR_FTP_QUEUE_MODULE_MISSING");
    expect((error as Error).message).to.match(/npm install bullmq/);
    const other = new SyntaxError("broken");
    expect(await loadBullmq(() => Promise.reject(other)).catch((e: unknown) => e)).to.equal(other);
  });

  it("reads a queue URL: redis://[user:password@]host[:port]/name, and refuses others", function () {
    expect(parseQueueUrl("redis://127.0.0.1:6390/mirror", {})).to.deep.equal({
      name: "mirror",
      connection: { host: "127.0.0.1", port: 6390, maxRetriesPerRequest: null },
    });
    expect(parseQueueUrl("rediss://:pw@h/q", {}).connection).to.include({ host: "h", port: 6379, password: "pw" });
    for (const bad of ["ftp://h/q", "redis://h", "redis://h:1/a:b", "not a url"])
      expect(() => parseQueueUrl(bad, {}), bad).to.throw(TypeError);
    // A URL that is no URL may still hold a password: it is not shown.
    expect(() => parseQueueUrl("redis://:hunter2@h:port/q", {}))
      .to.throw(TypeError)
      .with.property("message")
      .that.does.not.include("hunter2");
  });

  it("takes Redis's password from REDISCLI_AUTH for a queue URL without one, as redis-cli does; the URL's own wins", function () {
    const env = { REDISCLI_AUTH: "from-env" };
    expect(parseQueueUrl("redis://h/q", env).connection).to.include({ password: "from-env" }).and.not.have.property("username");
    expect(parseQueueUrl("redis://worker@h/q", env).connection).to.include({ username: "worker", password: "from-env" });
    expect(parseQueueUrl("redis://:in-url@h/q", env).connection).to.include({ password: "in-url" });
    expect(parseQueueUrl("redis://h/q", { REDISCLI_AUTH: "" }).connection).not.to.have.property("password");
  });
});
