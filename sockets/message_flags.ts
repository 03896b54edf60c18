/**
 * Per-call flags of send(2) and recv(2): the C API's MSG_* bits, as named options.
 *
 *   recv  { peek }      MSG_PEEK: return the data but leave it queued; the next recv gets
 *                       it again
 *   recv  { waitAll }   MSG_WAITALL (stream): wait until all `maxBytes` have arrived; less
 *                       only at end of stream or on an error. Ignored when the call may
 *                       not block, as on Linux
 *   both  { dontWait }  MSG_DONTWAIT: this call alone is non-blocking (EAGAIN instead of
 *                       waiting), whatever O_NONBLOCK says
 *   send  { eof }       MSG_EOF (FreeBSD): shut the write side once all of `data` is
 *                       queued, so the FIN can ride on the last data segment
 *   both  { oob }       MSG_OOB (stream): send: the last byte of `data` is urgent (the
 *                       urgent pointer goes after it); recv: the one out-of-band byte,
 *                       as Linux gives it (stack/tcp/urgent.ts): EINVAL with
 *                       SO_OOBINLINE, with none or once read; EAGAIN if it has not
 *                       arrived (never waits). Datagram sockets: EOPNOTSUPP
 */

export interface ReceiveFlags {
  readonly peek?: boolean;
  readonly waitAll?: boolean;
  readonly dontWait?: boolean;
  readonly oob?: boolean;
}

export interface SendFlags {
  readonly dontWait?: boolean;
  readonly eof?: boolean;
  readonly oob?: boolean;
}

/** No flags: the shared default, so a call without flags allocates nothing for them. */
export const NO_FLAGS: ReceiveFlags & SendFlags = Object.freeze({});
