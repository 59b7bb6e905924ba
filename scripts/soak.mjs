#!/usr/bin/env node
// `npm run soak`: the long soak (spec/faults/soak.spec.ts, SOAK=long).
// `npm run soak -- --chaos`: the long chaos soak instead (spec/chaos/soak.spec.ts,
// CHAOS=long), which prints its figures and the server it ran against: vsftpd
// where it is installed (/opt/ftpstream-servers, root), else the fixture;
// CHAOS_SEED=<n> replays a run, CHAOS_SERVER=fixture forces the fixture.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const chaos = process.argv.slice(2).includes("--chaos");
const mocha = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");
const spec = chaos ? "build/spec/chaos/soak.spec.js" : "build/spec/faults/soak.spec.js";
const env = { ...process.env, ...(chaos ? { CHAOS: "long" } : { SOAK: "long" }) };
const run = spawnSync(process.execPath, [mocha, "--no-config", "--timeout", "1200000", spec], { stdio: "inherit", env });
process.exit(run.status ?? 1);
