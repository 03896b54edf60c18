/**
 * What the datagrams IPv4 and IPv6 hand up have in common: the packet's bytes, where the
 * transport's part starts, the fields a transport asks of either family, and views of the
 * two parts made only when first asked for (TCP reads straight from `packet` at
 * `transportStart`; only ICMP errors quote the header). Each layer fills one such object
 * per packet instead of making a new one, so it is valid only during the transport's
 * input: a transport that kept it would see the next packet.
 */

const NO_BYTES = new Uint8Array(0);

export abstract class ReceivedDatagramBytes {
  /** The upper-layer protocol (IPv4 Protocol, IPv6's last Next Header). */
  protocol = 0;
  /** Time to Live, or IPv6's Hop Limit. */
  ttl = 0;
  /** Sent to a broadcast (IPv4) or multicast address. */
  broadcast = false;
  /** The device vouched for the transport checksum (device/offload.ts). */
  checksumValid = false;
  /** The whole datagram, network header first, up to its stated length. */
  packet: Uint8Array = NO_BYTES;
  /** Where the transport's bytes start in `packet`. */
  transportStart = 0;
  private headerBytes: Uint8Array | undefined;
  private payloadBytes: Uint8Array | undefined;

  get header(): Uint8Array {
    this.headerBytes ??= this.packet.subarray(0, this.transportStart);
    return this.headerBytes;
  }

  get payload(): Uint8Array {
    this.payloadBytes ??= this.packet.subarray(this.transportStart);
    return this.payloadBytes;
  }

  /** Points at the next packet's bytes; the views are made again when asked for. */
  protected pointAt(packet: Uint8Array, transportStart: number): void {
    this.packet = packet;
    this.transportStart = transportStart;
    this.headerBytes = undefined;
    this.payloadBytes = undefined;
  }
}
