/**
 * The operating system's CSPRNG (Web Crypto's `getRandomValues`, in Bun), as the
 * stack's `Entropy` (`stack/random.ts`). The stack is handed it, as it is handed the
 * clock (`real_clock.ts`): nothing in `stack/` reads it itself.
 */
import type { Entropy } from "../stack/random.ts";

export const systemEntropy: Entropy = {
  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    return bytes;
  },
};
