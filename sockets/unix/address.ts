/**
 * Unix-domain socket addresses (unix(7)): `struct sockaddr_un` and its three kinds.
 *
 *   struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
 *
 *   pathname  "/run/app.sock"    a name in the file system (bind creates the file)
 *   abstract  "@app"             sun_path[0] is NUL; the name is the bytes after it and
 *                                lives only in the kernel (Linux), gone with the socket
 *   unnamed   ""                 no name: a socketpair, or a socket never bound
 *
 * In text an abstract name is written with a leading "@" (as ss(8) and socat show it);
 * a leading NUL character is accepted too. A file whose name starts with "@" is
 * reached as "./@name". bind with "" asks for autobind: the kernel picks an abstract
 * name of five hex digits (unix(7) "Autobind feature").
 */
import { SocketError } from "../errors.ts";
import { AF_UNIX } from "./libc.ts";

/** sizeof(sun_path). */
export const SUN_PATH_BYTES = 108;
/** The longest name, leaving room for the terminating NUL (or the abstract leading NUL). */
export const MAX_NAME_BYTES = SUN_PATH_BYTES - 1;
/** offsetof(struct sockaddr_un, sun_path). */
const SUN_PATH = 2;
/** What a sockaddr_un buffer for recvfrom/getsockname needs. */
export const SOCKADDR_UN_BYTES = SUN_PATH + SUN_PATH_BYTES;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The sockaddr_un for `name`, sized as the kernel wants it: family, then the path with
 * its NUL (a pathname) or the NUL and the name's bytes, unterminated (abstract; the
 * length says where it ends). "" is the bare family: autobind for bind(2).
 *
 * Longer than 107 bytes is ENAMETOOLONG, as libuv and Node report it. The kernel itself
 * answers EINVAL for an address longer than sockaddr_un, and takes exactly 108 bytes
 * when the path is left unterminated; we always terminate, so 107 is the limit.
 */
export function encodeUnixAddress(name: string, syscall: string): Uint8Array {
  if (typeof name !== "string") {
    throw new SocketError("EINVAL", syscall, "a Unix-domain address is a path (a string)");
  }
  const abstract = name.startsWith("@") || name.startsWith("\0");
  const bytes = encoder.encode(abstract ? name.slice(1) : name);
  if (bytes.byteLength > MAX_NAME_BYTES) {
    throw new SocketError(
      "ENAMETOOLONG",
      syscall,
      `${JSON.stringify(name)} is ${bytes.byteLength} bytes; a Unix-domain name has at most ${MAX_NAME_BYTES}`,
    );
  }
  if (!abstract && bytes.includes(0)) {
    throw new SocketError("EINVAL", syscall, "a path cannot contain a NUL byte");
  }
  // Pathname: family, path, NUL. Abstract: family, NUL, name. Autobind: family alone.
  const length = name === "" ? SUN_PATH : SUN_PATH + 1 + bytes.byteLength;
  const address = new Uint8Array(length);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(bytes, abstract ? SUN_PATH + 1 : SUN_PATH);
  return address;
}

/**
 * The text form of the first `length` bytes of a sockaddr_un the kernel wrote:
 * "" (unnamed), "@name" (abstract) or the path.
 */
export function decodeUnixAddress(address: Uint8Array, length: number): string {
  if (length <= SUN_PATH) return "";
  const path = address.subarray(SUN_PATH, Math.min(length, SOCKADDR_UN_BYTES));
  if (path[0] === 0) return `@${decoder.decode(path.subarray(1))}`;
  const end = path.indexOf(0);
  return decoder.decode(end < 0 ? path : path.subarray(0, end));
}
