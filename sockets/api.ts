/**
 * The BSD-style socket API: what programs on top of the stack use.
 *
 * @example
 * const api = createSocketApi(stack, clock, driver.kick);
 * const fd = api.socket("inet", "stream");
 * api.bind(fd, "0.0.0.0", 7);
 * api.listen(fd);
 * for (;;) {
 *   const client = await api.accept(fd);
 *   (async () => {
 *     for (let data = await api.recv(client, 4096); data.length > 0; data = await api.recv(client, 4096)) {
 *       await api.send(client, data);
 *     }
 *     api.close(client);
 *   })();
 * }
 *
 * `recv` returns a new array; `recvInto(fd, buffer)` reads into yours, as C's recv does,
 * and returns the count. Both take the MSG_* flags of message_flags.ts.
 *
 * The same calls serve Unix-domain sockets, named by a path (or "@abstract"), which any
 * process on the machine can reach: `socket("unix", "stream" | "dgram")`, `bind(fd, path)`,
 * `connect(fd, path)`, `sendto(fd, data, path)`, `socketpair("unix", type)`, and
 * getsockopt "SO_PEERCRED". `select(read, write, except, timeoutMs)` waits on any of them.
 *
 * Read next: socket_api.ts (the calls), tcp_socket.ts and udp_socket.ts (what they do),
 * unix/unix_socket.ts (Unix-domain), select.ts, poll.ts and epoll.ts (readiness),
 * ports.ts (bind rules, ephemeral ports),
 * message_flags.ts (peek, waitAll, dontWait), options.ts (setsockopt).
 */
import type { Clock } from "../stack/clock.ts";
import { defaultTcpConnectionOptions } from "../stack/tcp/tcp.ts";
import type { SocketStack } from "./layers.ts";
import { SocketApi } from "./socket_api.ts";

/**
 * The socket API over `stack`. `kick` is the driver's kick (device/driver.ts
 * `attachDriver(...).kick`): it makes the stack poll soon and re-arms the timer.
 */
export function createSocketApi(stack: SocketStack, clock: Clock, kick: () => void): SocketApi {
  // The stack's own configuration (e.g. smaller buffers in a test) overrides the defaults.
  const config = stack.tcp.config;
  const defaults = () => {
    const options = defaultTcpConnectionOptions();
    if (config === undefined) return options;
    return {
      ...options,
      receiveBufferBytes: config.receiveBufferBytes,
      sendBufferBytes: config.sendBufferBytes,
    };
  };
  return new SocketApi(stack, clock, kick, defaults);
}

export { SocketError, type SocketErrorCode } from "./errors.ts";
export type { SocketOption, SocketOptionValue } from "./options.ts";
export * from "./poll_events.ts";
export { SocketApi } from "./socket_api.ts";
