/**
 * Socket addresses as text, for both families: what `bind`, `connect` and `sendto` take
 * and what `getsockname`, `getpeername`, `recvfrom` and `accept` give back.
 *
 * Inside, an address is the stack's `IpAddress` (stack/network.ts): a u32 for IPv4, the
 * canonical RFC 5952 text for IPv6. An inet6 socket that talks to an IPv4 peer (dual
 * stack, RFC 4291 §2.5.5.2, RFC 3493 §3.7) holds the peer as an IPv4 number, because the
 * connection really is IPv4, and names it `::ffff:a.b.c.d` to the program: the family
 * the program asked for is the family it is answered in (as Linux does).
 *
 * @example
 * parseSocketAddress("::ffff:10.0.0.1", "inet6", "connect") === 0x0a000001
 * formatSocketAddress(0x0a000001, "inet6") === "::ffff:10.0.0.1"
 */
import { formatIpv4, parseIpv4 } from "../stack/address.ts";
import { parseIpv6, UNSPECIFIED_IPV6, v4Mapped, v4MappedToIpv4 } from "../stack/ipv6/address.ts";
import type { AddressFamily, IpAddress } from "../stack/network.ts";
import { SocketError } from "./errors.ts";

/** The family's wildcard, "any local address" for bind(): 0.0.0.0 or ::. */
export function wildcardOf(family: AddressFamily): IpAddress {
  return family === "inet" ? 0 : UNSPECIFIED_IPV6;
}

/**
 * The address a program wrote, for a socket of `family`. An inet socket takes dotted
 * quads only (an IPv6 address there is EAFNOSUPPORT, as Linux's inet_stream_connect
 * answers an AF_INET6 sockaddr); an inet6 socket takes RFC 4291 §2.2 text, and an
 * IPv4-mapped address means the IPv4 host, unless the socket is IPv6-only.
 */
export function parseSocketAddress(
  text: string,
  family: AddressFamily,
  syscall: string,
  v6Only = false,
): IpAddress {
  if (typeof text !== "string") {
    throw new SocketError("EINVAL", syscall, `the address must be a string, not ${typeof text}`);
  }
  if (family === "inet") {
    const address = parseIpv4(text);
    if (address !== undefined) return address;
    if (parseIpv6(text) !== undefined) {
      throw new SocketError(
        "EAFNOSUPPORT",
        syscall,
        `${text} is an IPv6 address and the socket is inet; make an inet6 socket`,
      );
    }
    throw new SocketError("EINVAL", syscall, `${JSON.stringify(text)} is not an IPv4 address`);
  }
  const address = parseIpv6(text);
  if (address === undefined) {
    const hint = parseIpv4(text) !== undefined ? `; write ::ffff:${text} on an inet6 socket` : "";
    throw new SocketError(
      "EINVAL",
      syscall,
      `${JSON.stringify(text)} is not an IPv6 address${hint}`,
    );
  }
  const ipv4 = v4MappedToIpv4(address);
  if (ipv4 === undefined) return address;
  if (v6Only) {
    // Linux: an IPv6-only socket cannot reach (or bind) an IPv4-mapped address.
    const code = syscall === "bind" ? "EADDRNOTAVAIL" : "ENETUNREACH";
    throw new SocketError(code, syscall, `${address} is IPv4-mapped and the socket is IPV6_V6ONLY`);
  }
  return ipv4;
}

/** The address as a program of `family` reads it: IPv4 peers of inet6 sockets v4-mapped. */
export function formatSocketAddress(address: IpAddress, family: AddressFamily): string {
  if (typeof address !== "number") return address;
  if (family === "inet") return formatIpv4(address);
  return address === 0 ? UNSPECIFIED_IPV6 : v4Mapped(address);
}
