/**
 * Segments sent without a connection to send them from: a reset in reply to a segment
 * that has no TCB, or whose ACK a TCB must refuse (RFC 9293 §3.10.7.1–3, "form a reset
 * segment"), and the SYN,ACK of a SYN cookie (RFC 4987 §3.6, syn_cookies.ts), which is
 * answered without keeping any state. Each is built, checksummed and handed to IPv4 on
 * the spot: nothing is queued and nothing will be retransmitted.
 */
import type { IpAddress, NetworkLayer } from "../network.ts";
import type { Stats } from "../stats.ts";
import { buildSegment, Flag, finishChecksum, TCP_PROTOCOL, type TcpSegment } from "./header.ts";
import type { TcpOptions } from "./options.ts";
import { seqAdd } from "./seq.ts";
import type { Tcb } from "./tcb.ts";

/** What sending needs of the stack around TCP. */
export interface StatelessHost {
  readonly stats: Stats;
  networkFor(address: IpAddress): NetworkLayer;
}

/** A RST (or RST,ACK) in reply to `seg`, which has no TCB (RFC 9293 §3.10.7.1). */
export function sendReset(
  host: StatelessHost,
  local: IpAddress,
  remote: IpAddress,
  seg: TcpSegment,
  seq: number,
  ack: number,
  flags: number,
): void {
  sendBare(host, local, seg.destinationPort, remote, seg.sourcePort, seq, ack, flags, 0, {});
  host.stats.count("tcpOutRsts");
}

/** A RST about a TCB's peer segment (SYN-SENT / SYN-RECEIVED bad ACK). */
export function sendResetFor(tcb: Tcb, seq: number, ack: number, flags: number): void {
  const host = tcb.layer.host;
  const { localAddress, localPort, remoteAddress, remotePort } = tcb;
  sendBare(host, localAddress, localPort, remoteAddress, remotePort, seq, ack, flags, 0, {});
  host.stats.count("tcpOutRsts");
}

/** The SYN,ACK of a SYN cookie: <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> (listen.ts sendCookie). */
export function sendSynAckCookie(
  host: StatelessHost,
  local: IpAddress,
  remote: IpAddress,
  seg: TcpSegment,
  cookie: number,
  options: TcpOptions,
): void {
  const ack = seqAdd(seg.seq, 1);
  const { sourcePort, destinationPort } = seg;
  const flags = Flag.SYN | Flag.ACK;
  sendBare(host, local, destinationPort, remote, sourcePort, cookie, ack, flags, 65535, options);
}

function sendBare(
  host: StatelessHost,
  la: IpAddress,
  lp: number,
  ra: IpAddress,
  rp: number,
  seq: number,
  ack: number,
  flags: number,
  wnd: number,
  options: TcpOptions,
): void {
  const net = host.networkFor(ra);
  const { packet } = buildSegment(
    { sourcePort: lp, destinationPort: rp, seq, ack, flags, wnd, options },
    0,
    net.headerLength,
  );
  finishChecksum(packet, la, ra, net.headerLength);
  host.stats.count("tcpOutSegs");
  net.output(packet, {
    source: la,
    destination: ra,
    protocol: TCP_PROTOCOL,
    dontFragment: true,
  });
}
