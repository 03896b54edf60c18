/**
 * The package's ten-line program (README): two hosts joined in memory, no TUN, no root;
 * b serves one line on port 7 with the `node:net` face, a connects and prints it.
 *
 * Run: bun examples/net_hello.ts
 */
import { createHostPair } from "tstcp";

const [a, b] = createHostPair();
const server = b.net.createServer((socket) => socket.end("hello from our TCP\n"));
server.listen(7);
const socket = a.net.connect(7, b.address);
socket.on("data", (data) => process.stdout.write(data));
socket.on("close", () => {
  server.close();
  a.close();
  b.close();
});
