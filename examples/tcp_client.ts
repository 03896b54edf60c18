/**
 * Sample: a TCP client. It connects out from the stack to a server (on the host: the
 * kernel's side of the TUN interface, e.g. `nc -l 10.0.0.1 5000`), sends a message,
 * shuts down its sending side (a FIN: "I have nothing more to say"), and reads the answer
 * until the server closes too.
 *
 *   connect  → SYN, SYN-ACK, ACK: resolves once ESTABLISHED (or ECONNREFUSED on a RST)
 *   send     → the bytes are queued; TCP sends and retransmits them
 *   shutdown → FIN after the data; we can still receive
 *   recv     → until 0 bytes: the server's FIN
 */
import type { SocketApi } from "../sockets/api.ts";

export async function talk(
  api: SocketApi,
  address: string,
  port: number,
  message: Uint8Array,
): Promise<Uint8Array> {
  const fd = api.socket("inet", "stream");
  try {
    await api.connect(fd, address, port); // bind() was not called: an ephemeral port is chosen
    await api.send(fd, message);
    api.shutdown(fd, "write");
    const parts: Uint8Array[] = [];
    for (
      let data = await api.recv(fd, 16 * 1024);
      data.length > 0;
      data = await api.recv(fd, 16 * 1024)
    ) {
      parts.push(data);
    }
    return Buffer.concat(parts);
  } finally {
    api.close(fd);
  }
}

// Run on a host of its own, talking to a server on the kernel's side:
//   nc -l 10.0.0.1 5000 &   (start this after the interface is up, or use -k)
//   sudo bun examples/tcp_client.ts 10.0.0.1 5000 "hello"
if (import.meta.main) {
  const { runBesideStack } = await import("./beside_stack.ts");
  process.exit(
    await runBesideStack(process.argv.slice(2), async ({ api, args, peer }) => {
      const [address = peer, port = "5000", message = "hello from the TypeScript stack\n"] = args;
      const answer = await talk(api, address, Number(port), new TextEncoder().encode(message));
      console.log(
        `the server answered ${answer.length} bytes: ${new TextDecoder().decode(answer)}`,
      );
      return undefined;
    }),
  );
}
