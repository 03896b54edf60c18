/**
 * The stack with its services, for `bun run bench` while `bun run start` does not serve
 * TCP yet: the same two calls the host program makes (`startHost` from
 * `examples/host.ts`, then `serveOnHost` from `examples/services/on_host.ts`), with the
 * same arguments. `run.ts` uses `examples/host.ts` itself whenever it answers on TCP.
 *
 * Usage: bun bench/stack_host.ts --tun NAME --address 10.0.0.2/24 --host 10.0.0.1 --mtu 1500
 */
import { parseHostArgs } from "../examples/cli_args.ts";
import { startHost } from "../examples/host.ts";
import { serveOnHost } from "../examples/services/on_host.ts";

async function main(): Promise<number> {
  const parsed = parseHostArgs(process.argv.slice(2));
  if (parsed.kind !== "run") {
    console.error(parsed.kind === "error" ? parsed.message : parsed.text);
    return 2;
  }
  const host = startHost(parsed.args);
  const services = serveOnHost(host);
  console.log(services.banner());
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await services.stop(200);
  await host.close();
  return 0;
}

process.exit(await main());
