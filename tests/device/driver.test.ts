/**
 * The driver joins a stack to a device and a clock: packets in, one poll per batch or
 * kick, exactly one timer at the stack's next deadline. A stub stack records the calls.
 */
import { describe, expect, test } from "bun:test";
import { attachDriver, type DrivenStack } from "../../device/driver.ts";
import { createMemoryLink } from "../../device/memory_link.ts";
import { VirtualClock } from "../../stack/clock.ts";

class StubStack implements DrivenStack {
  readonly calls: string[] = [];
  deadline = Number.POSITIVE_INFINITY;
  /** Bytes to transmit on the next poll. */
  owed: Uint8Array[] = [];
  throwOnReceive = false;
  transmit: (packet: Uint8Array) => void = () => {};

  receive(packet: Uint8Array, now: number): void {
    this.calls.push(`receive ${packet[0]} @${now}`);
    if (this.throwOnReceive) throw new Error("bug in the stack");
  }

  poll(now: number): void {
    this.calls.push(`poll @${now}`);
    for (const packet of this.owed.splice(0)) this.transmit(packet);
  }

  nextDeadline(): number {
    return this.deadline;
  }
}

function setUp() {
  const clock = new VirtualClock(1000);
  const [device, peer] = createMemoryLink(clock, { seed: 1 });
  const stack = new StubStack();
  const errors: unknown[] = [];
  const driver = attachDriver(stack, device, clock, { onError: (e) => errors.push(e) });
  const atPeer: number[] = [];
  peer.onReceive((p) => atPeer.push(p[0]!));
  return { clock, device, peer, stack, driver, errors, atPeer };
}

const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe("driver", () => {
  test("each packet of a batch is received, then the stack is polled once", () => {
    const { clock, peer, stack } = setUp();
    peer.send(Uint8Array.of(1));
    peer.send(Uint8Array.of(2));
    clock.advance(0);
    expect(stack.calls).toEqual(["receive 1 @1000", "receive 2 @1000", "poll @1000"]);
  });

  test("kicks in the same turn are coalesced into one poll, a microtask later", async () => {
    const { stack, driver } = setUp();
    driver.kick();
    driver.kick();
    driver.kick();
    expect(stack.calls).toEqual([]);
    await tick();
    expect(stack.calls).toEqual(["poll @1000"]);
    driver.kick();
    await tick();
    expect(stack.calls).toEqual(["poll @1000", "poll @1000"]);
  });

  test("service polls and re-arms at once, in the caller's turn", () => {
    const { clock, stack, driver } = setUp();
    stack.deadline = 1200;
    driver.service();
    expect(stack.calls).toEqual(["poll @1000"]);
    expect(driver.armedAt).toBe(1200);
    expect(clock.pending).toBe(1);
    driver.service(); // same deadline: the timer is kept, not added to
    expect(clock.pending).toBe(1);
  });

  test("exactly one timer, re-armed at the stack's next deadline, none at Infinity", async () => {
    const { clock, stack, driver } = setUp();
    stack.deadline = 1200;
    driver.kick();
    await tick();
    expect(driver.armedAt).toBe(1200);
    expect(clock.pending).toBe(1);
    stack.deadline = 1100; // earlier: the old timer is replaced, not added to
    driver.kick();
    await tick();
    expect(driver.armedAt).toBe(1100);
    expect(clock.pending).toBe(1);
    stack.calls.length = 0;
    stack.deadline = Number.POSITIVE_INFINITY; // what the poll at 1100 will report
    clock.advance(99);
    expect(stack.calls).toEqual([]); // never early
    clock.advance(1);
    expect(stack.calls).toEqual(["poll @1100"]);
    expect(driver.armedAt).toBe(Number.POSITIVE_INFINITY);
    expect(clock.pending).toBe(0);
  });

  test("a timer that fires polls and re-arms for the next deadline", async () => {
    const { clock, stack, driver } = setUp();
    // A stack with a 200 ms periodic timer that stops after five rounds.
    let rounds = 0;
    stack.deadline = 1200;
    const poll = stack.poll.bind(stack);
    stack.poll = (now) => {
      poll(now);
      if (now >= stack.deadline) rounds++;
      stack.deadline = rounds < 5 ? 1000 + 200 * (rounds + 1) : Number.POSITIVE_INFINITY;
    };
    driver.kick();
    await tick();
    clock.runUntilIdle();
    expect(stack.calls).toEqual([
      "poll @1000",
      "poll @1200",
      "poll @1400",
      "poll @1600",
      "poll @1800",
      "poll @2000",
    ]);
    expect(driver.armedAt).toBe(Number.POSITIVE_INFINITY);
    expect(clock.pending).toBe(0);
  });

  test("transmit goes to the device; after close nothing is sent or received", async () => {
    const { clock, peer, stack, driver, atPeer } = setUp();
    stack.owed.push(Uint8Array.of(9));
    driver.kick();
    await tick();
    clock.runUntilIdle();
    expect(atPeer).toEqual([9]);
    stack.deadline = 5000;
    driver.kick();
    await tick();
    await driver.close();
    expect(clock.pending).toBe(0);
    stack.transmit(Uint8Array.of(10));
    peer.send(Uint8Array.of(11));
    stack.calls.length = 0;
    clock.runUntilIdle();
    expect(atPeer).toEqual([9]);
    expect(stack.calls).toEqual([]);
  });

  test("a stack that throws is reported, and the driver keeps going", () => {
    const { clock, peer, stack, errors } = setUp();
    stack.throwOnReceive = true;
    peer.send(Uint8Array.of(1));
    peer.send(Uint8Array.of(2));
    clock.advance(0);
    expect(errors.length).toBe(2);
    expect(stack.calls).toEqual(["receive 1 @1000", "receive 2 @1000", "poll @1000"]);
  });
});
