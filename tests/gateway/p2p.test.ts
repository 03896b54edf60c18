/**
 * The UDP hole-punching example (examples/p2p/) end to end: two inner namespaces, each
 * behind its own gateway instance in its own namespace, and a rendezvous server in a
 * third namespace that also routes between the two gateways:
 *
 *   innerA ─tun0─ gateway A (198.18.1.1) ─veth─┐                ┌─veth─ gateway B (198.18.2.1) ─tun0─ innerB
 *                                             router + rendezvous (198.18.1.2 / 198.18.2.2)
 *
 * After the rendezvous introduces them, each peer's datagrams come from the other
 * gateway's host socket (the mapping its trace shows), and the rendezvous relays nothing.
 */
import { expect } from "bun:test";
import { collect, stopGateway } from "../helpers/gateway_topology.ts";
import type { Netns } from "../helpers/netns.ts";
import { withNetns } from "../helpers/netns.ts";
import { testTun } from "../helpers/tun_env.ts";

async function must(ns: Netns, command: string[]): Promise<void> {
  const r = await ns.exec(command, { timeoutMs: 10_000 });
  if (r.exitCode !== 0) throw new Error(`${command.join(" ")} in ${ns.name}: ${r.stderr}`);
}

/** A veth from `gw` (x.1) to the router (x.2) on 198.18.N.0/24; the gateway routes everything there. */
async function link(gw: Netns, router: Netns, n: number): Promise<void> {
  await must(gw, [
    "ip",
    "link",
    "add",
    "vup",
    "type",
    "veth",
    "peer",
    "name",
    `vdown${n}`,
    "netns",
    router.name,
  ]);
  await must(gw, ["ip", "addr", "add", `198.18.${n}.1/24`, "dev", "vup"]);
  await must(gw, ["ip", "link", "set", "vup", "up"]);
  await must(gw, ["ip", "route", "add", "default", "via", `198.18.${n}.2`]);
  await must(router, ["ip", "addr", "add", `198.18.${n}.2/24`, "dev", `vdown${n}`]);
  await must(router, ["ip", "link", "set", `vdown${n}`, "up"]);
}

const nest = <T>(
  prefixes: string[],
  body: (spaces: Netns[]) => Promise<T>,
  got: Netns[] = [],
): Promise<T> =>
  prefixes.length === 0
    ? body(got)
    : withNetns(prefixes[0]!, (ns) => nest(prefixes.slice(1), body, [...got, ns]));

testTun(
  "p2p: two peers behind two gateways punch through and talk directly",
  async () => {
    await nest(
      ["p2pA", "p2pB", "p2pgwA", "p2pgwB", "p2prt"],
      async ([innerA, innerB, gwA, gwB, router]) => {
        await link(gwA!, router!, 1);
        await link(gwB!, router!, 2);
        await must(router!, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // Bound to one address, so its answers come from the address the peers wrote to:
        // from the router's other address, address-dependent filtering would drop them.
        const rendezvous = router!.spawnBun("examples/p2p/rendezvous.ts", ["198.18.1.2", "3478"]);
        const rendezvousOut = collect(rendezvous);
        const procA = gwA!.spawnBun("examples/host.ts", [
          "--gateway",
          "--netns",
          innerA!.name,
          "--trace",
          "--dns-upstream",
          "198.18.1.2",
        ]);
        const procB = gwB!.spawnBun("examples/host.ts", [
          "--gateway",
          "--netns",
          innerB!.name,
          "--trace",
          "--dns-upstream",
          "198.18.2.2",
        ]);
        const gateways = [collect(procA), collect(procB)];
        try {
          await Promise.all([
            ...gateways.map((g) => g.waitFor(/tstcp gateway:/, 30_000)),
            rendezvousOut.waitFor(/rendezvous on/, 30_000),
          ]);
          const [alice, bob] = await Promise.all([
            innerA!.runBun("examples/p2p/peer.ts", ["alice", "198.18.1.2"], { timeoutMs: 45_000 }),
            innerB!.runBun("examples/p2p/peer.ts", ["bob", "198.18.1.2"], { timeoutMs: 45_000 }),
          ]);
          if (process.env.P2P_DEBUG)
            for (const g of gateways)
              console.log(
                g
                  .text()
                  .split("\n")
                  .filter((l) => /gateway|drop|udp/.test(l))
                  .slice(0, 60)
                  .join("\n"),
              );
          const a = JSON.parse(alice.stdout.trim());
          const b = JSON.parse(bob.stdout.trim());
          // Each gateway's trace names the host port its mapping for 10.0.2.100:4000 got.
          const hostPort = (text: string) =>
            /udp 10\.0\.2\.100:4000 mapped to host port (\d+)/.exec(text)?.[1];
          const portA = hostPort(gateways[0]!.text());
          const portB = hostPort(gateways[1]!.text());
          expect(portA).toBeDefined();
          expect(portB).toBeDefined();
          // The rendezvous saw each peer at its gateway's host socket ...
          expect(rendezvousOut.text()).toContain(`registered alice at 198.18.1.1:${portA}`);
          expect(rendezvousOut.text()).toContain(`registered bob at 198.18.2.1:${portB}`);
          // ... and after the punch each peer hears the other straight from that socket.
          expect(a).toMatchObject({ peer: `198.18.2.1:${portB}`, from: [`198.18.2.1:${portB}`] });
          expect(b).toMatchObject({ peer: `198.18.1.1:${portA}`, from: [`198.18.1.1:${portA}`] });
          expect(a.helloReceived).toBeGreaterThanOrEqual(5);
          expect(b.helloReceived).toBeGreaterThanOrEqual(5);
          // The rendezvous passed on no payload: it only ever saw registrations.
          rendezvous.kill("SIGUSR1");
          await rendezvousOut.waitFor(/relayedPayloadBytes/, 5000);
          const summary = JSON.parse(rendezvousOut.text().trim().split("\n").at(-1)!);
          expect(summary).toMatchObject({ ignored: 0, relayedPayloadBytes: 0 });
        } finally {
          // Closed as a user would, so each removes the resolv.conf it wrote for its namespace.
          await stopGateway(procA, innerA!);
          await stopGateway(procB, innerB!);
        }
      },
    );
  },
  120_000,
);
