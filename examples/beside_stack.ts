/**
 * Runs one sample program on a host of its own: opens the TUN device (the same options
 * as `bun run start`: --tun, --address, --host, --mtu, --pcap), gives the program a
 * socket API, and on Ctrl-C stops the program and removes the interface.
 *
 *   sudo bun examples/echo_server.ts                 # echo on 10.0.0.2:7
 *   sudo bun examples/tcp_client.ts 10.0.0.1 5000 hello -- --tun tun1
 *
 * The program's own arguments come first; host options follow (after an optional "--").
 */
import { createSocketApi, type SocketApi } from "../sockets/api.ts";
import { formatIpv4 } from "../stack/address.ts";
import { parseHostArgs } from "./cli_args.ts";
import { startHost } from "./host.ts";

export interface SampleContext {
  readonly api: SocketApi;
  /** The program's own arguments (before the host options). */
  readonly args: string[];
  /** The stack's address and the kernel side's, as text. */
  readonly address: string;
  readonly peer: string;
}

/**
 * Brings up a host, runs `program`, and waits for it to finish or for SIGINT/SIGTERM.
 * `program` returns a stop function (a server) or nothing (a client that is done).
 */
export async function runBesideStack(
  argv: readonly string[],
  program: (context: SampleContext) => Promise<(() => unknown) | undefined>,
): Promise<number> {
  const firstOption = argv.findIndex((word) => word.startsWith("--"));
  const args = firstOption < 0 ? [...argv] : argv.slice(0, firstOption);
  const hostArgv = (firstOption < 0 ? [] : argv.slice(firstOption)).filter((word) => word !== "--");
  const parsed = parseHostArgs(hostArgv);
  if (parsed.kind !== "run") {
    console.error(parsed.kind === "help" ? parsed.text : parsed.message);
    return parsed.kind === "help" ? 0 : 2;
  }
  const host = startHost(parsed.args);
  const api = createSocketApi(host.stack, host.clock, host.driver.kick);
  const address = formatIpv4(parsed.args.address);
  const peer = formatIpv4(parsed.args.host);
  console.log(`${address} is up on ${host.tun.name} (the kernel is ${peer}); Ctrl-C stops`);
  try {
    const stop = await program({ api, args, address, peer });
    if (stop !== undefined) {
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await stop();
    }
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    await host.close();
  }
}
