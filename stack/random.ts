/**
 * A seeded pseudo-random source, so that ISNs, ephemeral ports, IP identifications and
 * simulated faults replay exactly from a seed in tests. Production seeds it from
 * `crypto.getRandomValues`; values that must be unpredictable to an attacker (RFC 6528
 * ISN secret, RFC 6056 port offsets) take their key from `secureRandomBytes` instead.
 *
 * The generator is xoshiro128** (Blackman and Vigna), small and well distributed.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 expands one seed into four state words that are never all zero.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An integer in [low, high] inclusive. */
  nextInt(low: number, high: number): number {
    return low + Math.floor(this.nextFloat() * (high - low + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.nextFloat() < p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Bytes from the operating system's CSPRNG (Web Crypto, available in Bun). */
export function secureRandomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return bytes;
}

/** A Random seeded from the CSPRNG, for production use. */
export function randomFromSystem(): Random {
  const seed = new Uint32Array(secureRandomBytes(4).buffer)[0]!;
  return new Random(seed);
}
