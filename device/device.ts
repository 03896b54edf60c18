/**
 * The one interface the stack sees below it: a link that carries raw IPv4 packets.
 *
 * Both the TUN device (`tun.ts`) and the simulated link (`memory_link.ts`) implement it,
 * so everything above works unchanged on either.
 *
 * Ownership: the bytes handed to a receive handler belong to the device and are only
 * valid during the call (the TUN reader reuses one buffer). A layer that keeps bytes
 * past the call (reassembly, TCP's queues, a datagram socket's queue) copies them.
 * Bytes passed to `send` are the caller's again as soon as `send` returns.
 */
import type { Offload, TransmitOffload } from "../stack/offload.ts";

export interface Device {
  /**
   * Largest IPv4 packet the link carries, in bytes (RFC 791 §3.1: MTU). A TUN with
   * offloads (`Tun.open({ offload: true })`) may still hand up larger TCP packets, up to
   * 64 KB: segments the kernel did not split (GSO), valid in every other respect.
   */
  readonly mtu: number;
  /**
   * What the device does on the stack's behalf (`stack/offload.ts`), to be passed to the
   * stack once (`new Stack({ offload: device.capabilities?.offload })`). Absent: none.
   */
  readonly capabilities?: { readonly offload: Offload };
  /**
   * Transmits one IPv4 packet. Never throws for a full queue: the packet is dropped.
   * `offload` (only from a stack told the device's capabilities) says what the device
   * must finish: the TCP checksum, and cutting a packet larger than the MTU into pieces.
   */
  send(packet: Uint8Array, offload?: TransmitOffload): void;
  /**
   * Sets the handler for arriving packets. `flush` is called after a batch of packets
   * (one device read burst), the natural moment for the stack to send what it owes.
   * `checksumValid` is true when the device vouches for the packet's TCP/UDP checksum
   * (a TUN with offloads: the kernel made the packet on this host, see `offload.ts`);
   * absent or false, the stack verifies it.
   */
  onReceive(
    handler: (packet: Uint8Array, checksumValid?: boolean) => void,
    flush?: () => void,
  ): void;
  /** Stops receiving and releases the link (a TUN interface disappears). */
  close(): Promise<void>;
}
