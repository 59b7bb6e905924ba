/**
 * The runnable examples (`npm run demo` and examples/) still run and still
 * do what they print: each is started as users start it, with small sizes,
 * and must exit 0 with its own check passed.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect } from "chai";

/** Runs build/examples/<name>.js and resolves to its exit code and output. */
async function runExample(name: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const script = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

describe("examples", function () {
  this.timeout(30_000);

  it("demo: uploads gzipped CSV, downloads it back identical, lists it", async function () {
    const run = await runExample("demo", { DEMO_ROWS: "2000" });
    expect(run.err).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.out).to.include("rows: 2,000");
    expect(run.out).to.include("round trip identical (sha256)");
    expect(run.out).to.match(/file\s+\d+\s+\d{14}\s+rows\.csv\.gz/);
  });

  it("resume: a download cut off by an AbortSignal resumes with REST and ends byte for byte", async function () {
    const run = await runExample("resume", { RESUME_MIB: "3" });
    expect(run.err).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.out).to.include("cut off: AbortError");
    expect(run.out).to.match(/2\. resume: REST [1-9]\d*, appending/);
    expect(run.out).to.include(`size ${3 * 1024 * 1024} of ${3 * 1024 * 1024}: ok; content: identical`);
  });

  it("mirror: fetches the whole tree, then only what changed", async function () {
    const run = await runExample("mirror");
    expect(run.err).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.out).to.include("4 fetched, 0 unchanged");
    expect(run.out).to.include("2 fetched, 3 unchanged");
    expect(run.out).to.include("local copy matches the server");
  });
});
