/**
 * Inbound port forwarding (`--forward tcp:[HOSTADDR:]HOSTPORT:INNERPORT`): a host
 * socket listens in the gateway's namespace; each connection to it is carried through
 * our TCP to the inner namespace at INNERPORT, from the gateway's own address, with the
 * same relay as outbound flows (tcp_relay.ts). `udp:...` forwards datagrams the same way
 * (udp_forward.ts). Forwards can be added and removed while the gateway runs
 * (`Gateway.addForward`).
 */
import type { SocketHandler, TCPSocketListener } from "bun";
import { formatIpv4, parseIpv4 } from "../stack/address.ts";
import { HOST_HANDLERS, TcpFlow, type TcpRelayContext } from "./tcp_relay.ts";

export interface ForwardSpec {
  readonly protocol: "tcp" | "udp";
  /** Where the host socket listens; default 127.0.0.1. */
  readonly hostAddress: string;
  readonly hostPort: number;
  readonly innerPort: number;
}

/** `tcp|udp:[HOSTADDR:]HOSTPORT:INNERPORT`, or a sentence saying what is wrong. */
export function parseForward(text: string): ForwardSpec | string {
  const parts = text.split(":");
  const usage = `--forward ${text} is not tcp|udp:[HOSTADDR:]HOSTPORT:INNERPORT, like tcp:8080:80.`;
  const protocol = parts[0];
  if ((protocol !== "tcp" && protocol !== "udp") || parts.length < 3 || parts.length > 4)
    return usage;
  const hostAddress = parts.length === 4 ? parts[1]! : "127.0.0.1";
  const [hostPort, innerPort] = parts.slice(-2).map(Number) as [number, number];
  if (parseIpv4(hostAddress) === undefined) return usage;
  for (const port of [hostPort, innerPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return usage;
  }
  return { protocol, hostAddress, hostPort, innerPort };
}

export interface RunningForward {
  readonly spec: ForwardSpec;
  stop(): void;
}

/** Listens on the host; each connection becomes a flow to `inner`:spec.innerPort. */
export function startForward(
  context: TcpRelayContext,
  spec: ForwardSpec,
  inner: number,
  register: (flow: TcpFlow) => void,
): RunningForward {
  const handlers: SocketHandler<TcpFlow> = {
    ...HOST_HANDLERS,
    open(socket) {
      const key = `fwd ${socket.remoteAddress}:${socket.remotePort}>${formatIpv4(inner)}:${spec.innerPort}`;
      const flow = new TcpFlow(
        context,
        key,
        {
          source: inner,
          sourcePort: spec.innerPort,
          destination: parseIpv4(socket.remoteAddress) ?? 0,
          destinationPort: socket.remotePort,
        },
        { hostname: socket.remoteAddress, port: socket.remotePort },
      );
      socket.data = flow;
      flow.adoptHost(socket);
      register(flow);
      void connectInward(context, flow, inner, spec.innerPort);
    },
  };
  const listener: TCPSocketListener<TcpFlow> = Bun.listen<TcpFlow>({
    hostname: spec.hostAddress,
    port: spec.hostPort,
    allowHalfOpen: true,
    socket: handlers,
  });
  return { spec, stop: () => listener.stop(true) };
}

async function connectInward(
  context: TcpRelayContext,
  flow: TcpFlow,
  inner: number,
  port: number,
): Promise<void> {
  const { api } = context;
  const fd = api.socket("inet", "stream");
  try {
    await api.connect(fd, formatIpv4(inner), port);
  } catch (error) {
    api.close(fd);
    context.stats.count("gwForwardFailed");
    flow.abort(`forward to ${formatIpv4(inner)}:${port}: ${(error as Error).message}`);
    return;
  }
  context.stats.count("gwForwardConnections");
  flow.attach(fd);
}
