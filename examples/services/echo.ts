/**
 * Echo (RFC 862): whatever arrives is sent back. On TCP port 7 a connection echoes
 * until the client closes; on UDP port 7 each datagram is answered with its own data.
 *
 * Try it: `nc 10.0.0.2 7`, type a line, see it come back; `nc -u 10.0.0.2 7` for UDP.
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import { type RunningService, serveTcp, serveUdp } from "./service.ts";

export const ECHO_PORT = 7;

export function startEchoTcp(api: SocketApi, clock: Clock, port = ECHO_PORT): RunningService {
  return serveTcp(api, clock, { name: "echo", port }, async (fd) => {
    // recv allocates what it reads, and nothing while a connection idles (a buffer of
    // our own for recvInto would be held by every idle connection; discard.ts does that
    // only once data flows).
    for (;;) {
      const data = await api.recv(fd, 64 * 1024);
      if (data.length === 0) return; // RFC 862: "until the calling user terminates"
      await api.send(fd, data); // waits while the send buffer is full: flow control
    }
  });
}

export function startEchoUdp(api: SocketApi, port = ECHO_PORT): RunningService {
  return serveUdp(api, { name: "echo", port }, async (fd, datagram) => {
    await api.sendto(fd, datagram.data, datagram.address, datagram.port);
  });
}
