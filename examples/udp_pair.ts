/**
 * Sample: two UDP programs exchanging datagrams. `startPonger` answers every datagram
 * with "pong <its text>"; `ping` sends `count` datagrams one at a time and waits for
 * each answer, giving up on one after `timeoutMs` (UDP promises nothing: a datagram or
 * its answer may be lost, and then only a timer notices).
 *
 * Datagrams keep their boundaries: one `sendto` is one `recvfrom` on the other side.
 * If nothing listens on the port, the peer answers ICMP port unreachable, and because
 * this socket is connected, the next call fails with ECONNREFUSED (as on Linux).
 */
import { POLLIN, type SocketApi } from "../sockets/api.ts";

export function startPonger(api: SocketApi, port: number): { port: number; stop(): void } {
  const fd = api.socket("inet", "dgram");
  api.bind(fd, "0.0.0.0", port);
  (async () => {
    for (;;) {
      const datagram = await api.recvfrom(fd, 2048).catch(() => undefined);
      if (datagram === undefined) return; // closed by stop()
      const reply = Buffer.concat([Buffer.from("pong "), datagram.data]);
      await api.sendto(fd, reply, datagram.address, datagram.port).catch(() => {});
    }
  })();
  return { port: api.getsockname(fd).port, stop: () => api.close(fd) };
}

/** Sends "ping 1" ... "ping N"; returns the answers received, in order (lost ones missing). */
export async function ping(
  api: SocketApi,
  address: string,
  port: number,
  options: { count: number; timeoutMs: number },
): Promise<string[]> {
  const fd = api.socket("inet", "dgram");
  const answers: string[] = [];
  try {
    // connect() on UDP only sets the default peer: no packet is sent.
    await api.connect(fd, address, port);
    for (let i = 1; i <= options.count; i++) {
      await api.send(fd, Buffer.from(`ping ${i}`));
      const ready = await api.poll([{ fd, events: POLLIN }], options.timeoutMs);
      if (ready.length === 0) continue; // lost: no answer in time
      const answer = await api.recv(fd, 2048); // ECONNREFUSED: nobody on that port
      answers.push(Buffer.from(answer).toString());
    }
  } finally {
    api.close(fd);
  }
  return answers;
}

// Run on a host of its own:
//   sudo bun examples/udp_pair.ts pong [port]          then: nc -u 10.0.0.2 5005
//   sudo bun examples/udp_pair.ts ping ADDRESS PORT    to a UDP echo on the kernel's side
if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, address, peer }) => {
      if (args[0] === "ping") {
        const answers = await ping(api, args[1] ?? peer, Number(args[2] ?? 7), {
          count: 5,
          timeoutMs: 1000,
        });
        console.log(`${answers.length} of 5 answered:\n${answers.join("\n")}`);
        return undefined;
      }
      const ponger = startPonger(api, Number(args[1] ?? 5005));
      console.log(
        `answering "pong ..." on UDP port ${ponger.port}: try  nc -u ${address} ${ponger.port}`,
      );
      return ponger.stop;
    }),
  );
}
