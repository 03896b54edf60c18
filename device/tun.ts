/**
 * A Linux TUN device: a network interface whose "wire" is a file descriptor. Every IPv4
 * packet the kernel routes to the interface can be read from the fd, and every packet
 * written to the fd arrives in the kernel as if it came off a wire.
 *
 *   kernel (ping, curl) ──route──▶ tun0 ──read(fd)──▶ this process ──▶ stack.receive
 *   kernel ◀──────────── tun0 ◀──write(fd)── this process ◀── stack.transmit
 *
 * Opening (linux/Documentation/networking/tuntap.rst): open /dev/net/tun, then
 * ioctl(TUNSETIFF) with IFF_TUN | IFF_NO_PI (raw IP packets, no 4-byte packet-info
 * prefix). The kernel side's address, netmask, MTU and "up" flag are set with the classic
 * interface ioctls on an ordinary AF_INET socket, as ifconfig(8) does.
 *
 * Reading: `tun_reader_worker.ts` waits with poll(2) and wakes this thread through a
 * SharedArrayBuffer; this thread then reads every waiting packet into one preallocated
 * buffer (no allocation per packet), hands each to the handler, and calls `flush` once.
 * Closing the fd removes the interface (it is not persistent).
 *
 * With `offload: true` every read and write starts with a virtio_net_hdr and the kernel
 * and this process exchange TCP super-segments of up to 64 KB (`offload.ts`).
 */
import { type Cidr, formatIpv4, netmask, parseCidr } from "../stack/address.ts";
import { type Ipv6Cidr, parseIpv6Cidr } from "../stack/ipv6/address.ts";
import { NO_OFFLOAD, type Offload, type TransmitOffload } from "../stack/offload.ts";
import type { Device } from "./device.ts";
import * as libc from "./libc.ts";
import { DeviceError, deviceErrorFor, Errno } from "./libc.ts";
import { receivedChecksum, TsoCoalescer, VNET_HEADER_BYTES } from "./offload.ts";
import { configureIpv6 } from "./tun_ipv6.ts";

/** ioctl requests (linux/if_tun.h, linux/sockios.h). */
const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFADDR = 0x8916;
const SIOCSIFNETMASK = 0x891c;
const SIOCSIFMTU = 0x8922;
/** TUNSETIFF flags (linux/if_tun.h). */
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** TUNSETOFFLOAD flags: we finish partial checksums and take TCPv4 super-segments. */
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
/** Interface flags (linux/if.h). */
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** struct ifreq: char ifr_name[IFNAMSIZ = 16], then a 24-byte union. */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const IFR_UNION = 16;
/** Inside the union, a struct sockaddr_in: family (host order), port, then the address. */
const SIN_ADDR = IFR_UNION + 4;

const FULL_OFFLOAD = { offload: { checksum: true, segmentation: true } } as const;
const NO_CAPABILITIES = { offload: NO_OFFLOAD } as const;

/** The largest packet a read can return: the IPv4 maximum (RFC 791 §3.1: 65,535 octets), after a vnet header. */
const READ_BUFFER_BYTES = VNET_HEADER_BYTES + 65536;
/** Packets drained per wake-up at most, so a flood cannot starve timers and sockets. */
const MAX_BATCH = 256;
const READY = 0;
const STOP = 1;
/** Busy-polling never holds the event loop longer than this per wake-up. */
const MAX_BUSY_POLL_MS = 2;

