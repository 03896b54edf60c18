/**
 * A peer of the UDP hole-punching example (RFC 5128 §3.3), run inside a namespace whose
 * network is our gateway (`bun run start -- --gateway --netns NAME`):
 *
 *   ip netns exec NAME bun examples/p2p/peer.ts NAME RENDEZVOUS_ADDRESS [PORT]
 *
 * 1. "register NAME" to the rendezvous server every 500 ms until it answers with the
 *    other peer's public endpoint (its gateway's host socket).
 * 2. Punch: datagrams to that endpoint every 200 ms. The first ones may be dropped by
 *    the other gateway (address-dependent filtering, RFC 4787 REQ-8) until the other
 *    peer's own punches have opened its side; then both pass.
 * 3. Exchange numbered "hello" datagrams directly, then print one JSON line:
 *    {peer: "ADDRESS:PORT", helloReceived, from: ["ADDRESS:PORT"]} and exit.
 */
import { createSocket } from "node:dgram";

const [name = "peer", rendezvous = "198.18.1.2", portText = "3478"] = process.argv.slice(2);
const rendezvousPort = Number(portText);
const HELLOS = 5;
const socket = createSocket("udp4");
let peer: { address: string; port: number } | undefined;
let helloReceived = 0;
let helloSent = 0;
const sources = new Set<string>();

const timer = setInterval(() => {
  if (peer === undefined) socket.send(`register ${name}`, rendezvousPort, rendezvous);
  else socket.send(`punch from ${name}`, peer.port, peer.address);
}, 200);

socket.on("message", (message, from) => {
  const text = message.toString();
  const introduced = /^peer (\S+) (\d+)$/.exec(text);
  if (introduced !== null && from.address === rendezvous) {
    if (peer === undefined)
      console.error(`${name}: peer at ${introduced[1]}:${introduced[2]}, punching`);
    peer = { address: introduced[1]!, port: Number(introduced[2]) };
    return;
  }
  if (peer === undefined || from.address !== peer.address || from.port !== peer.port) return;
  sources.add(`${from.address}:${from.port}`);
  if (text.startsWith("hello")) helloReceived++;
  // Any datagram from the peer means the path is open: say hello (a bounded number).
  if (helloSent < HELLOS * 4)
    socket.send(`hello ${++helloSent} from ${name}`, peer.port, peer.address);
  if (helloReceived >= HELLOS) finish();
});

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  clearInterval(timer);
  const result = {
    name,
    peer: `${peer!.address}:${peer!.port}`,
    helloReceived,
    from: [...sources],
  };
  // Keep answering a little longer so the other side also gets its hellos.
  setTimeout(() => {
    console.log(JSON.stringify(result));
    socket.close();
    process.exit(0);
  }, 1500);
}

setTimeout(() => {
  console.log(JSON.stringify({ name, error: "timed out", peer, helloReceived }));
  process.exit(1);
}, 30_000);
socket.bind(4000);
