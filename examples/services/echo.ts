/**
 * Echo (RFC 862): whatever arrives is sent back. On TCP port 7 a connection echoes
 * until the client closes; on UDP port 7 each datagram is answered with its own data.
 * The same two handlers serve Unix-domain sockets (`bun run start -- --unix DIR`):
 * DIR/echo.sock (stream) and DIR/echo.dgram (datagram).
 *
 * Try it: `nc 10.0.0.2 7`, type a line, see it come back; `nc -u 10.0.0.2 7` for UDP;
 * `nc -U DIR/echo.sock` for the Unix-domain stream.
 */

import { join } from "node:path";
import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import {
  type ConnectionHandler,
  clearStalePath,
  type RunningService,
  serveDatagram,
  serveStream,
} from "./service.ts";

export const ECHO_PORT = 7;

/** One connection: echo until the client closes (any family). */
export function echoConnection(api: SocketApi): ConnectionHandler {
  return async (fd) => {
    // recv allocates what it reads, and nothing while a connection idles (a buffer of
    // our own for recvInto would be held by every idle connection; discard.ts does that
    // only once data flows).
    for (;;) {
      const data = await api.recv(fd, 64 * 1024);
      if (data.length === 0) return; // RFC 862: "until the calling user terminates"
      await api.send(fd, data); // waits while the send buffer is full: flow control
    }
  };
}

/** One datagram: back to where it came from (an address and port, or a path). */
export function echoDatagram(api: SocketApi) {
  return async (fd: number, datagram: { data: Uint8Array; address: string; port: number }) => {
    await api.sendto(fd, datagram.data, datagram.address, datagram.port);
  };
}

export function startEchoTcp(api: SocketApi, clock: Clock, port = ECHO_PORT): RunningService {
  return serveStream(api, clock, { name: "echo", port }, echoConnection(api));
}

export function startEchoUdp(api: SocketApi, port = ECHO_PORT): RunningService {
  return serveDatagram(api, { name: "echo", port }, echoDatagram(api));
}

/** Echo on DIR/echo.sock (stream) and DIR/echo.dgram (datagram), taking over stale files. */
export async function startEchoUnix(
  api: SocketApi,
  clock: Clock,
  directory: string,
): Promise<RunningService[]> {
  const stream = join(directory, "echo.sock");
  const datagram = join(directory, "echo.dgram");
  await clearStalePath(api, stream, "stream");
  await clearStalePath(api, datagram, "dgram");
  return [
    serveStream(api, clock, { name: "echo", path: stream }, echoConnection(api)),
    serveDatagram(api, { name: "echo", path: datagram }, echoDatagram(api)),
  ];
}
