/**
 * Character generator (RFC 864). On TCP port 19 a connection gets the rotating pattern
 * of `pattern.ts` until the client closes or resets it (input is read and thrown away);
 * on UDP port 19 each datagram is answered with 0 to 512 characters of the pattern.
 *
 * Try it: `nc 10.0.0.2 19 | head -c 1000000 | wc -c`, or `nc 10.0.0.2 19 | pv > /dev/null`.
 */

import type { SocketApi } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import { chargenBuffer, LINE_BYTES } from "./pattern.ts";
import { type RunningService, serveDatagram, serveStream } from "./service.ts";

export const CHARGEN_PORT = 19;

/** Built once: 9 periods of the pattern, sent again and again. */
const PATTERN = chargenBuffer();

export function startChargenTcp(api: SocketApi, clock: Clock, port = CHARGEN_PORT): RunningService {
  return serveStream(api, clock, { name: "chargen", port }, async (fd) => {
    let peerClosed = false;
    // RFC 864: "any data received is thrown away"; a FIN from the client ends the stream.
    const reading = (async () => {
      const discarded = new Uint8Array(4096);
      while ((await api.recvInto(fd, discarded)) > 0) {}
    })()
      .catch(() => {})
      .finally(() => {
        peerClosed = true;
      });
    // "This continues until the calling user terminates the connection": send fails
    // (ECONNRESET, EPIPE) once the client resets, and the loop ends with the error.
    while (!peerClosed) await api.send(fd, PATTERN);
    await reading;
  });
}

/** RFC 864: "an answering datagram ... containing a random number (between 0 and 512) of characters". */
export function startChargenUdp(
  api: SocketApi,
  port = CHARGEN_PORT,
  random: () => number = Math.random,
): RunningService {
  let line = 0;
  return serveDatagram(api, { name: "chargen", port }, async (fd, datagram) => {
    const length = Math.floor(random() * 513);
    const start = (line++ % 95) * LINE_BYTES;
    const reply = PATTERN.subarray(start, start + length);
    await api.sendto(fd, reply, datagram.address, datagram.port);
  });
}
