/**
 * A byte ring: the send and receive buffers of a connection (RFC 9293 §3.3.1 pictures
 * them as the sequence space; this is where those bytes live).
 *
 * Fixed capacity (chosen by SO_SNDBUF / SO_RCVBUF), so memory per connection is
 * bounded; `grow` exists for receive-buffer auto-tuning. No allocation per call.
 */
export class RingBuffer {
  private bytes: Uint8Array;
  private head = 0;
  private used = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(1, capacity));
  }

  get capacity(): number {
    return this.bytes.length;
  }

  /** Bytes stored. */
  get length(): number {
    return this.used;
  }

  /** Bytes that still fit. */
  get free(): number {
    return this.bytes.length - this.used;
  }

  /** Appends as much of `data` as fits; returns how many bytes were taken. */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    const capacity = this.bytes.length;
    let tail = this.head + this.used;
    if (tail >= capacity) tail -= capacity;
    const first = Math.min(n, capacity - tail);
    this.bytes.set(data.subarray(0, first), tail);
    if (n > first) this.bytes.set(data.subarray(first, n), 0);
    this.used += n;
    return n;
  }

  /** Copies `into.length` bytes starting `offset` bytes after the head, without consuming. */
  peek(offset: number, into: Uint8Array): void {
    if (offset + into.length > this.used)
      throw new Error(`peek past end: ${offset}+${into.length} > ${this.used}`);
    const capacity = this.bytes.length;
    let start = this.head + offset;
    if (start >= capacity) start -= capacity;
    const first = Math.min(into.length, capacity - start);
    into.set(this.bytes.subarray(start, start + first));
    if (into.length > first) into.set(this.bytes.subarray(0, into.length - first), first);
  }

  /** Copies out and consumes up to `into.length` bytes; returns how many. */
  read(into: Uint8Array): number {
    const n = Math.min(into.length, this.used);
    this.peek(0, into.subarray(0, n));
    this.discard(n);
    return n;
  }

  /** Drops `n` bytes from the head (acknowledged data). */
  discard(n: number): void {
    if (n > this.used) throw new Error(`discard ${n} > ${this.used} stored`);
    this.head += n;
    if (this.head >= this.bytes.length) this.head -= this.bytes.length;
    this.used -= n;
    if (this.used === 0) this.head = 0;
  }

  /** Enlarges the ring to `capacity` bytes, keeping the contents. */
  grow(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const next = new Uint8Array(capacity);
    this.peek(0, next.subarray(0, this.used));
    this.bytes = next;
    this.head = 0;
  }

  /** Shrinks the storage to what is stored (at least 1 byte): a closing connection's
   * buffers should not keep their full size through TIME-WAIT. */
  compact(): void {
    if (this.bytes.length <= Math.max(this.used, 1)) return;
    const next = new Uint8Array(Math.max(this.used, 1));
    this.peek(0, next.subarray(0, this.used));
    this.bytes = next;
    this.head = 0;
  }

  /** Empties the ring. */
  clear(): void {
    this.head = 0;
    this.used = 0;
  }
}
