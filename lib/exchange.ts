/**
 * Commands as exchanges: the lines one call writes and what it makes of
 * their replies, so that the same call can run one round trip at a time
 * (the default) or pipelined, written while earlier commands still wait
 * for their replies (`pipelining: true`). Also the rules saying which
 * commands may be pipelined, each with its reason.
 */
import type { ReplyReader } from "./control.js";
import { parse213 } from "./protocol.js";
import { commandParts } from "./security-verbs.js";
import type { PipelinedExchange, ReadOutcome } from "./queue.js";
import type { Reply } from "./reply.js";
import { refuseFailure, requireSuccess, Session } from "./session.js";

/** One command of an exchange. */
export interface Step {
  line: string;
  /** Called right after the line is written: what the command will have set, for commands written after it. */
  written?(session: Session): void;
  /**
   * Judges the step's reply, throwing to fail the exchange. One round trip
   * at a time, a throw means the later steps are never sent; pipelined, they
   * were sent already, and their replies are read before the exchange fails.
   */
  check?(reply: Reply, session: Session): void;
}

export interface Exchange<T> {
  /** The steps, decided when the exchange is written: they may depend on what earlier commands set (the TYPE). */
  steps(session: Session): Step[];
  /** The result, from the replies (one per step) once every check passed. */
  result(replies: Reply[]): T;
}

/**
 * Verbs a pipelined client still sends alone: each waits until every
 * command written before it is answered, and nothing is written after it
 * until it is answered. Calls other than sendcmd/voidcmd that need this
 * (login, rename, cwd(".."), transfers, the FTP_TLS steps) run as exclusive
 * queue tasks anyway.
 */
const HELD_VERBS: ReadonlyMap<string, string> = new Map([
  ["USER", "login: whether PASS follows depends on the reply, and commands behind a failed login would run logged out"],
  ["PASS", "login: whether ACCT follows depends on the reply; servers delay or hang up after a wrong password"],
  ["ACCT", "login: commands behind a refused ACCT would run without the account"],
  ["REIN", "resets the session: commands written behind it would run logged out"],
  ["AUTH", "the bytes after its 234 are TLS: nothing may be written until the handshake is done"],
  ["CCC", "the bytes after its 200 are clear text again: nothing may be written until TLS is shut down"],
  ["PBSZ", "FTPS data protection: the client learns how to open data connections from the reply"],
  ["PROT", "FTPS data protection: the client learns how to open data connections from the reply"],
  ["ABOR", "is about the transfer in progress, which some servers answer out of turn"],
  ["QUIT", "the server hangs up after its reply: commands written behind it would be lost"],
  // A transfer's own steps go through the transfer path; sent by hand they
  // get a 1xx, and the caller then runs the data connection and reads the
  // final reply: no command may be written behind them.
  ["RETR", "a transfer: a 1xx, then the final reply after the data"],
  ["STOR", "a transfer: a 1xx, then the final reply after the data"],
  ["STOU", "a transfer: a 1xx, then the final reply after the data"],
  ["APPE", "a transfer: a 1xx, then the final reply after the data"],
  ["LIST", "a transfer: a 1xx, then the final reply after the data"],
  ["NLST", "a transfer: a 1xx, then the final reply after the data"],
  ["MLSD", "a transfer: a 1xx, then the final reply after the data"],
  ["PASV", "prepares a data connection the caller makes from the reply"],
  ["EPSV", "prepares a data connection the caller makes from the reply"],
  ["PORT", "prepares a data connection for the caller's next transfer"],
  ["EPRT", "prepares a data connection for the caller's next transfer"],
  ["REST", "belongs to the caller's next transfer"],
]);

/**
 * Whether a command line may be pipelined (see HELD_VERBS): not one whose
 * verb, read as a server may (commandParts: after any whitespace), is
 * held, nor one whose verb is not plain, which a server may read as a held
 * one (proftpd takes `"PROT" C` for PROT C).
 */
export function mayPipeline(line: string): boolean {
  const { verb, plain } = commandParts(line);
  return plain && !HELD_VERBS.has(verb);
}

/** Runs an exchange one round trip at a time, inside an exclusive queue task: ftplib's order exactly. */
export function runExchange<T>(session: Session, exchange: Exchange<T>): Promise<T> {
  const steps = exchange.steps(session);
  // Most exchanges are one command (every sendcmd): one callback, no loop.
  if (steps.length === 1) return runStep(session, steps[0]).then((reply) => exchange.result([reply]));
  return runSteps(session, steps, exchange);
}

async function runSteps<T>(session: Session, steps: Step[], exchange: Exchange<T>): Promise<T> {
  const replies: Reply[] = [];
  for (const step of steps) replies.push(await runStep(session, step));
  return exchange.result(replies);
}

/** Sends one step's line and judges its reply (a throw fails the exchange before any later step is sent). */
function runStep(session: Session, step: Step): Promise<Reply> {
  session.control.send(step.line);
  step.written?.(session);
  return session.replyToLast().then((reply) => {
    step.check?.(reply, session);
    return session.observed(step.line, reply);
  });
}

