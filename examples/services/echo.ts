/**
 * Echo (RFC 862): whatever arrives is sent back. On TCP port 7 a connection echoes
 * until the client closes; on UDP port 7 each datagram is answered with its own data.
 *
 * Try it: `nc 10.0.0.2 7`, type a line, see it come back; `nc -u 10.0.0.2 7` for UDP.
 *
 * Urgent data keeps its urgency: a byte the client sent with MSG_OOB comes back with
 * MSG_OOB, after everything that came before it (stack/tcp/urgent.ts). Reads stop at
 * the urgent mark, so when the socket is at the mark all the data before it has been
 * echoed, and the out-of-band byte goes next. Since a blocking recv does not return for
 * the out-of-band byte alone (as on Linux), the loop waits with poll for POLLIN or
 * POLLPRI, as a C server would with select's exceptfds.
 */

import { POLLIN, POLLPRI, type SocketApi, SocketError } from "../../sockets/api.ts";
import type { Clock } from "../../stack/clock.ts";
import { type RunningService, serveTcp, serveUdp } from "./service.ts";

export const ECHO_PORT = 7;

export function startEchoTcp(api: SocketApi, clock: Clock, port = ECHO_PORT): RunningService {
  return serveTcp(api, clock, { name: "echo", port }, async (fd) => {
    // recv allocates what it reads, and nothing while a connection idles (a buffer of
    // our own for recvInto would be held by every idle connection; discard.ts does that
    // only once data flows).
    const wanted = [{ fd, events: POLLIN | POLLPRI }];
    for (;;) {
      await api.poll(wanted, -1);
      if (api.atMark(fd)) {
        const urgent = await takeUrgentByte(api, fd);
        if (urgent !== undefined) await api.send(fd, urgent, { oob: true });
      }
      const data = await receiveNow(api, fd);
      if (data === undefined) continue; // only urgency to report, or nothing after all
      if (data.length === 0) return; // RFC 862: "until the calling user terminates"
      await api.send(fd, data); // waits while the send buffer is full: flow control
    }
  });
}

/** recv(MSG_OOB): the urgent byte, or undefined when it has not arrived or was taken. */
async function takeUrgentByte(api: SocketApi, fd: number): Promise<Uint8Array | undefined> {
  try {
    return await api.recv(fd, 1, { oob: true });
  } catch (error) {
    if (error instanceof SocketError && (error.code === "EAGAIN" || error.code === "EINVAL"))
      return undefined;
    throw error;
  }
}

/** A non-blocking recv after poll said there is something: undefined for EAGAIN. */
async function receiveNow(api: SocketApi, fd: number): Promise<Uint8Array | undefined> {
  try {
    return await api.recv(fd, 64 * 1024, { dontWait: true });
  } catch (error) {
    if (error instanceof SocketError && error.code === "EAGAIN") return undefined;
    throw error;
  }
}

export function startEchoUdp(api: SocketApi, port = ECHO_PORT): RunningService {
  return serveUdp(api, { name: "echo", port }, async (fd, datagram) => {
    await api.sendto(fd, datagram.data, datagram.address, datagram.port);
  });
}
