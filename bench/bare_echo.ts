/**
 * The floor of the JavaScript path: ICMP echo answered on a TUN with the project's
 * device code (`device/tun.ts`) and nothing else. No stack, no parsing beyond the bytes
 * needed: swap the IPv4 addresses, turn type 8 (echo) into type 0 (echo reply), fix the
 * ICMP checksum, write the packet back. `bun run bench` flood-pings it in the same run,
 * so "ping flood ≥ 90% of the bare echo" compares the stack with this.
 *
 * Usage: bun bench/bare_echo.ts [--tun NAME] [--host 10.0.0.1/24] [--mtu 1500]
 * Prints "bare echo up on NAME" when ready; SIGTERM/SIGINT close the TUN.
 */
import { Tun } from "../device/tun.ts";

const IPV4_VERSION = 4;
const PROTOCOL_ICMP = 1;
const ICMP_ECHO = 8;
const ICMP_ECHO_REPLY = 0;

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

/** Turns an echo request into its reply in place; false if the packet is not one. */
function reflectEcho(packet: Uint8Array): boolean {
  if (packet.length < 28 || packet[0]! >> 4 !== IPV4_VERSION) return false;
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (packet[9] !== PROTOCOL_ICMP || packet[headerLength] !== ICMP_ECHO) return false;
  // Swapping source and destination leaves the IPv4 header checksum unchanged.
  for (let i = 12; i < 16; i++) {
    const source = packet[i]!;
    packet[i] = packet[i + 4]!;
    packet[i + 4] = source;
  }
  packet[headerLength] = ICMP_ECHO_REPLY;
  // RFC 1624 §3: HC' = ~(~HC + ~m + m'); the type byte went from 8 to 0 in the high
  // byte of the first 16-bit word, so the sum grows by 0x0800.
  const at = headerLength + 2;
  let sum = ((packet[at]! << 8) | packet[at + 1]!) + 0x0800;
  sum = (sum & 0xffff) + (sum >>> 16);
  packet[at] = sum >>> 8;
  packet[at + 1] = sum & 0xff;
  return true;
}

function main(): void {
  const tun = Tun.open({
    name: argument("--tun", "bare0"),
    mtu: Number(argument("--mtu", "1500")),
    address: argument("--host", "10.0.0.1/24"),
    // The plain path (no virtio-net header), whatever TSTCP_TUN_OFFLOAD says.
    offload: false,
  });
  let replies = 0;
  tun.onReceive((packet) => {
    if (reflectEcho(packet)) {
      tun.send(packet);
      replies++;
    }
  });
  const stop = async () => {
    await tun.close();
    console.log(`bare echo: ${replies} replies`);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`bare echo up on ${tun.name}`);
}

main();
