/**
 * The `node:net` face of one host: `createNet(sockets)` gives the classes and functions
 * of Node's `net` module, bound to that host's socket API, so a library that takes a
 * stream, a socket factory or a `net`-like module runs over our TCP.
 *
 * @example
 * const { net } = createHost({ tun: "tun0", address: "10.0.0.2/24", host: "10.0.0.1" });
 * const socket = net.connect(5432, "10.0.0.1", () => socket.write("hello"));
 *
 * Read next: socket.ts (the Duplex), server.ts (listen and accept), errors.ts, ip.ts.
 */
import type { SocketApi } from "../sockets/api.ts";
import { normalizeConnectArgs } from "./arguments.ts";
import { isIP, isIPv4, isIPv6 } from "./ip.ts";
import { NetServer, type ServerOptions } from "./server.ts";
import { ACCEPTED_DESCRIPTOR, NetSocket, type SocketOptions } from "./socket.ts";

export type { ConnectOptions, ListenOptions } from "./arguments.ts";
export type { NetError } from "./errors.ts";
export { isIP, isIPv4, isIPv6 } from "./ip.ts";
export type { ServerOptions } from "./server.ts";
export { NetServer } from "./server.ts";
export type { AddressInfo, SocketOptions } from "./socket.ts";
export { NetSocket } from "./socket.ts";

export interface Net {
  /** `new net.Socket([options])`: connect it with `socket.connect(...)`. */
  readonly Socket: new (
    options?: SocketOptions,
  ) => NetSocket;
  readonly Stream: new (options?: SocketOptions) => NetSocket;
  readonly Server: new (
    options?: ServerOptions | ((socket: NetSocket) => void),
    listener?: (socket: NetSocket) => void,
  ) => NetServer;
  createServer(
    options?: ServerOptions | ((socket: NetSocket) => void),
    listener?: (socket: NetSocket) => void,
  ): NetServer;
  /** connect(options[, cb]) or connect(port[, host][, cb]). */
  connect(...args: unknown[]): NetSocket;
  createConnection(...args: unknown[]): NetSocket;
  isIP(input: unknown): 0 | 4 | 6;
  isIPv4(input: unknown): boolean;
  isIPv6(input: unknown): boolean;
}

export function createNet(sockets: SocketApi): Net {
  class Socket extends NetSocket {
    constructor(options?: SocketOptions) {
      super(sockets, options);
    }
  }
  const accepted = (fd: number, options: ServerOptions & { paused: boolean; unix: boolean }) =>
    new Socket({
      allowHalfOpen: options.allowHalfOpen === true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.noDelay !== undefined ? { noDelay: options.noDelay } : {}),
      ...(options.keepAlive !== undefined ? { keepAlive: options.keepAlive } : {}),
      [ACCEPTED_DESCRIPTOR]: { fd, paused: options.paused, unix: options.unix },
    });
  class Server extends NetServer {
    constructor(
      options?: ServerOptions | ((socket: NetSocket) => void),
      listener?: (socket: NetSocket) => void,
    ) {
      if (typeof options === "function") super(sockets, accepted, {}, options);
      else super(sockets, accepted, options ?? {}, listener);
    }
  }
  const connect = (...args: unknown[]): NetSocket => {
    // As in Node, connect(options) hands the options to the Socket too (allowHalfOpen,
    // signal, highWaterMark, noDelay, keepAlive).
    const [options] = normalizeConnectArgs(args);
    return new Socket(options as SocketOptions).connect(...args);
  };
  return {
    Socket,
    Stream: Socket,
    Server,
    createServer: (options, listener) => new Server(options, listener),
    connect,
    createConnection: connect,
    isIP,
    isIPv4,
    isIPv6,
  };
}
