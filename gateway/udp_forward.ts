/**
 * Inbound UDP forwarding (`--forward udp:[HOSTADDR:]HOSTPORT:INNERPORT`): a host UDP
 * socket bound in the gateway's namespace; each remote endpoint that sends to it gets a
 * datagram socket of our stack connected to the inner namespace at INNERPORT (from the
 * gateway's address), and what the inner server answers goes back to that endpoint from
 * the host socket. A remote endpoint's socket is closed after `udpIdleMs` without
 * traffic (RFC 4787 REQ-5), and their number counts toward `maxFlows`.
 */
import type { udp } from "bun";
import type { SocketApi } from "../sockets/api.ts";
import { formatIpv4, parseIpv4 } from "../stack/address.ts";
import type { Stats } from "../stack/stats.ts";
import type { GatewayLimits } from "./config.ts";
import type { ForwardSpec, RunningForward } from "./forwards.ts";
import type { NatEntry, NatTable } from "./nat_table.ts";

export interface UdpForwardContext {
  readonly api: SocketApi;
  readonly stats: Stats;
  readonly table: NatTable;
  readonly limits: GatewayLimits;
  now(): number;
}

interface Remote {
  readonly fd: number;
  readonly entry: NatEntry;
  lastActive: number;
}

const MAX_DATAGRAM = 65_535;

export async function startUdpForward(
  context: UdpForwardContext,
  spec: ForwardSpec,
  inner: number,
): Promise<RunningForward> {
  const { api, stats, table, limits } = context;
  const remotes = new Map<string, Remote>();
  const close = (key: string, remote: Remote) => {
    remotes.delete(key);
    table.remove(remote.entry);
    api.close(remote.fd);
  };
  const host: udp.Socket<"uint8array"> = await Bun.udpSocket({
    hostname: spec.hostAddress,
    port: spec.hostPort,
    binaryType: "uint8array",
    socket: {
      data(_socket, data, port, address) {
        const key = `${address}:${port}`;
        let remote = remotes.get(key);
        if (remote === undefined) {
          if (table.size >= limits.maxFlows) {
            stats.drop("gwLimitFlows", `udp forward from ${key}`);
            return;
          }
          remote = open(key, address, port);
        }
        remote.lastActive = context.now();
        remote.entry.bytesIn += data.length;
        void api
          .send(remote.fd, data)
          .catch(() => stats.drop("gwForwardFailed", `udp to ${spec.innerPort}`));
      },
    },
  });
  const open = (key: string, address: string, port: number): Remote => {
    const fd = api.socket("inet", "dgram");
    void api.connect(fd, formatIpv4(inner), spec.innerPort);
    const entry: NatEntry = {
      protocol: "udp",
      innerAddress: inner,
      innerPort: spec.innerPort,
      destination: parseIpv4(address) ?? 0,
      destinationPort: port,
      hostSocket: `${spec.hostAddress}:${spec.hostPort}`,
      bytesOut: 0,
      bytesIn: 0,
      createdAt: context.now(),
      state: "forwarded in",
    };
    const remote: Remote = { fd, entry, lastActive: context.now() };
    remotes.set(key, remote);
    table.add(entry);
    stats.count("gwForwardConnections");
    void (async () => {
      // The inner server's answers, back to the remote endpoint from the host socket.
      for (;;) {
        let data: Uint8Array;
        try {
          data = await api.recv(fd, MAX_DATAGRAM);
        } catch {
          return; // closed, or the inner port refused (ICMP): the next datagram reopens
        }
        remote.lastActive = context.now();
        entry.bytesOut += data.length;
        host.send(data, port, address);
      }
    })();
    return remote;
  };
  const sweeper = setInterval(
    () => {
      const deadline = context.now() - limits.udpIdleMs;
      for (const [key, remote] of remotes) if (remote.lastActive < deadline) close(key, remote);
    },
    Math.min(10_000, limits.udpIdleMs / 2),
  );
  sweeper.unref?.();
  return {
    spec,
    stop() {
      clearInterval(sweeper);
      host.close();
      for (const [key, remote] of remotes) close(key, remote);
    },
  };
}
