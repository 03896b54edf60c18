/**
 * Transmit buffers: where outgoing packets are built, taken from a small pool and given
 * back as soon as the packet has gone to the device, so sending allocates nothing.
 *
 * A transport builds its segment after `IPV4_HEADER_LENGTH` bytes of headroom, so IPv4
 * writes its header in place in front of it (no copy), and hands `view(length)` down;
 * in front of that, LINK_HEADROOM more bytes let the device do the same with its own;
 * the `Device` contract says the bytes are the caller's again once `send` returns, which
 * is when the buffer goes back to the pool (gVisor's netstack reserves headroom the same
 * way). A buffer is out or in the pool, never both: one handed out while in use would let
 * a second packet overwrite the first (a nested send: a device that delivers a reply at
 * once, inside `send`). Usually one buffer suffices; a nested send takes a second.
 *
 * @example
 * const buffer = pool.acquire();
 * try {
 *   const length = writePacket(buffer.bytes);
 *   send(buffer.view(length));
 * } finally {
 *   pool.release(buffer);
 * }
 */

import { LINK_HEADROOM } from "./offload.ts";

/** The largest IPv4 packet (RFC 791 §3.1: Total Length is 16 bits). */
const MAX_PACKET = 65535;
/** Views kept per buffer: packets of a connection come in few lengths. */
const VIEWS_KEPT = 4;

export class PacketBuffer {
  /**
   * Room for the largest packet, headers included, after LINK_HEADROOM bytes that the
   * device may use for its own header (`TransmitOffload.headroom`).
   */
  readonly bytes = new Uint8Array(LINK_HEADROOM + MAX_PACKET).subarray(LINK_HEADROOM);
  // A Uint8Array view is an object of its own. A bulk transfer sends a few lengths over
  // and over (full segments, pure ACKs, a TSO super-segment), so the last views made are
  // kept, by length, and handed out again.
  private readonly viewLengths: number[] = new Array(VIEWS_KEPT).fill(-1);
  private readonly views: Uint8Array[] = new Array(VIEWS_KEPT).fill(this.bytes);
  private nextVictim = 0;

  /** The first `length` bytes: the packet to hand down. */
  view(length: number): Uint8Array {
    for (let i = 0; i < VIEWS_KEPT; i++) if (this.viewLengths[i] === length) return this.views[i]!;
    const view = this.bytes.subarray(0, length);
    this.viewLengths[this.nextVictim] = length;
    this.views[this.nextVictim] = view;
    this.nextVictim = (this.nextVictim + 1) % VIEWS_KEPT;
    return view;
  }
}

export class PacketBufferPool {
  private readonly free: PacketBuffer[] = [];
  /** Buffers handed out and not yet released (a test checks this stays bounded). */
  inUse = 0;

  /** A buffer no one else holds: from the pool, or a new one while all are in use. */
  acquire(): PacketBuffer {
    this.inUse++;
    return this.free.pop() ?? new PacketBuffer();
  }

  /** Gives `buffer` back; its bytes may be reused by the next `acquire`. */
  release(buffer: PacketBuffer): void {
    // A broken invariant: the same buffer would be handed out twice.
    if (this.free.includes(buffer)) throw new Error("PacketBufferPool: buffer released twice");
    this.inUse--;
    this.free.push(buffer);
  }
}
