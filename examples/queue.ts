/**
 * A mirror spread over worker processes on BullMQ and Redis (issue 25),
 * with the library API: one process enqueues, any number run the jobs.
 *
 *   FTP_URL=ftp://user:pw@host/data REDIS_URL=redis://127.0.0.1:6379/mirror \
 *     node build/examples/queue.js enqueue ./data
 *   FTP_URL=ftp://user:pw@host/data REDIS_URL=redis://127.0.0.1:6379/mirror \
 *     node build/examples/queue.js work ./data
 *
 * A worker is told which server and which local directory it serves
 * (`servers`, `localRoots`, both required): jobs come from Redis, which
 * others may write, and a job naming anything else fails at once.
 *
 * bullmq is the application's dependency, not ftpstream's: ftpstream only
 * takes the Queue and runs the jobs the Worker hands it.
 */
import { Queue, Worker } from "bullmq";
import {
  ConnectionLeases,
  createTreeJobProcessor,
  enqueueTree,
  FTP,
  FtpPool,
  parseFtpUrl,
  serverUrl,
  type LeaseRedis,
  type TreeJob,
} from "../lib/index.js";

const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/mirror");
const name = redisUrl.pathname.slice(1);
const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379), maxRetriesPerRequest: null };

async function enqueue(local: string): Promise<void> {
  const server = process.env.FTP_URL ?? "ftp://127.0.0.1/";
  const queue = new Queue<TreeJob>(name, { connection });
  // The server alone, without the URL's path: FTP.connect would change into the path, and the tree's root named from
  // there again. The workers' clients start at the login directory too (a job's server has no path).
  const pool = new FtpPool({ size: 4, connect: () => FTP.connect(serverUrl(server)) });
  try {
    // Compares both trees as downloadDir does; one job per file that differs.
    const result = await enqueueTree(queue, pool, {
      direction: "download",
      server,
      remote: parseFtpUrl(server).path || ".",
      local,
    });
    console.log(`enqueued ${result.enqueued} files (${result.bytes} bytes), ${result.unchanged} unchanged`);
  } finally {
    await pool.close();
    await queue.close();
  }
}

async function work(local: string): Promise<void> {
  const server = process.env.FTP_URL ?? "ftp://127.0.0.1/";
  const queue = new Queue<TreeJob>(name, { connection });
  // At most 4 connections to each server across every worker process.
  const leases = new ConnectionLeases((await queue.client) as unknown as LeaseRedis, { limit: 4 });
  const processor = createTreeJobProcessor({
    connect: (jobServer) => FTP.connect(jobServer),
    poolSize: 4,
    leases,
    // Only jobs for this server (its path and password are not compared) and this directory.
    servers: [server],
    localRoots: [local],
  });
  const worker = new Worker<TreeJob>(name, (job) => processor.process(job), { connection, concurrency: 4 });
  worker.on("completed", (job, result: { outcome: string }) => console.log(`${result.outcome} ${job.data.path}`));
  worker.on("failed", (job, error) => console.log(`failed ${job?.data.path}: ${error.message}`));
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await worker.close();
  await processor.close();
  await leases.close();
  await queue.close();
}

const [command, local = "./data"] = process.argv.slice(2);
if (command === "enqueue") await enqueue(local);
else if (command === "work") await work(local);
else console.error("usage: queue.js enqueue <local dir> | work <local dir>");
