/**
 * `node build/examples/resume.js`: a download cut off half-way and resumed
 * where it stopped, against the bundled loopback fixture server.
 *
 * 1. RETR into `big.bin.part`, cancelled with an AbortSignal once about a
 *    third has arrived (as a dropped connection or a Ctrl-C would end it).
 * 2. REST <bytes on disk> + RETR, appended to the same file: only the rest
 *    crosses the wire.
 * 3. The local size is checked against SIZE and every byte against the
 *    server's pattern, then the file is renamed into place.
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FixtureServer, patternFile, patternMismatch } from "../fixtures/server.js";
import { FTP } from "../lib/index.js";

const SIZE = Number(process.env.RESUME_MIB ?? 24) * 1024 * 1024;

async function main(): Promise<void> {
  const server = await FixtureServer.start({ files: { "/big.bin": patternFile(SIZE) } });
  const dir = await mkdtemp(join(tmpdir(), "ftpstream-resume-"));
  const part = join(dir, "big.bin.part");
  const ftp = new FTP({ timeout: 10_000 });
  try {
    await ftp.connect(server.host, server.port);
    await ftp.login("user", "pass");
    const total = await ftp.size("big.bin");
    console.log(`remote big.bin: ${total} bytes`);

    console.log("1. download, cut off after about a third");
    const cut = new AbortController();
    const first = ftp.retrbinary("RETR big.bin", { signal: cut.signal });
    // Once a third has arrived, the signal aborts the transfer (ABOR) and the pipeline.
    const cutter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (first.bytes >= SIZE / 3) cut.abort();
        callback(null, chunk);
      },
    });
    await pipeline(first, cutter, createWriteStream(part)).catch((error: unknown) => {
      if (!cut.signal.aborted) throw error;
      console.log(`   cut off: ${(error as Error).name}`);
    });
    // What reached the disk, not what arrived: the resume starts from there.
    const kept = (await stat(part)).size;
    console.log(`   on disk: ${kept} bytes`);
    console.log(`   client still usable: ${await ftp.pwd()}`);

    console.log(`2. resume: REST ${kept}, appending to the same file`);
    const reply = await ftp.retrbinary("RETR big.bin", createWriteStream(part, { flags: "a" }), { rest: kept });
    console.log(`   server said: ${reply}`);

    console.log("3. check, then rename into place");
    const data = await readFile(part);
    const sizeOk = data.length === total;
    const bytesOk = patternMismatch(data) === -1;
    console.log(`   size ${data.length} of ${total}: ${sizeOk ? "ok" : "WRONG"}; content: ${bytesOk ? "identical" : "DIFFERENT"}`);
    if (!sizeOk || !bytesOk) {
      process.exitCode = 1;
      return;
    }
    await rename(part, join(dir, "big.bin"));
    console.log(await ftp.quit());
  } finally {
    ftp.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error("resume example failed:", error);
  process.exitCode = 1;
});
