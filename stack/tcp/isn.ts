/**
 * Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528 §3).
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a clock ticking every 4 microseconds (RFC 9293 §3.4.1), so a new incarnation of
 * a four-tuple starts above the old one's numbers; F is a keyed pseudorandom function
 * so an off-path attacker cannot guess the ISN (RFC 6528). F here is HalfSipHash-2-4
 * (Aumasson and Bernstein; the 32-bit SipHash variant Linux uses for hash tables) over
 * the four-tuple, keyed with 64 secret bits (TcpConfig.isnKey, from the injected entropy).
 * An IPv6 tuple is hashed with all 128 bits of each address (RFC 6528 §3 "localip,
 * remoteip": the whole addresses).
 *
 * The same function keys SYN cookies (syn_cookies.ts).
 */
import { addressWords, type IpAddress } from "../network.ts";
import { seqAdd } from "./seq.ts";

export class IsnGenerator {
  private readonly k0: number;
  private readonly k1: number;

  constructor(key: Uint8Array) {
    const view = new DataView(key.buffer, key.byteOffset, 8);
    this.k0 = view.getUint32(0, true);
    this.k1 = view.getUint32(4, true);
  }

  /** F(): the keyed hash of a four-tuple and an extra word, 32 bits. */
  hash(
    localAddress: IpAddress,
    localPort: number,
    remoteAddress: IpAddress,
    remotePort: number,
    extra = 0,
  ): number {
    const ports = ((localPort << 16) | remotePort) >>> 0;
    if (typeof localAddress === "number" && typeof remoteAddress === "number") {
      return halfSipHash(this.k0, this.k1, [localAddress, remoteAddress, ports, extra]);
    }
    const words = [...addressWords(localAddress), ...addressWords(remoteAddress), ports, extra];
    return halfSipHash(this.k0, this.k1, words);
  }

  /** RFC 6528: ISN = M + F(four-tuple, key), M the 4 µs clock. */
  isn(
    localAddress: IpAddress,
    localPort: number,
    remoteAddress: IpAddress,
    remotePort: number,
    now: number,
  ): number {
    const m = Math.floor(now * 250) >>> 0; // 250 ticks per millisecond = one per 4 µs
    return seqAdd(m, this.hash(localAddress, localPort, remoteAddress, remotePort));
  }
}

function rotl(x: number, b: number): number {
  return ((x << b) | (x >>> (32 - b))) >>> 0;
}

/** HalfSipHash-2-4 of 32-bit words (4 for an IPv4 tuple, 10 for IPv6), 32-bit output. */
function halfSipHash(k0: number, k1: number, m: readonly number[]): number {
  const v = [k0 >>> 0, k1 >>> 0, (0x6c796765 ^ k0) >>> 0, (0x74656462 ^ k1) >>> 0];
  const round = () => {
    v[0] = (v[0]! + v[1]!) >>> 0;
    v[1] = rotl(v[1]!, 5) ^ v[0]!;
    v[0] = rotl(v[0]!, 16);
    v[2] = (v[2]! + v[3]!) >>> 0;
    v[3] = rotl(v[3]!, 8) ^ v[2]!;
    v[0] = (v[0]! + v[3]!) >>> 0;
    v[3] = rotl(v[3]!, 7) ^ v[0]!;
    v[2] = (v[2]! + v[1]!) >>> 0;
    v[1] = rotl(v[1]!, 13) ^ v[2]!;
    v[2] = rotl(v[2]!, 16);
  };
  // The final word carries the message length in bytes in its top octet (SipHash's padding).
  for (const word of [...m, ((m.length * 4) << 24) >>> 0]) {
    const w = word >>> 0;
    v[3] = (v[3]! ^ w) >>> 0;
    round();
    round();
    v[0] = (v[0]! ^ w) >>> 0;
  }
  v[2] = (v[2]! ^ 0xff) >>> 0;
  for (let i = 0; i < 4; i++) round();
  return (v[1]! ^ v[3]!) >>> 0;
}
