/**
 * poll(2) readiness of a connected stream socket, as Linux's tcp_poll computes it:
 *
 *   POLLIN     data to read, or reading would return at once (end of stream, reset);
 *              the out-of-band byte alone does not count
 *   POLLPRI    an urgent byte has arrived and recv(MSG_OOB) has not taken it
 *   POLLRDHUP  the peer's FIN has arrived (or we shut our reading side)
 *   POLLOUT    a third of the send buffer is free, or writing would fail at once
 *   POLLHUP    both directions are closed (FIN both ways, or a reset)
 *   POLLERR    an error is pending and has not been reported yet
 */
import type { TcpConnection, TcpState } from "../stack/tcp/connection.ts";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP } from "./poll_events.ts";

/** States in which the peer's FIN has arrived (RFC 9293 §3.10.7.4, eighth step). */
const PEER_FIN_STATES: ReadonlySet<TcpState> = new Set([
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
]);

export interface SocketSide {
  /** shutdown(SHUT_RD) was called. */
  readonly readShut: boolean;
  /** shutdown(SHUT_WR) was called (our FIN is queued). */
  readonly writeShut: boolean;
  /** The connection's error was already reported to the program. */
  readonly errorReported: boolean;
}

export function connectedReadiness(connection: TcpConnection, side: SocketSide): number {
  const state = connection.state;
  const broken = connection.error !== undefined || state === "CLOSED";
  const peerFin = connection.receivedFin || PEER_FIN_STATES.has(state);
  const readDown = broken || peerFin || side.readShut;
  const writeDown = broken || side.writeShut;
  let mask = 0;
  if (connection.readableBytes > 0 || readDown) mask |= POLLIN;
  if (connection.urgentPending) mask |= POLLPRI;
  if (readDown) mask |= POLLRDHUP;
  if (readDown && writeDown) mask |= POLLHUP;
  if (connection.error !== undefined && !side.errorReported) mask |= POLLERR;
  if (writeDown || writableAboveLowWater(connection)) mask |= POLLOUT;
  return mask;
}

/**
 * POLLOUT once a third of the send buffer is free, as Linux does (sk_stream_is_writeable:
 * free space at least half of what is queued), so a poller wakes for a useful write.
 */
function writableAboveLowWater(connection: TcpConnection): boolean {
  const free = connection.writableBytes;
  const queued = Math.max(0, connection.options.sendBufferBytes - free);
  return free > 0 && free * 2 >= queued;
}
