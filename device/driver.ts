/**
 * The driver: the only code that joins the stack (which has no I/O and no timers) to a
 * device and a clock.
 *
 *   device packet ──▶ stack.receive(p, now)        (each packet of a batch)
 *   end of batch  ──▶ stack.poll(now) ──▶ re-arm   (send what is owed, run due timers)
 *   kick()        ──▶ (one microtask later) poll + re-arm   (a socket call changed state)
 *   timer fires   ──▶ poll + re-arm
 *   stack.transmit = device.send
 *
 * "Re-arm" keeps exactly one timer, at `stack.nextDeadline()`, or none when that is
 * Infinity: the smoltcp `poll_at` pattern. The stack never learns how time is kept.
 */
import type { Clock, Timer } from "../stack/clock.ts";
import type { TransmitOffload } from "../stack/offload.ts";
import type { Device } from "./device.ts";

/** What the driver needs of a `Stack` (`stack/stack.ts`), so tests can drive a stub. */
export interface DrivenStack {
  receive(packet: Uint8Array, now: number, checksumValid?: boolean): void;
  poll(now: number): void;
  nextDeadline(): number;
  transmit: (packet: Uint8Array, offload?: TransmitOffload) => void;
}

export interface Driver {
  /** Asks for `stack.poll` soon: calls in the same turn are coalesced into one. */
  kick(): void;
  /**
   * Polls now and re-arms, synchronously: what a kick does one microtask later. For a
   * harness that steps a VirtualClock itself (`tests/helpers/two_hosts.ts`).
   */
  service(): void;
  /** Cancels the timer, detaches from the stack and closes the device. */
  close(): Promise<void>;
  /** The deadline the single timer is armed for (Infinity when none), for tests and /stats. */
  readonly armedAt: number;
}

export interface DriverOptions {
  /** Called when the stack throws (a bug: ingress must never throw). Default: console.error. */
  onError?: (error: unknown) => void;
}

export function attachDriver(
  stack: DrivenStack,
  device: Device,
  clock: Clock,
  options: DriverOptions = {},
): Driver {
  const onError = options.onError ?? ((error) => console.error("stack error:", error));
  let timer: Timer | undefined;
  let armedAt = Number.POSITIVE_INFINITY;
  let kickPending = false;
  let closed = false;

  const guarded = (work: () => void) => {
    try {
      work();
    } catch (error) {
      onError(error);
    }
  };

  /** Polls the stack, then keeps exactly one timer at its next deadline. */
  const service = () => {
    if (closed) return;
    guarded(() => stack.poll(clock.now()));
    const deadline = stack.nextDeadline();
    if (deadline === armedAt) return;
    timer?.cancel();
    timer = undefined;
    armedAt = deadline;
    if (deadline === Number.POSITIVE_INFINITY) return;
    timer = clock.at(deadline, () => {
      timer = undefined;
      armedAt = Number.POSITIVE_INFINITY;
      service();
    });
  };

  stack.transmit = (packet, offload) => device.send(packet, offload);
  device.onReceive((packet, checksumValid) => {
    if (closed) return;
    // Not through `guarded`: a closure per packet is an allocation on the packet path.
    try {
      stack.receive(packet, clock.now(), checksumValid === true);
    } catch (error) {
      onError(error);
    }
  }, service);

  return {
    service,
    kick() {
      if (kickPending || closed) return;
      kickPending = true;
      queueMicrotask(() => {
        kickPending = false;
        service();
      });
    },
    async close() {
      closed = true;
      timer?.cancel();
      timer = undefined;
      armedAt = Number.POSITIVE_INFINITY;
      stack.transmit = () => {};
      await device.close();
    },
    get armedAt() {
      return armedAt;
    },
  };
}
