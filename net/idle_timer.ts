/**
 * `socket.setTimeout(ms)`: Node's idle timeout. Every read or write re-arms it; after `ms`
 * with neither it fires once (the socket emits `timeout` and stays open: closing is the
 * program's choice). It never keeps the process alive by itself (an unref'd timer).
 */
export class IdleTimer {
  #ms: number | undefined;
  #handle: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly fire: () => void) {}

  /** The timeout in ms, or undefined when off. */
  get ms(): number | undefined {
    return this.#ms;
  }

  /** Sets the timeout (0 turns it off) and starts counting from now. */
  set(ms: number): void {
    this.#ms = ms > 0 ? ms : undefined;
    this.touch();
  }

  /** Activity: start counting again. */
  touch(): void {
    this.clear();
    const ms = this.#ms;
    if (ms === undefined) return;
    this.#handle = setTimeout(() => {
      this.#handle = undefined;
      this.fire();
    }, ms);
    this.#handle.unref?.();
  }

  clear(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
