/**
 * What one logged-in connection shares between the client and its transfer
 * streams: the control connection and the settings a transfer needs. Also
 * ftplib's getresp/sendcmd/voidcmd rules, in one place.
 */
import type * as tls from "node:tls";
import type { CreateConnection } from "./connect.js";
import { ControlConnection } from "./control.js";
import { errorForReply, FtpReplyError, FtpTimeoutError } from "./errors.js";
import type { Reply } from "./reply.js";

export interface SessionSettings {
  /** Milliseconds for connects, each reply and data inactivity; 0 = wait forever. */
  timeout: number;
  passive: boolean;
  trustPasvHost: boolean;
  useEpsv: boolean;
  sourceHost: string | undefined;
  /** `utf8`, a Node Buffer encoding or a WHATWG label (see text-codec.ts). */
  encoding: string;
  maxLine: number;
  /** TLS options for data connections while PROT P is in force; undefined = clear data. */
  dataTls: tls.ConnectionOptions | undefined;
  /** Makes control and data sockets instead of net.connect (a proxy); undefined = net.connect. */
  createConnection: CreateConnection | undefined;
  /** highWaterMark for transfer streams and data sockets; undefined = Node's default. */
  highWaterMark: number | undefined;
  /** Under the `retry` option: a transfer hands a transient failure back to the retry loop to resume, instead of failing its stream. */
  resume: boolean;
  /** The `pipelining` option: a passive transfer may write EPSV and its command together (see DataTransfer.open). */
  pipelining: boolean;
  /** The `activeAddress` option: announced in PORT/EPRT instead of the control connection's local address. */
  activeAddress: string | undefined;
  /** The `activePortRange` option: active data connections listen on a port of this range (ends included). */
  activePortRange: readonly [number, number] | undefined;
}

/** Something that can be told to abandon its transfer (the one holding the queue). */
export interface AbortableTransfer {
  abort(): Promise<string>;
}

export class Session {
  /** Once EPSV was refused, or its port could not be reached (see data.ts, probeEpsv), PASV is used for the rest of the session. */
  epsvRefused = false;
  /**
   * A data connection to an EPSV port got through in this session: the
   * server does EPSV and its ports are reachable, so a transfer may send its
   * command before its data connection is up (a pipelined one right behind EPSV).
   */
  epsvReached = false;
  /** The FEAT reply of this login, once read (see features.ts). */
  features: Map<string, string> | undefined;
  /** FEAT on its way (see features.ts). */
  readingFeatures: Promise<Map<string, string>> | undefined;
  /** The transfer currently holding the queue past its 1xx reply, for abort(). */
  activeTransfer: AbortableTransfer | undefined;
  /**
   * A transfer is written behind the one under way (transfer-ahead.ts):
   * until that one's turn, an abort closes the connection instead of
   * sending ABOR, which the server would read after it.
   */
  writtenAhead = false;
  /**
   * The transfer under way goes again after its EPSV and command were
   * refused in step (DataTransfer.openAgain): nothing is written ahead of
   * it until its 1xx.
   */
  goingAgain = false;
  /** Lets the command queue's next task write ahead of its turn (CommandQueue.openAhead); set by the client. */
  openAhead: () => void = noAhead;
  /**
   * Told of every command sent with command() that was not refused, with its
   * reply (the retry option's SessionRecord). Returning true asks for PWD
   * right after the command (see whereNow()).
   */
  observe: ((line: string, reply: Reply) => boolean | void) | undefined;

  constructor(
    readonly control: ControlConnection,
    readonly settings: SessionSettings,
  ) {}

  /** A new login (or REIN) may change what FEAT says: read it again when next needed. */
  forgetFeatures(): void {
    this.features = undefined;
    this.readingFeatures = undefined;
  }

  /** ftplib's getresp: the next reply; 4xx/5xx and non-replies throw. */
  read(timeout = this.settings.timeout): Promise<Reply> {
    return this.control.readReply(timeout).then(refuseFailure);
  }

  /** ftplib's sendcmd, for use inside a queue task. */
  command(line: string): Promise<Reply> {
    this.control.send(line);
    // replyToLast's step and this one in one reaction: a promise and a
    // microtask turn less on every command (a transfer's EPSV among them).
    return this.control.readReply(this.settings.timeout).then((reply) => {
      if (reply.code < 200) this.control.leaveFinalUnread();
      refuseFailure(reply);
      return this.observed(line, reply);
    });
  }

  /** Tells observe of a command that went through; `reply`, after a PWD when observe asked for one. */
  observed(line: string, reply: Reply): Reply | Promise<Reply> {
    if (this.observe?.(line, reply) !== true) return reply;
    return this.whereNow().then(() => reply);
  }

  /**
   * PWD, its 257 seen by observe (which then records the directory it names
   * instead of the changes that led there). It never fails the command
   * before it, which went through and was recorded: a call that rejected
   * here would be retried and recorded twice. A dropped connection shows
   * at the next command.
   */
  whereNow(): Promise<void> {
    return this.command("PWD").then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * The reply to the command just sent, one round trip at a time, whatever
   * its code. ftplib's sendcmd returns a 1xx; the final reply it announces
   * is still owed (see ControlConnection.leaveFinalUnread).
   */
  replyToLast(): Promise<Reply> {
    return this.control.readReply(this.settings.timeout).then((reply) => {
      if (reply.code < 200) this.control.leaveFinalUnread();
      return reply;
    });
  }

  /**
   * Sends `TYPE type` unless the server already confirmed that type (see
   * ControlConnection.knownType), and remembers it. For use inside a queue task.
   */
  async useType(type: "A" | "I"): Promise<void> {
    if (this.control.knownType === type) return;
    await this.voidCommand(`TYPE ${type}`);
    this.control.knownType = type;
  }

  /**
   * `promise`, or an FtpTimeoutError (with `message(timeout)`) once the
   * timeout passes; expiry closes the connection, since a reply may still be
   * owed that could not be told apart from the next command's.
   */
  within<T>(promise: Promise<T>, message: (timeout: number) => string): Promise<T> {
    const timeout = this.settings.timeout;
    if (timeout <= 0) return promise;
    // One promise and one timer; Promise.race with a second promise and a
    // finally() cost three more promises, on every transfer's final reply.
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new FtpTimeoutError(message(timeout));
        this.control.close(error);
        reject(error);
      }, timeout);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        // Whatever `promise` rejects with is passed on unchanged.
        (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** ftplib's voidcmd, for use inside a queue task: anything but 2xx throws. */
  async voidCommand(line: string): Promise<Reply> {
    return requireSuccess(await this.command(line));
  }
}

function noAhead(): void {}

/** `reply`, unless it is a 4xx/5xx (FtpTempError/FtpPermError), as ftplib's getresp. */
export function refuseFailure(reply: Reply): Reply {
  if (reply.code >= 400) throw errorForReply(reply.text);
  return reply;
}

/** `reply` if it is a 2xx; a 4xx/5xx throws as refuseFailure, anything else is an FtpReplyError (ftplib's voidresp). */
export function requireSuccess(reply: Reply): Reply {
  refuseFailure(reply);
  if (reply.code >= 300 || reply.code < 200) throw new FtpReplyError(reply.text);
  return reply;
}