export interface TunOptions {
  /** Interface name, at most 15 bytes; "tun%d" lets the kernel pick a number. */
  name: string;
  /** MTU of the interface, 68..65535 (RFC 791 §3.2: every host takes 68). Default 1500. */
  mtu?: number;
  /** The kernel side's address and prefix, e.g. "10.0.0.1/24". Omitted: left unconfigured and down. */
  address?: string;
  /**
   * The kernel side's IPv6 address and prefix, e.g. "fd00::1/64" (`tun_ipv6.ts`).
   * Omitted: IPv6 is turned off on the interface, so the kernel sends nothing IPv6.
   */
  address6?: string;
  /**
   * IFF_VNET_HDR with checksum and TCPv4 segmentation offload (see `offload.ts`): the
   * kernel hands up TCP super-segments of up to 64 KB, and consecutive segments we send
   * are merged into super-segments the kernel splits. Packets above the MTU then reach
   * the stack. `true` requires it (open fails if the kernel refuses), `false` turns it
   * off, and the default tries it and falls back to the plain TUN by itself when the
   * kernel refuses (an old kernel, or a TUN without IFF_VNET_HDR): `Tun.offloadFallback`
   * then says why. The environment variable TSTCP_TUN_OFFLOAD=0 or =1 sets the default.
   */
  offload?: boolean;
  /** TUNSETOFFLOAD's flags; only tests change them (to see the fallback). */
  offloadFlags?: number;
  /**
   * After a burst, keep reading for this many microseconds of silence before going back
   * to the watcher thread (see `busyPoll`). Default: TSTCP_TUN_BUSY_POLL_US, else 0.
   */
  busyPollMicros?: number;
}

export interface TunCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Writes the kernel refused (interface down, queue full): the packet is dropped. */
  sendErrors: number;
  readErrors: number;
  /** Exceptions thrown by the receive handler (a bug above; reported on stderr). */
  handlerErrors: number;
  /** With offload: super-segments read (GSO from the kernel) and written (TSO to it). */
  superSegmentsIn: number;
  superSegmentsOut: number;
  /** With offload: segments merged into the super-segments written. */
  segmentsMergedOut: number;
}

