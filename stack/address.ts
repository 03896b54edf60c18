/**
 * IPv4 addresses as unsigned 32-bit numbers (RFC 791 §3.1: "Source Address: 32 bits").
 *
 * A number compares, hashes and masks without allocation, which is why the whole
 * stack passes addresses around in this form and only formats them for people.
 *
 * @example
 * parseIpv4("10.0.0.2") === 0x0a000002
 * formatIpv4(0x0a000002) === "10.0.0.2"
 */

/** The unspecified address, 0.0.0.0: "any local address" in bind(). */
export const ANY_ADDRESS = 0;
/** The limited broadcast address (RFC 919). */
export const LIMITED_BROADCAST = 0xffffffff;

/** Parses dotted-quad notation; returns undefined for anything else. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

export interface Cidr {
  readonly address: number;
  readonly prefixLength: number;
}

/** Parses "10.0.0.2/24"; returns undefined when the text is not a valid address and prefix. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^[0-9]{1,2}$/.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  if (prefixLength > 32) return undefined;
  return { address, prefixLength };
}

export function netmask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** The directed broadcast address of the subnet (all host bits set). */
export function subnetBroadcast(cidr: Cidr): number {
  return (cidr.address | ~netmask(cidr.prefixLength)) >>> 0;
}

export function sameSubnet(a: number, b: number, prefixLength: number): boolean {
  const mask = netmask(prefixLength);
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/** RFC 1122 §3.2.1.3: class D (224/4) is multicast. */
export function isMulticast(address: number): boolean {
  return address >>> 28 === 0xe;
}
