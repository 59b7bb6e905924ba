/**
 * The server certificate a TLS session was made with, read out of the
 * session as Node hands it over (`tlsSocket.getSession()`, the 'session'
 * event): OpenSSL's SSL_SESSION in DER (i2d_SSL_SESSION), whose field
 * `peer [3] EXPLICIT Certificate OPTIONAL` holds it. The control
 * connection's session is what its data connections resume, and the one
 * place its certificate stays known after CCC dropped its TLS; a data
 * connection that did not resume it must show that certificate (see
 * data-tls.ts).
 */

/** One DER element: its tag, and where its contents start and end in the buffer. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

/** The DER element at `at` in `der` (single-byte tags, definite lengths: what i2d writes), or undefined if it does not fit. */
function elementAt(der: Buffer, at: number, limit: number): Element | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    // More than 4 length bytes would be a session of 4 GiB: not one.
    if (bytes === 0 || bytes > 4 || start + bytes > limit) return undefined;
    length = 0;
    for (let index = 0; index < bytes; index++) length = length * 256 + der[start + index];
    start += bytes;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : undefined;
}

/** SEQUENCE, and the context-specific constructed tag [3] of SSL_SESSION's `peer` field. */
const SEQUENCE = 0x30;
const PEER = 0xa3;

/**
 * The DER of the peer certificate held in `session` (a serialized
 * SSL_SESSION), or undefined when it holds none or is not one. The
 * fields before `peer` (version, protocol, cipher, session id, master
 * key, times) are stepped over, not read.
 */
export function peerCertificateOf(session: Buffer | undefined): Buffer | undefined {
  if (!session) return undefined;
  const outer = elementAt(session, 0, session.length);
  if (!outer || outer.tag !== SEQUENCE) return undefined;
  for (let at = outer.start; at < outer.end;) {
    const field = elementAt(session, at, outer.end);
    if (!field) return undefined;
    if (field.tag === PEER) {
      const certificate = elementAt(session, field.start, field.end);
      if (!certificate || certificate.tag !== SEQUENCE) return undefined;
      return session.subarray(field.start, certificate.end);
    }
    at = field.end;
  }
  return undefined;
}
