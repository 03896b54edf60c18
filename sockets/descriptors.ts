/**
 * The descriptor table: small integers naming open sockets and epoll instances.
 *
 * Like Unix, a new descriptor is the lowest number not in use (POSIX open(2): "the
 * lowest numbered file descriptor not currently open"), starting at 3 because 0, 1 and
 * 2 are stdin, stdout and stderr in every process. Freed numbers wait in a min-heap, so
 * allocation stays O(log n) with thousands of descriptors open.
 */
import { SocketError } from "./errors.ts";

/** The first descriptor handed out: 0–2 are the standard streams. */
export const FIRST_DESCRIPTOR = 3;
/** RLIMIT_NOFILE's usual hard limit on Linux; beyond it, EMFILE. */
export const MAX_DESCRIPTORS = 1_048_576;

export class DescriptorTable<T> {
  private readonly open = new Map<number, T>();
  /** Numbers below `next` that were freed, smallest on top. */
  private readonly free: number[] = [];
  private next = FIRST_DESCRIPTOR;

  /** Gives `entry` the lowest free descriptor and returns it. */
  allocate(entry: T, syscall: string): number {
    if (this.open.size >= MAX_DESCRIPTORS) throw new SocketError("EMFILE", syscall);
    const fd = this.free.length > 0 ? popMin(this.free) : this.next++;
    this.open.set(fd, entry);
    return fd;
  }

  /** The entry behind `fd`, or EBADF if it is not open. */
  get(fd: number, syscall: string): T {
    const entry = this.open.get(fd);
    if (entry === undefined) {
      throw new SocketError("EBADF", syscall, `${fd} is not an open descriptor`);
    }
    return entry;
  }

  has(fd: number): boolean {
    return this.open.has(fd);
  }

  /** Frees `fd` (EBADF if it is not open) and returns what it named. */
  remove(fd: number, syscall: string): T {
    const entry = this.get(fd, syscall);
    this.open.delete(fd);
    pushMin(this.free, fd);
    return entry;
  }

  get size(): number {
    return this.open.size;
  }

  entries(): IterableIterator<[number, T]> {
    return this.open.entries();
  }
}

function pushMin(heap: number[], value: number): void {
  heap.push(value);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

function popMin(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && heap[right]! < heap[left]! ? right : left;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
