/**
 * Offloads: work the link below does on the stack's behalf, as a NIC does for Linux
 * (checksum offload and TSO). The device declares what it can do (`Device.capabilities`
 * in `device/device.ts`); the stack is told once (`StackOptions.offload`) and marks each
 * packet it hands to `transmit` with what the device must still finish.
 *
 * - **Checksum offload (send).** TCP writes only the pseudo-header sum into its checksum
 *   field (RFC 1071 §2: the sum is associative, so the device can add the header and
 *   data later), and the device finishes it. TCP never sends a partial checksum to a
 *   device that did not offer this.
 * - **Segmentation offload (TSO, send).** TCP may send one segment of up to 64 KB whose
 *   data the device cuts into `segmentSize` pieces, each with a copy of the headers, as
 *   if TCP had sent them one by one (RFC 9293 §3.7.1: no segment on the wire carries
 *   more than the MSS). It implies checksum offload: every piece needs its own checksum.
 */

/** What a device does for the stack. */
export interface Offload {
  /** The device finishes the checksum of TCP packets marked `partialChecksum`. */
  readonly checksum: boolean;
  /** The device splits TCP packets marked with a `segmentSize` (up to 64 KB IPv4). */
  readonly segmentation: boolean;
}

/** A plain link: the stack computes every checksum and sends MTU-sized packets. */
export const NO_OFFLOAD: Offload = { checksum: false, segmentation: false };

/** What the device must finish for one packet (the second argument of `transmit`). */
export interface TransmitOffload {
  /** The TCP checksum field holds the pseudo-header sum only (not complemented). */
  readonly partialChecksum: boolean;
  /** Data bytes per piece when the device must segment the packet; 0 for none. */
  readonly segmentSize: number;
  /**
   * Bytes free in front of the packet, in the same buffer, that the device may overwrite
   * with a header of its own (the TUN's virtio_net_hdr) and send with the packet in one
   * write instead of copying the packet behind it. 0 or absent: none.
   */
  readonly headroom?: number;
}

/**
 * The headroom TCP's transmit buffers keep in front of the IPv4 header for the link
 * (`packet_buffers.ts`): room for a virtio_net_hdr (10 bytes), rounded up to keep the
 * packet 8-byte aligned. gVisor's link endpoints declare the same (MaxHeaderLength).
 */
export const LINK_HEADROOM = 16;

/** The marking of every TCP packet that is not to be segmented (one shared object). */
export const PARTIAL_CHECKSUM: TransmitOffload = { partialChecksum: true, segmentSize: 0 };
