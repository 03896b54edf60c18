/**
 * Two stacks joined in memory with one established TCP connection between them, for the
 * micro benchmarks of the segment paths: no device, no timers, time passed by hand.
 *
 *   client 10.9.0.1:40000  ──packets (copied)──▶  server 10.9.0.2:5001
 *                          ◀──────────────────────
 */
import type { Stack } from "../stack/stack.ts";
import type { TcpConnection } from "../stack/tcp/connection.ts";

export interface MemoryPair {
  client: Stack;
  server: Stack;
  clientConnection: TcpConnection;
  serverConnection: TcpConnection;
  /** Packets each stack has transmitted and the other not yet received (while `queueing`). */
  toServer: Uint8Array[];
  toClient: Uint8Array[];
  /**
   * True: each transmitted packet is copied into the queues above. False (for measuring,
   * so the harness allocates nothing per packet): the last one each way is copied into
   * `lastToServer` / `lastToClient` (64 KiB each), its length in the `...Length` field.
   */
  queueing: boolean;
  lastToServer: Uint8Array;
  lastToServerLength: number;
  lastToClient: Uint8Array;
  lastToClientLength: number;
  /** Delivers queued packets both ways until none is left (bounded). */
  exchange(now: number): void;
}

const CLIENT_ADDRESS = 0x0a090001; // 10.9.0.1
const SERVER_ADDRESS = 0x0a090002; // 10.9.0.2
const SERVER_PORT = 5001;

export async function createMemoryPair(): Promise<MemoryPair> {
  const { Stack } = await import("../stack/stack.ts");
  const { defaultTcpConnectionOptions } = await import("../stack/tcp/tcp.ts");
  const { systemEntropy: entropy } = await import("../device/system_entropy.ts");
  const client = new Stack({ address: CLIENT_ADDRESS, prefixLength: 24, mtu: 1500, entropy });
  const server = new Stack({ address: SERVER_ADDRESS, prefixLength: 24, mtu: 1500, entropy });
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const pair = {
    queueing: true,
    lastToServer: new Uint8Array(65536),
    lastToServerLength: 0,
    lastToClient: new Uint8Array(65536),
    lastToClientLength: 0,
  };
  client.transmit = (packet) => {
    if (pair.queueing) toServer.push(packet.slice());
    else {
      pair.lastToServer.set(packet);
      pair.lastToServerLength = packet.length;
    }
  };
  server.transmit = (packet) => {
    if (pair.queueing) toClient.push(packet.slice());
    else {
      pair.lastToClient.set(packet);
      pair.lastToClientLength = packet.length;
    }
  };
  const exchange = (now: number) => {
    for (let round = 0; round < 1000 && toServer.length + toClient.length > 0; round++) {
      for (const packet of toServer.splice(0)) server.receive(packet, now);
      server.poll(now);
      for (const packet of toClient.splice(0)) client.receive(packet, now);
      client.poll(now);
    }
  };
  const listener = server.tcp.listen(SERVER_ADDRESS, SERVER_PORT, 16);
  const options = { ...defaultTcpConnectionOptions(), noDelay: true };
  const clientConnection = client.tcp.connect(
    { address: CLIENT_ADDRESS, port: 40000 },
    { address: SERVER_ADDRESS, port: SERVER_PORT },
    options,
    0,
  );
  client.poll(0);
  exchange(0);
  const serverConnection = listener.accept();
  if (serverConnection === undefined || clientConnection.state !== "ESTABLISHED") {
    throw new Error(`in-memory handshake failed: client ${clientConnection.state}`);
  }
  return Object.assign(pair, {
    client,
    server,
    clientConnection,
    serverConnection,
    toServer,
    toClient,
    exchange,
  });
}
