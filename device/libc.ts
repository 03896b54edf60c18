/**
 * The few libc calls the TUN device needs, through `bun:ffi`, and the errors they raise.
 *
 * Read `tun.ts` first; this file is its plumbing. Every call returns -1 and sets `errno`
 * on failure (POSIX); `errno()` reads it through glibc's `__errno_location`, right after
 * the failing call and on the same thread. `DeviceError` turns an errno into one sentence
 * a user can act on ("run it with sudo"), instead of a number.
 */
import { dlopen, FFIType, type Pointer, ptr, read } from "bun:ffi";

export type { Pointer };

const lib = dlopen("libc.so.6", {
  open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  // ssize_t results as `i64_fast`: a plain number while it fits in 53 bits (always,
  // here), where `i64` makes a BigInt for every call, one object per packet.
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  // ioctl is variadic in C; on x86-64 and aarch64 a third fixed pointer argument is
  // passed exactly like the variadic one.
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
});

// The same ioctl for requests whose argument is a plain integer (TUNSETOFFLOAD): a
// symbol has one signature per dlopen handle, so it gets a handle of its own.
const valueLib = dlopen("libc.so.6", {
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
});

/** open(2) flags (asm-generic/fcntl.h). */
export const O_RDWR = 0x2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;

/** socket(2) arguments for the configuration socket. */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;

/** errno values (asm-generic/errno-base.h) that the device explains. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENAMETOOLONG: 36,
} as const;

const errnoNames = new Map<number, string>(Object.entries(Errno).map(([name, n]) => [n, name]));

/** "EPERM" for 1; "errno 95" for a number this file does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** The errno left by the last failing libc call on this thread. */
export function errno(): number {
  const location = lib.symbols.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text`, as C wants a path. */
export function cString(text: string): Uint8Array {
  const encoded = encoder.encode(text);
  const bytes = new Uint8Array(encoded.byteLength + 1);
  bytes.set(encoded);
  return bytes;
}

export function open(path: string, flags: number): number {
  return lib.symbols.open(ptr(cString(path)), flags);
}

export function close(fd: number): number {
  return lib.symbols.close(fd);
}

/** ioctl(fd, request, argument): `argument` is the struct the request reads or fills. */
export function ioctl(fd: number, request: number, argument: Uint8Array): number {
  return lib.symbols.ioctl(fd, request, ptr(argument));
}

/** ioctl(fd, request, value) for a request that takes an integer, not a struct. */
export function ioctlValue(fd: number, request: number, value: number): number {
  return valueLib.symbols.ioctl(fd, request, value);
}

export function socket(domain: number, type: number, protocol: number): number {
  return lib.symbols.socket(domain, type, protocol);
}

/** The address of a buffer's first byte, computed once for a buffer that is reused. */
export function pointerOf(buffer: Uint8Array): Pointer {
  return ptr(buffer);
}

/** read(2) into `buffer` (its whole length); returns bytes read, or -1 with errno set. */
export function readInto(
  fd: number,
  buffer: Uint8Array,
  bufferPointer: Pointer = ptr(buffer),
): number {
  return Number(lib.symbols.read(fd, bufferPointer, buffer.byteLength));
}

/** write(2) all of `bytes`; returns bytes written, or -1 with errno set. */
export function write(fd: number, bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return 0;
  return Number(lib.symbols.write(fd, ptr(bytes), bytes.byteLength));
}

export type DeviceErrorCode =
  | "EPERM"
  | "ENOENT"
  | "EBUSY"
  | "ENAMETOOLONG"
  | "EINVAL"
  | "ENODEV"
  | (string & {});

/**
 * A device that could not be opened or configured, with a one-sentence `message` that
 * says what to do, and the errno name in `code`.
 */
export class DeviceError extends Error {
  readonly code: DeviceErrorCode;

  constructor(code: DeviceErrorCode, message: string) {
    super(message);
    this.name = "DeviceError";
    this.code = code;
  }
}

/**
 * The sentence for a failed step of opening a TUN device. `step` names the call in plain
 * words ("open /dev/net/tun", "set the address of tun0"), used for errors with no advice.
 */
export function deviceErrorFor(errnoValue: number, step: string, name: string): DeviceError {
  const code = errnoName(errnoValue);
  switch (errnoValue) {
    case Errno.EPERM:
    case Errno.EACCES:
      return new DeviceError(
        "EPERM",
        `Permission denied to ${step}: creating a TUN device needs root (CAP_NET_ADMIN), so run it with sudo.`,
      );
    case Errno.ENOENT:
    case Errno.ENODEV:
    case Errno.ENXIO:
      return new DeviceError(
        code,
        `Cannot ${step}: /dev/net/tun is missing, so load the tun module: modprobe tun.`,
      );
    case Errno.EBUSY:
      return new DeviceError(
        "EBUSY",
        `The interface name ${name} is busy: another process has it open, so choose another name with --tun.`,
      );
    case Errno.EINVAL:
      return new DeviceError(
        "EINVAL",
        `Cannot ${step}: the kernel rejected the request (is ${name} an existing interface that is not a TUN device?).`,
      );
    default:
      return new DeviceError(code, `Cannot ${step}: the kernel answered ${code}.`);
  }
}
