/**
 * tstcp as a library: a userspace TCP/IP stack with a BSD-style socket API and a
 * `node:net` face.
 *
 *   createHost(options)      a host on a TUN device (root): lib/host.ts
 *   createHostPair(options)  two hosts joined in memory (no TUN, no root): lib/host_pair.ts
 *
 * Each host is `{ net, sockets, stack, clock, close() }`.
 *
 * @example
 * import { createHostPair } from "tstcp";
 * const [client, server] = createHostPair();
 * server.net.createServer((socket) => socket.end("hello\n")).listen(7);
 * client.net.connect(7, server.address).on("data", (d) => console.log(String(d)));
 */
export type { FaultOptions } from "./device/faults.ts";
export { createHost, type HostOptions, hostArgsFromOptions, type TcpHost } from "./lib/host.ts";
export { createHostPair, type HostPairOptions, type PairedHost } from "./lib/host_pair.ts";
export * from "./net/index.ts";
export { createSocketApi, SocketApi, SocketError, type SocketErrorCode } from "./sockets/api.ts";
export * from "./sockets/poll_events.ts";
export { Stack, type StackOptions } from "./stack/stack.ts";