/** Writes every line of a pipelined exchange at once; returns the steps whose replies PipelinedCall reads. */
export function writeExchange<T>(session: Session, exchange: Exchange<T>): Step[] {
  const steps = exchange.steps(session);
  for (const step of steps) {
    session.control.send(step.line);
    step.written?.(session);
  }
  return steps;
}

/**
 * A pipelined exchange as the command queue runs it: written in its turn
 * (`begin` hands it the live session), then reading one final reply per
 * step as the replies are parsed, and judging them only once all are in:
 * a step that failed must not leave the replies of the steps after it to
 * be read as the next exchange's. A 1xx to a command that is not a
 * transfer (those are never pipelined) is followed by its real answer,
 * and that, not the 1xx, is the command's reply (one round trip at a
 * time, sendcmd hands back a 1xx as ftplib does: Session.replyToLast).
 * One object per call and no promise per reply: a burst of 2,000
 * commands is 2,000 of these and their callers' promises.
 */
export class PipelinedCall<T> implements PipelinedExchange<T>, ReplyReader {
  private session: Session | undefined;
  private steps: Step[] = [];
  private readonly replies: Reply[] = [];
  private outcome: ReadOutcome<T> | undefined;

  constructor(
    private readonly exchange: Exchange<T>,
    private readonly begin: () => Session,
  ) {}

  /** Writes every line of the exchange at once. */
  write(): void {
    const session = this.begin();
    this.steps = writeExchange(session, this.exchange);
    this.session = session;
  }

  read(): Promise<T> {
    return new Promise<T>((resolve, reject) => this.readInto({ resolve, reject }));
  }

  readInto(outcome: ReadOutcome<T>): void {
    this.outcome = outcome;
    this.awaitNext();
  }

  /** ReplyReader: the next reply on the control connection is this exchange's. */
  reply(reply: Reply): void {
    if (reply.code >= 200) this.replies.push(reply);
    this.awaitNext();
  }

  /** ReplyReader: the connection failed before every reply came. */
  failed(error: Error): void {
    this.outcome!.reject(error);
  }

  private awaitNext(): void {
    if (this.replies.length === this.steps.length) {
      this.judge();
      return;
    }
    const session = this.session!;
    session.control.awaitReply(this, session.settings.timeout);
  }

  private judge(): void {
    const { steps, replies } = this;
    let result: T;
    try {
      for (let i = 0; i < steps.length; i++) steps[i].check?.(replies[i], this.session!);
      result = this.exchange.result(replies);
    } catch (error) {
      this.outcome!.reject(error);
      return;
    }
    this.outcome!.resolve(result);
  }
}

/**
 * An exchange of one command that is its own step: sendcmd and voidcmd
 * run one per call, so it is one object, with no closures.
 */
class OneCommand<T> implements Exchange<T>, Step {
  constructor(
    readonly line: string,
    readonly check: (reply: Reply) => Reply,
    private readonly pick: (reply: Reply) => T,
  ) {}

  steps(): Step[] {
    return [this];
  }

  result(replies: Reply[]): T {
    return this.pick(replies[0]);
  }
}

const replyText = (reply: Reply): string => reply.text;
const wholeReply = (reply: Reply): Reply => reply;

/** sendcmd: one line; its reply unless 4xx/5xx. */
export function commandExchange(line: string): Exchange<string> {
  return new OneCommand(line, refuseFailure, replyText);
}

/** voidcmd: one line; its reply if 2xx. */
export function voidExchange(line: string): Exchange<Reply> {
  return new OneCommand(line, requireSuccess, wholeReply);
}

/**
 * size(): `TYPE I` unless the server is known to be in it (see typeSteps;
 * servers start in ASCII, RFC 959, several refuse SIZE there, and
 * retrlines leaves TYPE A set), then `SIZE path`; the size on a 213, else
 * null. One object that is its own SIZE step, as OneCommand.
 */
class SizeExchange implements Exchange<number | null>, Step {
  readonly line: string;
  readonly check = refuseFailure;

  constructor(path: string) {
    this.line = `SIZE ${path}`;
  }

  steps(session: Session): Step[] {
    return session.control.knownType === "I" ? [this] : [...typeSteps(session, "I"), this];
  }

  result(replies: Reply[]): number | null {
    const reply = replies[replies.length - 1];
    return parse213(reply.code, reply.text);
  }
}

/** size(`path`)'s exchange (see SizeExchange). */
export function sizeExchange(path: string): Exchange<number | null> {
  return new SizeExchange(path);
}

/**
 * `TYPE type` unless the server is known to be in it once every command
 * written before has run (ftplib sends it every time; see
 * ControlConnection.knownType); for the steps of an exchange.
 */
export function typeSteps(session: Session, type: "A" | "I"): Step[] {
  if (session.control.knownType === type) return [];
  return [
    {
      line: `TYPE ${type}`,
      // Commands written behind this one find the server in `type`...
      written: (s) => (s.control.knownType = type),
      check: (reply, s) => {
        try {
          requireSuccess(reply);
        } catch (error) {
          // ...unless it was refused: then nobody knows.
          s.control.knownType = undefined;
          throw error;
        }
      },
    },
  ];
}
