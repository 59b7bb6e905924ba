/**
 * One AbortSignal given to many calls of one client at once (one
 * AbortController for a batch job): the promise forms (retrbinary's
 * callback and Writable forms, storbinary from a Buffer) put one 'abort'
 * listener on it between them, not one per call, and none once they are
 * done. Before, each call queued added its own: past ten Node warned of a
 * leak (MaxListenersExceededWarning), and the signal held a listener per
 * call still waiting. Aborting it still aborts every one of them.
 */
import { expect } from "chai";
import { getEventListeners } from "node:events";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FaultCase } from "./helpers.js";

const CALLS = 20;

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

describe("a signal shared by many calls", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("carries one abort listener while the calls wait, none once they are done", async () => {
    fc = await FaultCase.start({ files: { "/f": "12345" } });
    const ftp = fc.client();
    await ftp.ready;
    const { signal } = new AbortController();
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < CALLS; i++) {
      calls.push(ftp.retrbinary("RETR /f", () => undefined, { signal }));
      calls.push(ftp.retrbinary("RETR /f", sink(), { signal }));
      calls.push(ftp.storbinary(`STOR /u${i}`, Buffer.from("abc"), { signal }));
    }
    expect(getEventListeners(signal, "abort")).to.have.length(1);
    await Promise.all(calls);
    expect(getEventListeners(signal, "abort")).to.have.length(0);
    ftp.close();
    await fc.expectNoLeaks();
  });

  it("the stream forms too: one listener for many streams, none once they are done, and aborting destroys those still waiting", async () => {
    fc = await FaultCase.start({ files: { "/f": "12345" } });
    const ftp = fc.client();
    await ftp.ready;
    const { signal } = new AbortController();
    const done: Array<Promise<unknown>> = [];
    for (let i = 0; i < CALLS; i++) {
      done.push(pipeline(ftp.retrbinary("RETR /f", { signal }), sink()));
      done.push(pipeline(Readable.from([Buffer.from("abc")]), ftp.storbinary(`STOR /s${i}`, { signal })));
    }
    expect(getEventListeners(signal, "abort")).to.have.length(1);
    await Promise.all(done);
    expect(getEventListeners(signal, "abort")).to.have.length(0);

    const controller = new AbortController();
    const waiting = Array.from({ length: CALLS }, () => pipeline(ftp.retrbinary("RETR /f", { signal: controller.signal }), sink()));
    expect(getEventListeners(controller.signal, "abort")).to.have.length(1);
    controller.abort();
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as Error).name : "fulfilled"))).to.deep.equal(
      Array<string>(CALLS).fill("AbortError"),
    );
    expect(getEventListeners(controller.signal, "abort")).to.have.length(0);
    await ftp.voidcmd("NOOP");
    ftp.close();
    await fc.expectNoLeaks();
  });

  it("aborting it fails every call still waiting with an AbortError", async () => {
    fc = await FaultCase.start({ files: { "/f": "12345" } });
    const ftp = fc.client();
    await ftp.ready;
    const controller = new AbortController();
    const { signal } = controller;
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < CALLS; i++) {
      calls.push(ftp.retrbinary("RETR /f", () => undefined, { signal }));
      calls.push(ftp.storbinary(`STOR /u${i}`, Buffer.from("abc"), { signal }));
    }
    controller.abort();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as Error).name : "fulfilled"))).to.deep.equal(
      Array<string>(2 * CALLS).fill("AbortError"),
    );
    expect(getEventListeners(signal, "abort")).to.have.length(0);
    ftp.close();
    await fc.expectNoLeaks();
  });
});