export class Tun implements Device {
  readonly name: string;
  readonly mtu: number;
  readonly fd: number;
  readonly counters: TunCounters = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    sendErrors: 0,
    readErrors: 0,
    handlerErrors: 0,
    superSegmentsIn: 0,
    superSegmentsOut: 0,
    segmentsMergedOut: 0,
  };
  readonly offload: boolean;
  /** Offload was tried by default and refused: the kernel's reason (the plain TUN is used). */
  offloadFallback: string | undefined;
  readonly busyPollMicros: number;
  private handler: ((packet: Uint8Array, checksumValid: boolean) => void) | undefined;
  private flush: (() => void) | undefined;
  private readonly buffer = new Uint8Array(READ_BUFFER_BYTES);
  /** The vnet header at the front of each read (with offloads): one view, made once. */
  private readonly vnetHeader = this.buffer.subarray(0, VNET_HEADER_BYTES);
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  private readonly workerStopped: Promise<void>;
  private closing: Promise<void> | undefined;
  private readonly coalescer: TsoCoalescer | undefined;
  private flushQueued = false;

  private constructor(name: string, mtu: number, fd: number, offload: boolean, busyPoll: number) {
    this.name = name;
    this.mtu = mtu;
    this.fd = fd;
    this.offload = offload;
    this.offloadFallback = undefined;
    this.busyPollMicros = busyPoll;
    if (offload) this.coalescer = new TsoCoalescer((bytes) => this.writeOut(bytes));
    this.worker = new Worker(new URL("./tun_reader_worker.ts", import.meta.url).href);
    this.workerStopped = new Promise((resolve) => {
      this.worker.addEventListener("message", () => resolve());
    });
    this.worker.postMessage({ fd, flags: this.flags.buffer });
    void this.readLoop();
  }

  /**
   * Creates the interface, configures the kernel side and brings it up. Throws a
   * `DeviceError` with one sentence of advice; on failure nothing is left behind.
   *
   * @example
   * const tun = Tun.open({ name: "tun0", mtu: 1500, address: "10.0.0.1/24" });
   * tun.onReceive((packet) => console.log(packet.length));
   */
  static open(options: TunOptions): Tun {
    const mtu = options.mtu ?? 1500;
    checkName(options.name);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new DeviceError("EINVAL", `The MTU ${mtu} is out of range: it must be 68 to 65535.`);
    }
    const cidr = options.address === undefined ? undefined : checkAddress(options.address);
    const cidr6 = options.address6 === undefined ? undefined : checkAddress6(options.address6);
    const required = options.offload ?? offloadFromEnvironment();
    const busyPoll = options.busyPollMicros ?? Number(process.env.TSTCP_TUN_BUSY_POLL_US ?? 0);
    const flags = options.offloadFlags ?? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    let fallback: string | undefined;
    let opened: { fd: number; name: string } | undefined;
    if (required !== false) {
      try {
        opened = openDevice(options.name, flags);
      } catch (error) {
        // Offloads are an optimisation: by default a kernel that refuses them gets the
        // plain TUN; only an explicit request makes the refusal an error.
        if (required === true || !(error instanceof DeviceError)) throw error;
        fallback = error.message;
      }
    }
    opened ??= openDevice(options.name, undefined);
    try {
      // IPv6 off before the interface is up (no router solicitation escapes), or its
      // address set once it is up (tun_ipv6.ts).
      if (cidr6 === undefined) configureIpv6(opened.name, undefined);
      configure(opened.name, mtu, cidr);
      if (cidr6 !== undefined) configureIpv6(opened.name, cidr6);
    } catch (error) {
      libc.close(opened.fd); // the interface disappears with its only fd
      throw error;
    }
    const tun = new Tun(
      opened.name,
      mtu,
      opened.fd,
      fallback === undefined && required !== false,
      Math.max(0, busyPoll || 0),
    );
    tun.offloadFallback = fallback;
    return tun;
  }

  /**
   * With offload the kernel finishes TCP checksums and segments TCP packets of up to
   * 64 KB of either family (TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6): the stack may leave both to it.
   */
  get capabilities(): { readonly offload: Offload } {
    return this.offload ? FULL_OFFLOAD : NO_CAPABILITIES;
  }

  /** Writes one packet to the kernel. Never throws: a refused write is counted and dropped. */
  send(packet: Uint8Array, offload?: TransmitOffload): void {
    if (this.closing !== undefined) return;
    const coalescer = this.coalescer;
    if (coalescer === undefined) {
      this.writeOut(packet);
      return;
    }
    coalescer.send(packet, offload);
    // Nothing may wait past this turn: the end of a drain flushes, and so does this.
    if (coalescer.pending && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushOutput());
    }
  }

  /** With offload: writes the super-segment being built, if any. */
  private flushOutput(): void {
    this.flushQueued = false;
    if (this.closing === undefined) this.coalescer?.flush();
  }

  private writeOut(bytes: Uint8Array): void {
    if (libc.write(this.fd, bytes) < 0) {
      this.counters.sendErrors++;
      return;
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += bytes.byteLength;
    if (this.coalescer !== undefined && bytes[1] !== 0) {
      this.counters.superSegmentsOut++;
      this.counters.segmentsMergedOut = this.coalescer.mergedSegments;
    }
  }

  onReceive(
    handler: (packet: Uint8Array, checksumValid: boolean) => void,
    flush?: () => void,
  ): void {
    this.handler = handler;
    this.flush = flush;
  }

  /** Stops the watcher thread, then closes the fd: the interface is removed. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    Atomics.store(this.flags, STOP, 1);
    Atomics.store(this.flags, READY, 1); // wakes the read loop so it can see `closing`
    Atomics.notify(this.flags, READY);
    // The watcher notices STOP within one poll timeout; never wait forever for it.
    await Promise.race([this.workerStopped, Bun.sleep(1000)]);
    this.worker.terminate();
    libc.close(this.fd);
  }

  private async readLoop(): Promise<void> {
    const bufferPointer = libc.pointerOf(this.buffer);
    while (this.closing === undefined) {
      const waited = Atomics.waitAsync(this.flags, READY, 0);
      if (waited.async) await waited.value;
      if (this.closing !== undefined) return;
      if (this.drain(bufferPointer) > 0) await this.busyPoll(bufferPointer);
      Atomics.store(this.flags, READY, 0);
      Atomics.notify(this.flags, READY);
    }
  }

  /**
   * Busy-polling (as Linux's SO_BUSY_POLL and DPDK do): what we just sent often brings
   * the next packet within microseconds (ping -f, request and response, ACK clocking).
   * Reading again for a short while catches it without the two thread hand-offs of a
   * wake-up. Bounded: `busyPollMicros` after the last packet, at most MAX_BUSY_POLL_MS
   * in all, and microtasks (socket callbacks) run between polls.
   */
  private async busyPoll(bufferPointer: libc.Pointer): Promise<void> {
    const window = this.busyPollMicros / 1000;
    if (window <= 0) return;
    const started = performance.now();
    let until = started + window;
    for (let now = started; now < until && now - started < MAX_BUSY_POLL_MS; ) {
      await null;
      if (this.closing !== undefined) return;
      const read = this.drain(bufferPointer);
      now = performance.now();
      if (read > 0) until = now + window;
    }
  }

  /** Reads every packet waiting (up to MAX_BATCH), one handler call each, then one flush. */
  private drain(bufferPointer: libc.Pointer): number {
    let packets = 0;
    while (packets < MAX_BATCH && this.closing === undefined) {
      const length = libc.readInto(this.fd, this.buffer, bufferPointer);
      if (length < 0) {
        const code = libc.errno();
        if (code === Errno.EINTR) continue;
        if (code !== Errno.EAGAIN) this.counters.readErrors++;
        break;
      }
      if (length === 0) break;
      packets++;
      this.counters.packetsIn++;
      this.counters.bytesIn += length;
      if (this.coalescer === undefined) this.deliver(this.buffer.subarray(0, length), false);
      else this.deliverOffloaded(length);
    }
    if (packets > 0 && this.flush !== undefined) this.guard(this.flush);
    this.coalescer?.flush();
    return packets;
  }

  /**
   * Strips the vnet header; the stack sees plain IPv4, told whether the kernel vouches
   * for its transport checksum (`receivedChecksum`).
   */
  private deliverOffloaded(length: number): void {
    if (length <= VNET_HEADER_BYTES) return;
    const header = this.vnetHeader;
    const packet = this.buffer.subarray(VNET_HEADER_BYTES, length);
    if (header[1] !== 0) this.counters.superSegmentsIn++;
    const checksum = receivedChecksum(header, packet);
    if (checksum === "malformed") {
      this.counters.readErrors++;
      return;
    }
    this.deliver(packet, checksum === "valid");
  }

  private deliver(packet: Uint8Array, checksumValid: boolean): void {
    const handler = this.handler;
    if (handler === undefined) return;
    // Inline rather than through `guard`: a closure per packet is an allocation.
    try {
      handler(packet, checksumValid);
    } catch (error) {
      this.reportHandlerError(error);
    }
  }

  private guard(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.reportHandlerError(error);
    }
  }

  private reportHandlerError(error: unknown): void {
    // The layer above broke its "ingress never throws" rule; keep the device alive.
    this.counters.handlerErrors++;
    console.error(`${this.name}: receive handler threw:`, error);
  }
}

