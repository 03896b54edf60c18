/**
 * The rendezvous server of the UDP hole-punching example (RFC 5128 §3.3): each peer
 * registers by name from behind its gateway; the server sees the gateway's host socket
 * (the peer's public endpoint, thanks to endpoint-independent mapping, RFC 4787 REQ-1)
 * and, once two peers are registered, tells each where the other is. It never relays a
 * payload: after this the peers talk to each other's gateways directly.
 *
 *   bun examples/p2p/rendezvous.ts [ADDRESS] [PORT]     (default 0.0.0.0 3478)
 *
 * Messages (text): "register NAME" in; "peer ADDRESS PORT" out. Prints one line per
 * registration and, on SIGTERM/SIGINT or SIGUSR1, a summary: {registrations, relayedPayloadBytes}.
 */
import { createSocket } from "node:dgram";

const address = process.argv[2] ?? "0.0.0.0";
const port = Number(process.argv[3] ?? 3478);
const peers = new Map<string, { address: string; port: number }>();
let registrations = 0;
let ignored = 0;
/** Bytes of anything but registrations that the server passed on: zero by design. */
const relayedPayloadBytes = 0;

const socket = createSocket("udp4");
socket.on("message", (message, from) => {
  const match = /^register (\w+)$/.exec(message.toString());
  if (match === null) {
    ignored++; // not a registration: dropped, never relayed
    return;
  }
  const name = match[1]!;
  const known = peers.get(name);
  if (known?.address !== from.address || known.port !== from.port) {
    console.log(`registered ${name} at ${from.address}:${from.port}`);
  }
  peers.set(name, { address: from.address, port: from.port });
  registrations++;
  // Introduce the peers to each other (both ways, so both start punching).
  for (const [other, endpoint] of peers) {
    if (other === name) continue;
    socket.send(`peer ${endpoint.address} ${endpoint.port}`, from.port, from.address);
    socket.send(`peer ${from.address} ${from.port}`, endpoint.port, endpoint.address);
  }
});

const summary = () =>
  console.log(
    JSON.stringify({
      registrations,
      peers: Object.fromEntries(peers),
      ignored,
      relayedPayloadBytes,
    }),
  );
process.on("SIGUSR1", summary);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    summary();
    process.exit(0);
  });
}
socket.bind(port, address, () => console.log(`rendezvous on ${address}:${port}`));
