/**
 * The kernel side of the TUN for IPv6: its address (e.g. fd00::1/64) or IPv6 off.
 *
 * With an address: IPv6 is turned on for the interface (a namespace or host may have it
 * off: net.ipv6.conf.*.disable_ipv6), then the address is set with SIOCSIFADDR on an
 * AF_INET6 socket (struct in6_ifreq, linux/ipv6.h), which is what `ip -6 addr add` asks
 * for. A TUN is IFF_NOARP, so the kernel skips Duplicate Address Detection (RFC 4862
 * §5.4) and neighbour discovery on it (addrconf_dad_begin, NUD_NOARP): the address is
 * usable at once, and packets to fd00::/64 go straight into the TUN. The kernel still
 * sends router solicitations and MLD reports on bring-up; the stack counts and ignores
 * them (stack/icmpv6/).
 *
 * Without one: IPv6 is turned off on the interface, so nothing IPv6 comes out of it.
 */
import { writeFileSync } from "node:fs";
import { type Ipv6Cidr, ipv6Bytes } from "../stack/ipv6/address.ts";
import * as libc from "./libc.ts";
import { DeviceError, deviceErrorFor } from "./libc.ts";

const SIOCGIFINDEX = 0x8933;
const SIOCSIFADDR = 0x8916;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
/** struct in6_ifreq { struct in6_addr ifr6_addr; __u32 ifr6_prefixlen; int ifr6_ifindex; } */
const IN6_IFREQ_SIZE = 24;

/** Sets the kernel side's IPv6 address, or turns IPv6 off on the interface when none. */
export function configureIpv6(name: string, cidr: Ipv6Cidr | undefined): void {
  if (cidr === undefined) {
    setDisableIpv6(name, "1"); // best effort: no IPv6 in the kernel is fine too
    return;
  }
  if (!setDisableIpv6(name, "0")) {
    throw new DeviceError(
      "EAFNOSUPPORT",
      `IPv6 is not available for ${name} (no /proc/sys/net/ipv6 in this kernel or namespace): run with --no-ipv6.`,
    );
  }
  const sock = libc.socket(libc.AF_INET6, libc.SOCK_DGRAM, 0);
  if (sock < 0) throw deviceErrorFor(libc.errno(), "open an IPv6 configuration socket", name);
  try {
    const ifr = new Uint8Array(IFREQ_SIZE);
    new TextEncoder().encodeInto(name, ifr.subarray(0, IFNAMSIZ - 1));
    if (libc.ioctl(sock, SIOCGIFINDEX, ifr) < 0) {
      throw deviceErrorFor(libc.errno(), `find the index of ${name}`, name);
    }
    const index = new DataView(ifr.buffer).getInt32(IFNAMSIZ, true);
    const request = new Uint8Array(IN6_IFREQ_SIZE);
    request.set(ipv6Bytes(cidr.address), 0);
    const view = new DataView(request.buffer);
    view.setUint32(16, cidr.prefixLength, true);
    view.setInt32(20, index, true);
    if (libc.ioctl(sock, SIOCSIFADDR, request) < 0) {
      const where = `${cidr.address}/${cidr.prefixLength}`;
      throw deviceErrorFor(libc.errno(), `set ${name} to ${where}`, name);
    }
  } finally {
    libc.close(sock);
  }
}

/** Writes net.ipv6.conf.<name>.disable_ipv6; false when there is no such setting. */
function setDisableIpv6(name: string, value: "0" | "1"): boolean {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, value);
    return true;
  } catch {
    return false;
  }
}
