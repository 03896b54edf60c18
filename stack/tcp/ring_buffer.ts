/**
 * A byte ring: the send and receive buffers of a connection (RFC 9293 §3.3.1 pictures
 * them as the sequence space; this is where those bytes live).
 *
 * Bounded capacity (chosen by SO_SNDBUF / SO_RCVBUF), so memory per connection is
 * bounded; `grow` raises the bound for receive-buffer auto-tuning. The storage behind
 * it is allocated on demand and doubles as data arrives (as Linux charges a socket only
 * for the skbs it holds): a connection that is idle, or sends a few hundred bytes, does
 * not pay for 2 × 256 KiB. Once grown the storage is kept (no churn on a busy
 * connection); `compact` gives it back. No allocation per call otherwise.
 *
 * A ring that empties while its storage is still the first, small size gives that
 * storage to a shared pool and takes one back on its next write: a connection that
 * carries small requests and replies, then idles, holds no buffer while idle (Linux
 * likewise frees a socket's skbs once read or acknowledged), and a busy one recycles
 * the same few blocks instead of allocating.
 */

/** Storage of a ring that has never held a byte (shared: it has no room to write into). */
const NO_STORAGE = new Uint8Array(0);

/** The first storage a ring takes: room for a small request or reply. */
const FIRST_STORAGE_BYTES = 2048;

/** Free first-size blocks kept for reuse (bounded: 256 × 2 KiB = 512 KiB at most). */
const POOL_LIMIT = 256;
const pool: Uint8Array[] = [];

/** A first-size block: from the pool when one is free. */
function takeFirstStorage(): Uint8Array {
  return pool.pop() ?? new Uint8Array(FIRST_STORAGE_BYTES);
}

export class RingBuffer {
  private bytes: Uint8Array = NO_STORAGE;
  private limit: number;
  private head = 0;
  private used = 0;

  constructor(capacity: number) {
    this.limit = Math.max(1, capacity);
  }

  /** The most bytes the ring holds (its storage may be smaller until they arrive). */
  get capacity(): number {
    return this.limit;
  }

  /** Bytes of storage held now (0 for a ring that is empty with small storage). */
  get storageBytes(): number {
    return this.bytes.length;
  }

  /** Bytes stored. */
  get length(): number {
    return this.used;
  }

  /** Bytes that still fit. */
  get free(): number {
    return this.limit - this.used;
  }

  /** Appends as much of `data` as fits; returns how many bytes were taken. */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (this.used + n > this.bytes.length) this.reserve(this.used + n);
    const capacity = this.bytes.length;
    let tail = this.head + this.used;
    if (tail >= capacity) tail -= capacity;
    const first = Math.min(n, capacity - tail);
    // The usual case, all of `data` in one piece, needs no view of it.
    if (first === data.length) this.bytes.set(data, tail);
    else this.bytes.set(data.subarray(0, first), tail);
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
    if (this.used === 0) this.release();
  }

  /** Empty: a first-size block goes back to the pool, so an idle connection holds none. */
  private release(): void {
    this.head = 0;
    if (this.bytes.length !== FIRST_STORAGE_BYTES) return;
    if (pool.length < POOL_LIMIT) pool.push(this.bytes);
    this.bytes = NO_STORAGE;
  }

  /** Raises the capacity to `capacity` bytes (storage follows as data arrives). */
  grow(capacity: number): void {
    if (capacity > this.limit) this.limit = capacity;
  }

  /** Shrinks the ring to what is stored (storage and capacity; no storage when empty): a
   * closing connection's buffers should not keep their full size through TIME-WAIT. */
  compact(): void {
    this.limit = Math.max(this.used, 1);
    if (this.bytes.length > this.used) this.resize(this.used);
  }

  /** Storage for at least `needed` bytes: doubling from FIRST_STORAGE_BYTES, at most the capacity. */
  private reserve(needed: number): void {
    let size = Math.max(FIRST_STORAGE_BYTES, this.bytes.length);
    while (size < needed) size *= 2;
    this.resize(Math.min(size, this.limit));
  }

  /** Moves the contents to new storage of `size` bytes (>= used), starting at index 0. */
  private resize(size: number): void {
    const next =
      size === 0
        ? NO_STORAGE
        : size === FIRST_STORAGE_BYTES && this.used === 0
          ? takeFirstStorage()
          : new Uint8Array(size);
    this.peek(0, next.subarray(0, this.used));
    this.bytes = next;
    this.head = 0;
  }

  /** Empties the ring. */
  clear(): void {
    this.used = 0;
    this.release();
  }
}
