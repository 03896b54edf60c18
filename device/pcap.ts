/**
 * Recording packets for Wireshark: the classic pcap file format
 * (https://www.tcpdump.org/manpages/pcap-savefile.5.html), microsecond timestamps.
 *
 *   global header (24 bytes): magic a1b2c3d4, version 2.4, thiszone 0, sigfigs 0,
 *                             snaplen, link type
 *   per packet (16 bytes):    ts_sec, ts_usec, incl_len, orig_len, then incl_len bytes
 *
 * All fields are written little-endian; readers detect the byte order from the magic.
 * Our packets are bare IPv4 with no link header, hence LINKTYPE_RAW (101).
 *
 * @example
 * const writer = PcapWriter.toFile("run.pcap");
 * const device = withPcap(Tun.open({ name: "tun0" }), writer, clock);
 * // ... later: await device.close() flushes and closes the file; `tshark -r run.pcap`
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Clock } from "../stack/clock.ts";
import type { Device } from "./device.ts";

/** Raw IP: the packet starts with the IPv4 (or IPv6) header. */
export const LINKTYPE_RAW = 101;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const GLOBAL_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

export interface PcapOptions {
  linkType?: number;
  /** Bytes kept of each packet (longer ones are truncated, `orig_len` keeps the size). */
  snapLength?: number;
  /** Bytes buffered before a write to the sink. Default 64 KiB. */
  bufferBytes?: number;
}

/** Where the bytes go: a file, or memory in tests. */
export interface PcapSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

export class PcapWriter {
  /** Packets recorded so far. */
  packets = 0;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private readonly snapLength: number;
  private closed = false;

  constructor(
    private readonly sink: PcapSink,
    options: PcapOptions = {},
  ) {
    this.snapLength = options.snapLength ?? 65535;
    this.buffer = new Uint8Array(Math.max(options.bufferBytes ?? 65536, 256));
    this.view = new DataView(this.buffer.buffer);
    const v = this.view;
    v.setUint32(0, MAGIC_MICROSECONDS, true);
    v.setUint16(4, 2, true); // version_major
    v.setUint16(6, 4, true); // version_minor
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snapLength, true);
    v.setUint32(20, options.linkType ?? LINKTYPE_RAW, true);
    this.used = GLOBAL_HEADER_BYTES;
  }

  /** A writer to a new file at `path` (truncated if it exists). */
  static toFile(path: string, options?: PcapOptions): PcapWriter {
    const fd = openSync(path, "w");
    return new PcapWriter(
      {
        write: (bytes) => {
          let offset = 0;
          while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset);
        },
        close: () => closeSync(fd),
      },
      options,
    );
  }

  /** Records one packet seen at `timeMs` (milliseconds since the Unix epoch). */
  record(packet: Uint8Array, timeMs: number): void {
    if (this.closed) return;
    const kept = Math.min(packet.byteLength, this.snapLength);
    if (this.used + RECORD_HEADER_BYTES + kept > this.buffer.byteLength) this.flush();
    const microseconds = Math.max(0, Math.floor(timeMs * 1000));
    const v = this.view;
    v.setUint32(this.used, Math.floor(microseconds / 1e6), true); // ts_sec
    v.setUint32(this.used + 4, microseconds % 1e6, true); // ts_usec
    v.setUint32(this.used + 8, kept, true); // incl_len
    v.setUint32(this.used + 12, packet.byteLength, true); // orig_len
    this.used += RECORD_HEADER_BYTES;
    if (kept > this.buffer.byteLength - this.used) {
      // Larger than the whole buffer: write the header, then the packet directly.
      this.flush();
      this.sink.write(packet.subarray(0, kept));
    } else {
      this.buffer.set(packet.subarray(0, kept), this.used);
      this.used += kept;
    }
    this.packets++;
  }

  /** Hands everything buffered to the sink. */
  flush(): void {
    if (this.used === 0) return;
    this.sink.write(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close();
  }
}

/** Flush at most this often while running, so a killed process loses little. */
const FLUSH_INTERVAL_MS = 1000;

/**
 * Wraps a device so every packet in both directions is recorded. Closing the wrapper
 * closes the device, then flushes and closes the writer.
 */
export function withPcap(device: Device, writer: PcapWriter, clock: Clock): Device {
  let lastFlushMs = clock.now();
  const maybeFlush = () => {
    const now = clock.now();
    if (now - lastFlushMs >= FLUSH_INTERVAL_MS) {
      writer.flush();
      lastFlushMs = now;
    }
  };
  return {
    get mtu() {
      return device.mtu;
    },
    // With checksum offload the TCP checksums recorded are partial (sent, and received
    // with NEEDS_CSUM, which the stack trusts unfinished), as tcpdump shows them on a
    // Linux host with a NIC that offloads (Wireshark: "maybe caused by offload").
    get capabilities() {
      return device.capabilities;
    },
    send(packet, offload) {
      writer.record(packet, clock.now());
      device.send(packet, offload);
    },
    onReceive(handler, flush) {
      device.onReceive(
        (packet, checksumValid) => {
          writer.record(packet, clock.now());
          handler(packet, checksumValid);
        },
        () => {
          flush?.();
          maybeFlush();
        },
      );
    },
    async close() {
      await device.close();
      writer.close();
    },
  };
}
