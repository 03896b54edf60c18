/**
 * A host on a TUN device: opens the TUN, builds the stack and starts the driver that joins
 * them. The kernel gets one end of a point-to-point link (`host`, default 10.0.0.1) and
 * the stack is the other (`address`, default 10.0.0.2):
 *
 *   ping/curl ─▶ kernel ─▶ tun0 ─▶ Tun (device/tun.ts) ─▶ driver ─▶ Stack (stack/stack.ts)
 *
 * Shared by the command line (`bun run start`, examples/host.ts) and the library's
 * `createHost` (lib/host.ts); neither starts anything else here.
 */

import type { Device } from "../device/device.ts";
import { attachDriver, type Driver } from "../device/driver.ts";
import { DeviceError } from "../device/libc.ts";
import { PcapWriter, withPcap } from "../device/pcap.ts";
import { RealClock } from "../device/real_clock.ts";
import { systemEntropy } from "../device/system_entropy.ts";
import { TextTrace } from "../device/text_trace.ts";
import { Tun } from "../device/tun.ts";
import type { HostArgs } from "../examples/cli_args.ts";
import { InspectorRecorder } from "../inspector/recorder.ts";
import { formatIpv4 } from "../stack/address.ts";
import { Stack } from "../stack/stack.ts";

export interface Host {
  readonly args: HostArgs;
  readonly clock: RealClock;
  readonly tun: Tun;
  /** The device the stack uses: the TUN, or the TUN wrapped by the pcap recorder. */
  readonly device: Device;
  readonly stack: Stack;
  readonly driver: Driver;
  /** With --inspect: the trace that records what the inspector shows. */
  readonly recorder: InspectorRecorder | undefined;
  /** Stops the driver, removes the interface and flushes the pcap file. Idempotent. */
  close(): Promise<void>;
}

/** Opens the TUN, builds the stack and starts driving it. Throws DeviceError on failure. */
export function startHost(args: HostArgs): Host {
  const clock = new RealClock();
  const tun = Tun.open({
    name: args.tun,
    mtu: args.mtu,
    address: `${formatIpv4(args.host)}/${args.prefixLength}`,
    // The kernel side's IPv6 address (device/tun_ipv6.ts); none: IPv6 off on the TUN.
    ...(args.ipv6 === undefined ? {} : { address6: `${args.ipv6.host}/${args.ipv6.prefixLength}` }),
    ...(args.offload === undefined ? {} : { offload: args.offload }),
  });
  let device: Device = tun;
  if (args.pcap !== undefined) {
    try {
      device = withPcap(tun, PcapWriter.toFile(args.pcap), clock);
    } catch (error) {
      void tun.close();
      throw new DeviceError(
        "EACCES",
        `Cannot write the pcap file ${args.pcap}: ${(error as Error).message}.`,
      );
    }
  }
  // --inspect installs the recorder as the stack's trace (it passes events on to --trace's
  // printer); without it the stack's trace hooks stay off.
  const printer = args.trace ? new TextTrace() : undefined;
  const recorder = args.inspect ? new InspectorRecorder({ clock, inner: printer }) : undefined;
  const trace = recorder ?? printer;
  const stack = new Stack({
    entropy: systemEntropy,
    address: args.address,
    prefixLength: args.prefixLength,
    ...(args.ipv6 === undefined
      ? {}
      : { address6: args.ipv6.address, prefixLength6: args.ipv6.prefixLength }),
    mtu: args.mtu,
    // The TUN's offloads (unless --no-offload): TCP leaves checksums and segmentation to it.
    offload: tun.capabilities.offload,
    // The driver polls after every receive burst: one ACK per burst, not per segment.
    tcp: { ackPerBurst: true },
    ...(trace !== undefined ? { trace } : {}),
  });
  const driver = attachDriver(stack, device, clock);
  let closing: Promise<void> | undefined;
  return {
    args,
    clock,
    tun,
    device,
    stack,
    driver,
    recorder,
    close: () => (closing ??= driver.close()),
  };
}
