/**
 * `isIP`, `isIPv4`, `isIPv6` as `node:net` answers them: 4, 6 or 0 for a string.
 *
 * IPv4 is the dotted-decimal form of RFC 791 §3.2 with no leading zeros (Node refuses
 * "010.0.0.1", which inet_aton would read as octal). IPv6 is the text form of RFC 4291
 * §2.2: eight groups of up to four hex digits, one "::" for a run of zero groups, the last
 * two groups possibly written as an IPv4 address, then an optional zone ("%eth0",
 * RFC 4007 §11).
 */

const DECIMAL_OCTET = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z\-.:_]+$/;

export function isIPv4(input: unknown): boolean {
  if (typeof input !== "string") return false;
  const parts = input.split(".");
  return parts.length === 4 && parts.every((part) => DECIMAL_OCTET.test(part));
}

export function isIPv6(input: unknown): boolean {
  if (typeof input !== "string") return false;
  const percent = input.indexOf("%");
  const text = percent < 0 ? input : input.slice(0, percent);
  if (percent >= 0 && !ZONE.test(input.slice(percent + 1))) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...tail];
  // RFC 4291 §2.2 form 3: an embedded IPv4 address may stand for the last 32 bits (so it
  // ends the text: "1.2.3.4::" is not an address).
  let width = all.length;
  const last = halves.length === 2 ? tail[tail.length - 1] : head[head.length - 1];
  if (all.slice(0, -1).some((group) => group.includes("."))) return false;
  if (last?.includes(".")) {
    if (!isIPv4(last)) return false;
    all.pop();
    width++;
  }
  if (!all.every((group) => HEX_GROUP.test(group))) return false;
  return halves.length === 2 ? width <= 7 : width === 8;
}

export function isIP(input: unknown): 0 | 4 | 6 {
  if (isIPv4(input)) return 4;
  if (isIPv6(input)) return 6;
  return 0;
}
