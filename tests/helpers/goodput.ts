/**
 * Goodput of one bulk transfer A → B on the simulated path of bench/netsim and the
 * congestion-control tests: 100 Mbit/s, 10 ms each way (20 ms RTT), seeded random loss
 * both ways. The one home of that measurement, for `bench/netsim.ts` and
 * `tests/stack/tcp/congestion.test.ts` (which already share `twoHosts` and
 * `runTransfer`, so it lives beside them).
 *
 * Goodput is bytes delivered to B's application divided by the virtual time from
 * connect until both sides have read everything and the FIN.
 */
import type { TcpConfig } from "../../stack/tcp/tcp.ts";
import { runTransfer, type TransferResult } from "./tcp_transfer.ts";
import { type TwoDrivenHosts, twoHosts } from "./two_hosts.ts";

/** The link rate: 100 Mbit/s. */
export const LINK_BYTES_PER_SECOND = 12.5e6;

export interface BulkTransfer {
  seed: number;
  /** Bytes A sends. */
  bytes: number;
  /** Random loss on both directions. Default 0. */
  loss?: number;
  /** The router queue in front of the link (tail drop). Default unbounded. */
  queueBytes?: number;
  /** Both hosts' TCP configuration. */
  tcp?: Partial<TcpConfig>;
  /** SO_RCVBUF and SO_SNDBUF of both ends. */
  receiveBufferBytes: number;
  sendBufferBytes: number;
  /** Largest write by A and read by B per step. */
  chunkBytes: number;
  /** Give up after this much virtual time. */
  limitMs: number;
}

export interface Goodput {
  readonly hosts: TwoDrivenHosts;
  readonly result: TransferResult;
  /** `bytes` over the elapsed virtual time (meaningful only if `result.finished`). */
  readonly bytesPerSecond: number;
}

export function measureGoodput(plan: BulkTransfer): Goodput {
  const hosts = twoHosts({
    seed: plan.seed,
    faults: {
      loss: plan.loss ?? 0,
      delayMs: 10,
      rateBytesPerSecond: LINK_BYTES_PER_SECOND,
    },
    ...(plan.queueBytes !== undefined ? { queueBytes: plan.queueBytes } : {}),
    tcpA: plan.tcp ?? {},
    tcpB: plan.tcp ?? {},
  });
  const options = {
    receiveBufferBytes: plan.receiveBufferBytes,
    sendBufferBytes: plan.sendBufferBytes,
  };
  const result = runTransfer(hosts, {
    aToB: new Uint8Array(plan.bytes),
    bToA: new Uint8Array(0),
    writeChunkA: plan.chunkBytes,
    writeChunkB: 1,
    readChunkA: 1,
    readChunkB: plan.chunkBytes,
    stepMs: 2,
    limitMs: plan.limitMs,
    optionsA: options,
    optionsB: options,
  });
  return { hosts, result, bytesPerSecond: plan.bytes / (result.elapsedMs / 1000) };
}
