/**
 * The stack: one host's IPv4, ICMP, UDP and TCP, with no I/O of its own.
 *
 * Read this file first. Packets come in through `receive(packet, now)` and go out
 * through `transmit(packet)`, which the driver (`device/driver.ts`) points at a device.
 * Time comes in as `now`; `nextDeadline()` says when the stack next needs `poll(now)`.
 *
 *   device → receive → ipv4Input (ipv4/ipv4.ts) → icmp / udp / tcp → endpoints → sockets
 *   sockets → endpoints → tcp / udp / icmp → ipv4Output → transmit → device
 */

// Layers (filled in by their own files):
import type { Forwarder } from "./forwarding.ts";
import { Icmp } from "./icmp/icmp.ts";
import { Ipv4 } from "./ipv4/ipv4.ts";
import { NO_OFFLOAD, type Offload, type TransmitOffload } from "./offload.ts";
import { type Entropy, type Random, randomFrom } from "./random.ts";
import { Stats } from "./stats.ts";
import { Tcp, type TcpConfig } from "./tcp/tcp.ts";
import { NO_TRACE, type Trace } from "./trace.ts";
import { Udp } from "./udp/udp.ts";

/**
 * How the stack is made. Entropy comes in as time does: `entropy`, or a seeded `random`
 * in tests; the type requires one of them.
 */
export type StackOptions = StackBaseOptions &
  ({ entropy: Entropy; random?: Random } | { random: Random; entropy?: Entropy });

interface StackBaseOptions {
  /** The stack's own address and the prefix length of its subnet. */
  address: number;
  prefixLength: number;
  /** The device MTU (bytes of IPv4 packet). */
  mtu: number;
  /**
   * Where secrets and seeds come from (`device/system_entropy.ts` in production), as
   * time comes in as `now`: the stack never reads the CSPRNG itself.
   */
  entropy?: Entropy;
  /** Seeded in tests so ISNs, ports and IP ids replay; drawn from `entropy` otherwise. */
  random?: Random;
  trace?: Trace;
  tcp?: Partial<TcpConfig>;
  /** What the device finishes for us (`Device.capabilities.offload`); none by default. */
  offload?: Offload;
  /** A gateway's hook for traffic to other addresses (forwarding.ts); none: a plain host. */
  forwarder?: Forwarder;
}

export class Stack {
  readonly address: number;
  readonly prefixLength: number;
  readonly mtu: number;
  readonly offload: Offload;
  readonly random: Random;
  readonly trace: Trace;
  readonly stats: Stats;
  readonly ipv4: Ipv4;
  readonly icmp: Icmp;
  readonly udp: Udp;
  readonly tcp: Tcp;
  readonly forwarder: Forwarder | undefined;
  /**
   * Where outgoing packets go; the driver sets it. The bytes are only valid during the
   * call. `offload` (only with `StackOptions.offload`) says what the device must finish.
   */
  transmit: (packet: Uint8Array, offload?: TransmitOffload) => void = () => {};

  constructor(options: StackOptions) {
    this.address = options.address >>> 0;
    this.prefixLength = options.prefixLength;
    this.mtu = options.mtu;
    this.offload = options.offload ?? NO_OFFLOAD;
    this.random = options.random ?? randomFrom(entropyOf(options));
    this.trace = options.trace ?? NO_TRACE;
    this.stats = new Stats(this.trace);
    this.forwarder = options.forwarder;
    this.ipv4 = new Ipv4(this);
    this.icmp = new Icmp(this);
    this.udp = new Udp(this);
    this.tcp = new Tcp(this, tcpConfigOf(options, this.random));
  }

  /**
   * A packet arrived from the device. Never throws: bad input is dropped and counted.
   * `checksumValid`: the device vouches for its TCP/UDP checksum (the kernel made the
   * packet on this host, `device/offload.ts`), so it is not summed again.
   */
  receive(packet: Uint8Array, now: number, checksumValid = false): void {
    this.ipv4.input(packet, now, checksumValid);
  }

  /** Runs every timer that is due at `now` and sends whatever is owed. */
  poll(now: number): void {
    this.ipv4.poll(now);
    this.tcp.poll(now);
  }

  /** The earliest time at which `poll` has work to do; Infinity when idle. */
  nextDeadline(): number {
    return Math.min(this.ipv4.nextDeadline(), this.tcp.nextDeadline());
  }
}

/**
 * TCP's config for this stack. The ISN key (RFC 6528 §3: a secret) comes from `entropy`
 * unless the stack was given an explicit, seeded `random`: a test that must replay
 * exactly, whose key is then drawn from it.
 */
function tcpConfigOf(options: StackOptions, random: Random): Partial<TcpConfig> {
  if (options.tcp?.isnKey !== undefined) return options.tcp;
  if (options.random === undefined) return { ...options.tcp, isnKey: entropyOf(options).bytes(8) };
  const key = new Uint8Array(8);
  const view = new DataView(key.buffer);
  view.setUint32(0, random.nextUint32());
  view.setUint32(4, random.nextUint32());
  return { ...options.tcp, isnKey: key };
}

function entropyOf(options: StackOptions): Entropy {
  if (options.entropy !== undefined) return options.entropy;
  throw new Error(
    "StackOptions needs `entropy` (device/system_entropy.ts) or a seeded `random`: the stack does not read the CSPRNG itself",
  );
}
