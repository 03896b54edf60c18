/**
 * Sample: one connection handler served on a TCP port of our stack and on a Unix-domain
 * path at once. The handler only sees a descriptor; whether the bytes crossed our TCP
 * over the TUN or went through the kernel from a local process, it reads and writes the
 * same way. The family is a parameter of `serveStream` (examples/services/service.ts).
 *
 *   sudo bun examples/one_handler_two_families.ts 7 /tmp/shout.sock
 *   nc 10.0.0.2 7            # over the network, through our TCP/IP
 *   nc -U /tmp/shout.sock    # on this machine, through a Unix-domain socket
 */
import type { SocketApi } from "../sockets/api.ts";
import type { Clock } from "../stack/clock.ts";
import { clearStalePath, type RunningService, serveStream } from "./services/service.ts";

/** The handler: each line comes back in capitals, until the client closes. */
export function shout(api: SocketApi) {
  return async (fd: number): Promise<void> => {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    for (let data = await api.recv(fd, 4096); data.length > 0; data = await api.recv(fd, 4096)) {
      await api.send(fd, encoder.encode(decoder.decode(data, { stream: true }).toUpperCase()));
    }
  };
}

/** The same handler on TCP `port` and on the Unix-domain `path`. */
export async function serveBothFamilies(
  api: SocketApi,
  clock: Clock,
  where: { port: number; path: string },
): Promise<RunningService[]> {
  await clearStalePath(api, where.path, "stream");
  return [
    serveStream(api, clock, { name: "shout", port: where.port }, shout(api)),
    serveStream(api, clock, { name: "shout", path: where.path }, shout(api)),
  ];
}

if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  const { RealClock } = await import("../device/real_clock.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, address }) => {
      const port = Number(args[0] ?? 7);
      const path = args[1] ?? "/tmp/shout.sock";
      const services = await serveBothFamilies(api, new RealClock(), { port, path });
      console.log(`shout: try  nc ${address} ${port}  or  nc -U ${path}`);
      return () => Promise.all(services.map((service) => service.stop()));
    }),
  );
}