/** Linux dev_valid_name(): 1..15 bytes, not "." or "..", no "/", ":" or whitespace. */
/** TSTCP_TUN_OFFLOAD: "0" off, "1" required, anything else (or unset) tried with fallback. */
function offloadFromEnvironment(): boolean | undefined {
  const value = process.env.TSTCP_TUN_OFFLOAD;
  return value === "0" ? false : value === "1" ? true : undefined;
}

/**
 * Creates the interface on a new fd: with IFF_VNET_HDR and TUNSETOFFLOAD(`offloadFlags`)
 * when they are given, plain otherwise. On failure the fd is closed (nothing is left).
 */
function openDevice(
  requested: string,
  offloadFlags: number | undefined,
): { fd: number; name: string } {
  const fd = libc.open("/dev/net/tun", libc.O_RDWR | libc.O_NONBLOCK | libc.O_CLOEXEC);
  if (fd < 0) throw deviceErrorFor(libc.errno(), "open /dev/net/tun", requested);
  let name = requested;
  try {
    const ifr = ifreq(name);
    const flags = IFF_TUN | IFF_NO_PI | (offloadFlags === undefined ? 0 : IFF_VNET_HDR);
    new DataView(ifr.buffer).setUint16(IFR_UNION, flags, true);
    if (libc.ioctl(fd, TUNSETIFF, ifr) < 0) {
      throw deviceErrorFor(libc.errno(), `create the TUN interface ${name}`, name);
    }
    name = nameOf(ifr); // the kernel fills in "tun%d"
    if (offloadFlags !== undefined && libc.ioctlValue(fd, TUNSETOFFLOAD, offloadFlags) < 0) {
      throw deviceErrorFor(libc.errno(), `enable offloads on ${name}`, name);
    }
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  return { fd, name };
}

function checkName(name: string): void {
  const bytes = new TextEncoder().encode(name).byteLength;
  if (bytes >= IFNAMSIZ) {
    throw new DeviceError(
      "ENAMETOOLONG",
      `The interface name "${name}" is ${bytes} bytes long, but Linux allows at most ${IFNAMSIZ - 1}.`,
    );
  }
  if (bytes === 0 || name === "." || name === ".." || /[/:\s]/.test(name)) {
    throw new DeviceError(
      "EINVAL",
      `The interface name "${name}" is not valid: use 1 to 15 characters without "/", ":" or spaces.`,
    );
  }
}

function checkAddress(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined || cidr.prefixLength === 0 || cidr.prefixLength > 30) {
    throw new DeviceError(
      "EINVAL",
      `The address "${text}" is not an IPv4 address with a prefix length of 1 to 30, like 10.0.0.1/24.`,
    );
  }
  return cidr;
}

