/**
 * Discard (RFC 863): whatever arrives is thrown away, and nothing is ever sent.
 * TCP port 9 reads until the client closes; UDP port 9 reads datagrams and never answers.
 *
 * Try it: `head -c 10000000 /dev/zero | nc -N 10.0.0.2 9` measures how fast we receive.
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import { type RunningService, serveDatagram, serveStream } from "./service.ts";

export const DISCARD_PORT = 9;

export function startDiscardTcp(api: SocketApi, clock: Clock, port = DISCARD_PORT): RunningService {
  return serveStream(api, clock, { name: "discard", port }, async (fd) => {
    // RFC 863: "simply throws away any data it receives". The first read allocates, so
    // an idle connection holds no buffer; once data flows, one buffer per connection is
    // read into again and again (recv as in C), and nothing is allocated per read.
    if ((await api.recv(fd, 64 * 1024)).length === 0) return;
    const buffer = new Uint8Array(256 * 1024);
    while ((await api.recvInto(fd, buffer)) > 0) {}
  });
}

export function startDiscardUdp(api: SocketApi, port = DISCARD_PORT): RunningService {
  return serveDatagram(api, { name: "discard", port }, async () => {});
}
