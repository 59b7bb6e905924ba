/**
 * `npm run demo`: a small ETL pipeline through ftpstream against the
 * bundled loopback fixture server. Generates CSV rows, gzips them and
 * uploads with backpressure; downloads them back through gunzip and a
 * parsing transform; lists the directory with MLSD. Prints progress.
 */
import { createHash } from "node:crypto";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { FixtureServer } from "../fixtures/server.js";
import { FTP, TransferProgress } from "../lib/index.js";

const ROWS = Number(process.env.DEMO_ROWS ?? 300_000);

/** CSV text in blocks of about 64 KiB: one chunk per row would make zlib, not FTP, the bottleneck. */
function* csvRows(count: number): Generator<string> {
  const cities = ["Lisbon", "Oslo", "Quito", "Hanoi", "Perth", "Accra"];
  let block = "id,city,amount\n";
  for (let id = 1; id <= count; id++) {
    block += `${id},${cities[id % cities.length]},${((id * 7919) % 100_000) / 100}\n`;
    if (block.length >= 65536) {
      yield block;
      block = "";
    }
  }
  if (block) yield block;
}

/** One line of progress, redrawn in place on a terminal; at most one line a second otherwise. */
function progressPrinter(label: string): (progress: TransferProgress) => void {
  let lastPrinted = -Infinity;
  return (progress) => {
    const mib = (progress.bytes / 1048576).toFixed(2);
    const rate = (progress.bytesPerSecond / 1048576).toFixed(1);
    const line = `  ${label}: ${mib} MiB at ${rate} MiB/s`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}   `);
    } else if (progress.elapsedMs - lastPrinted >= 1000) {
      lastPrinted = progress.elapsedMs;
      console.log(line);
    }
  };
}

function endProgressLine(): void {
  if (process.stdout.isTTY) process.stdout.write("\n");
}

/** Sums the amount column of CSV lines and counts rows, passing the bytes through. */
class CsvTotals extends Transform {
  rows = 0;
  total = 0;
  private rest = "";

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error: null, chunk: Buffer) => void): void {
    const text = this.rest + chunk.toString("utf8");
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    for (const line of lines) this.count(line);
    callback(null, chunk);
  }

  override _flush(callback: () => void): void {
    if (this.rest) this.count(this.rest);
    callback();
  }

  private count(line: string): void {
    const amount = Number(line.split(",")[2]);
    if (Number.isNaN(amount)) return;
    this.rows++;
    this.total += amount;
  }
}

async function main(): Promise<void> {
  const server = await FixtureServer.start({ users: { etl: "s3cret" }, anonymous: false });
  console.log(`fixture FTP server listening on ${server.host}:${server.port}`);
  const ftp = new FTP({ timeout: 10_000 });
  try {
    console.log(await ftp.connect(server.host, server.port));
    console.log(await ftp.login("etl", "s3cret"));
    await ftp.mkd("/exports");
    await ftp.cwd("/exports");

    console.log(`1. upload: ${ROWS.toLocaleString()} CSV rows → gzip → STOR rows.csv.gz`);
    const sent = createHash("sha256");
    const upload = ftp.storbinary("STOR rows.csv.gz");
    upload.on("progress", progressPrinter("uploaded"));
    const hashAndPass = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(Readable.from(csvRows(ROWS)), hashAndPass, createGzip(), upload);
    endProgressLine();
    console.log(`   server said: ${upload.response}`);

    console.log("2. download: RETR rows.csv.gz → gunzip → parse and total");
    const download = ftp.retrbinary("RETR rows.csv.gz");
    download.on("progress", progressPrinter("downloaded"));
    const received = createHash("sha256");
    const totals = new CsvTotals();
    await pipeline(
      download,
      createGunzip(),
      totals,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          received.update(chunk);
          callback();
        },
      }),
    );
    endProgressLine();
    console.log(`   server said: ${download.response}`);
    console.log(`   rows: ${totals.rows.toLocaleString()}, total amount: ${totals.total.toFixed(2)}`);
    const same = sent.digest("hex") === received.digest("hex");
    console.log(`   round trip ${same ? "identical" : "DIFFERENT"} (sha256)`);

    console.log("3. list: MLSD /exports");
    for await (const [name, facts] of ftp.mlsd("/exports", ["type", "size", "modify"])) {
      console.log(`   ${(facts.type ?? "?").padEnd(5)} ${(facts.size ?? "-").padStart(10)}  ${facts.modify ?? ""}  ${name}`);
    }
    console.log(await ftp.quit());
    if (!same || totals.rows !== ROWS) process.exitCode = 1;
  } finally {
    ftp.close();
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error("demo failed:", error);
  process.exitCode = 1;
});
