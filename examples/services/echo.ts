/**
 * Echo (RFC 862): whatever arrives is sent back. On TCP port 7 a connection echoes
 * until the client closes; on UDP port 7 each datagram is answered with its own data.
 * The same two handlers serve Unix-domain sockets (`bun run start -- --unix DIR`):
 * DIR/echo.sock (stream) and DIR/echo.dgram (datagram).
 *
 * Try it: `nc 10.0.0.2 7`, type a line, see it come back; `nc -u 10.0.0.2 7` for UDP;
 * `nc -U DIR/echo.sock` for the Unix-domain stream.
 *
 * Urgent data keeps its urgency: a byte the client sent with MSG_OOB comes back with
 * MSG_OOB, after everything that came before it (stack/tcp/urgent.ts). Reads stop at
 * the urgent mark, so when the socket is at the mark all the data before it has been
 * echoed, and the out-of-band byte goes next. Since a blocking recv does not return for
 * the out-of-band byte alone (as on Linux), the loop waits with poll for POLLIN or
 * POLLPRI, as a C server would with select's exceptfds.
 */

import { join } from "node:path";
import { POLLIN, POLLPRI, type SocketApi, SocketError } from "../../sockets/api.ts";
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
  };
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
