/**
 * An echo through a faulty link in both directions (the kernel test's "worse network",
 * on the memory link with a seeded fault schedule): B, with `ackPerBurst`, reads and
 * writes back what it read; A writes 3 MB and reads the echo. With seed 215, B's receive
 * buffer fills while its send buffer waits on A's ACKs, so B advertises a zero window
 * under 1788 bytes A had already sent. A's pure ACKs must carry a sequence number B can
 * accept (at most SND.UNA+SND.WND, RFC 9293 §3.10.7.4), or B drops every one of them and
 * neither side moves again.
 */
import { describe, expect, test } from "bun:test";
import type { Tcb } from "../../../stack/tcp/tcb.ts";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import { arrive, expectSent, IRS, ISS, poll, seg, tcbInState } from "../../helpers/tcp_segments.ts";
import { randomBytes } from "../../helpers/tcp_transfer.ts";
import { ADDRESS_A, ADDRESS_B, twoHosts } from "../../helpers/two_hosts.ts";

const WORSE_NETWORK = { loss: 0.05, reorder: 0.05, duplicate: 0.02, delayMs: 2 };

/** Virtual ms the echo ran before A had read it all, or undefined if it stalled. */
function echo(seed: number, total: number, stallMs: number): number | undefined {
  const hosts = twoHosts({
    seed,
    faults: WORSE_NETWORK,
    reverseFaults: WORSE_NETWORK,
    tcpB: { ackPerBurst: true },
  });
  const { clock, a, b } = hosts;
  const start = clock.now();
  const listener = b.stack.tcp.listen(0, 7, 8, defaultTcpConnectionOptions());
  const client = a.stack.tcp.connect(
    { address: ADDRESS_A, port: 40000 },
    { address: ADDRESS_B, port: 7 },
    defaultTcpConnectionOptions(),
    clock.now(),
  );
  a.service();
  const data = randomBytes(seed, total);
  const scratch = new Uint8Array(65536);
  let server = listener.accept();
  let written = 0;
  let echoed = 0;
  let pending = new Uint8Array(0);
  let progressAt = clock.now();
  while (echoed < total) {
    if (clock.now() - progressAt > stallMs) return undefined;
    server ??= listener.accept();
    if (written < total && client.state !== "SYN-SENT")
      written += client.send(data.subarray(written, written + 65536), clock.now());
    for (
      let n = client.receive(scratch, clock.now());
      n > 0;
      n = client.receive(scratch, clock.now())
    ) {
      expect(Buffer.compare(scratch.subarray(0, n), data.subarray(echoed, echoed + n))).toBe(0);
      echoed += n;
      progressAt = clock.now();
    }
    a.service();
    if (server !== undefined) {
      // The echo reads only when what it read last has all gone into the send buffer.
      if (pending.length > 0) pending = pending.subarray(server.send(pending, clock.now()));
      if (pending.length === 0) {
        const n = server.receive(scratch, clock.now());
        if (n > 0) {
          const read = scratch.slice(0, n);
          pending = read.subarray(server.send(read, clock.now()));
        }
      }
      b.service();
    }
    clock.advance(1);
  }
  return clock.now() - start;
}

describe("a pure ACK into a window that closed under data in flight", () => {
  test("carries SEG.SEQ = SND.UNA+SND.WND, not SND.MAX (the peer accepts no more)", () => {
    const h = tcbInState("ESTABLISHED");
    const tcb = h.conn as Tcb;
    tcb.send(new TextEncoder().encode("hello"), h.now);
    poll(h);
    expectSent(h, { flags: "PA", seq: ISS + 1, ack: IRS + 1 });
    // The peer closes its window without taking "hello" (its buffer filled).
    arrive(h, seg({ flags: "A", seq: IRS + 1, ack: ISS + 1, wnd: 0 }));
    expect(tcb.sndWnd).toBe(0);
    // An old duplicate from the peer is answered with an ACK (RFC 9293 §3.10.7.4)...
    arrive(h, seg({ flags: "PA", seq: IRS, ack: ISS + 1, data: "x" }));
    poll(h);
    // ...at the peer's RCV.NXT, which its zero window accepts, not at ISS+6, which it drops.
    expectSent(h, { flags: "A", seq: ISS + 1, ack: IRS + 1 });
  });
});

describe("echo through a worse network with ackPerBurst", () => {
  test("3 MB echoes back with no 60 s stall (seed 215: a zero window under data in flight)", () => {
    expect(echo(215, 3 << 20, 60_000)).toBeDefined();
  }, 60_000);
});
