/**
 * A seeded pseudo-random source, so that ISNs, ephemeral ports, IP identifications and
 * simulated faults replay exactly from a seed in tests. Entropy comes in from outside,
 * as time does: nothing in `stack/` reads the operating system's CSPRNG. Production
 * passes `device/system_entropy.ts` (`StackOptions.entropy`), which seeds this generator
 * and keys what must be unpredictable to an attacker (the RFC 6528 ISN secret).
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

/**
 * Where secret bytes come from: the operating system's CSPRNG in production
 * (`device/system_entropy.ts`), a fixed or seeded source in tests. Injected like the
 * clock (`stack/clock.ts`), so the stack itself does no I/O.
 */
export interface Entropy {
  /** `length` unpredictable bytes. */
  bytes(length: number): Uint8Array;
}

/** A Random seeded from `entropy`. */
export function randomFrom(entropy: Entropy): Random {
  const seed = entropy.bytes(4);
  return new Random(new DataView(seed.buffer, seed.byteOffset, 4).getUint32(0));
}