function checkAddress6(text: string): Ipv6Cidr {
  const cidr = parseIpv6Cidr(text);
  if (cidr === undefined || cidr.prefixLength === 0 || cidr.prefixLength > 126) {
    throw new DeviceError(
      "EINVAL",
      `The address "${text}" is not an IPv6 address with a prefix length of 1 to 126, like fd00::1/64.`,
    );
  }
  return cidr;
}

/** Sets MTU, address and netmask of the kernel side, then brings the interface up. */
function configure(name: string, mtu: number, cidr: Cidr | undefined): void {
  const sock = libc.socket(libc.AF_INET, libc.SOCK_DGRAM, 0);
  if (sock < 0) throw deviceErrorFor(libc.errno(), "open a configuration socket", name);
  try {
    const mtuRequest = ifreq(name);
    new DataView(mtuRequest.buffer).setInt32(IFR_UNION, mtu, true);
    request(sock, SIOCSIFMTU, mtuRequest, `set the MTU of ${name} to ${mtu}`, name);
    if (cidr === undefined) return;
    const where = `${formatIpv4(cidr.address)}/${cidr.prefixLength}`;
    request(
      sock,
      SIOCSIFADDR,
      sockaddrRequest(name, cidr.address),
      `set ${name} to ${where}`,
      name,
    );
    const mask = sockaddrRequest(name, netmask(cidr.prefixLength));
    request(sock, SIOCSIFNETMASK, mask, `set the netmask of ${name}`, name);
    const flags = ifreq(name);
    request(sock, SIOCGIFFLAGS, flags, `read the flags of ${name}`, name);
    const view = new DataView(flags.buffer);
    view.setUint16(IFR_UNION, view.getUint16(IFR_UNION, true) | IFF_UP | IFF_RUNNING, true);
    request(sock, SIOCSIFFLAGS, flags, `bring ${name} up`, name);
  } finally {
    libc.close(sock);
  }
}

function request(sock: number, code: number, ifr: Uint8Array, step: string, name: string): void {
  if (libc.ioctl(sock, code, ifr) < 0) throw deviceErrorFor(libc.errno(), step, name);
}

function ifreq(name: string): Uint8Array {
  const ifr = new Uint8Array(IFREQ_SIZE);
  new TextEncoder().encodeInto(name, ifr.subarray(0, IFNAMSIZ - 1));
  return ifr;
}

/** An ifreq carrying a struct sockaddr_in (AF_INET, port 0, address in network order). */
function sockaddrRequest(name: string, address: number): Uint8Array {
  const ifr = ifreq(name);
  const view = new DataView(ifr.buffer);
  view.setUint16(IFR_UNION, libc.AF_INET, true);
  view.setUint32(SIN_ADDR, address, false);
  return ifr;
}

function nameOf(ifr: Uint8Array): string {
  const end = ifr.subarray(0, IFNAMSIZ).indexOf(0);
  return new TextDecoder().decode(ifr.subarray(0, end < 0 ? IFNAMSIZ : end));
}
