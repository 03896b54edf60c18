/**
 * Two whole stacks on the simulated link, in the rarer corners of RFC 9293 §3.5 and
 * §3.6: simultaneous open (Figure 8) and simultaneous close (Figure 13).
 */
import { describe, expect, test } from "bun:test";
import { defaultTcpConnectionOptions } from "../../../stack/tcp/tcp.ts";
import { ADDRESS_A, ADDRESS_B, twoHosts } from "../../helpers/two_hosts.ts";

describe("two stacks", () => {
  test("simultaneous open: crossing SYNs give one connection, ESTABLISHED on both sides", () => {
    // RFC 9293 MUST-10: simultaneous open between two stacks.
    const { clock, a, b } = twoHosts({ seed: 1, faults: { delayMs: 20 } });
    const options = defaultTcpConnectionOptions();
    const fromA = a.stack.tcp.connect(
      { address: ADDRESS_A, port: 5000 },
      { address: ADDRESS_B, port: 6000 },
      options,
      clock.now(),
    );
    const fromB = b.stack.tcp.connect(
      { address: ADDRESS_B, port: 6000 },
      { address: ADDRESS_A, port: 5000 },
      options,
      clock.now(),
    );
    a.service();
    b.service();
    clock.advance(10);
    expect(fromA.state).toBe("SYN-SENT");
    clock.advance(15); // each SYN has arrived at a TCB in SYN-SENT
    expect(fromA.state).toBe("SYN-RECEIVED");
    expect(fromB.state).toBe("SYN-RECEIVED");
    clock.advance(100);
    expect(fromA.state).toBe("ESTABLISHED");
    expect(fromB.state).toBe("ESTABLISHED");
    fromA.send(new TextEncoder().encode("hello"), clock.now());
    a.service();
    clock.advance(100);
    const into = new Uint8Array(16);
    expect(new TextDecoder().decode(into.subarray(0, fromB.receive(into, clock.now())))).toBe(
      "hello",
    );
  });

  test("simultaneous close: crossing FINs, CLOSING on both sides, then TIME-WAIT, then CLOSED", () => {
    const { clock, a, b } = twoHosts({ seed: 2, faults: { delayMs: 20 } });
    const listener = b.stack.tcp.listen(0, 80, 4);
    const client = a.stack.tcp.connect(
      { address: ADDRESS_A, port: 5000 },
      { address: ADDRESS_B, port: 80 },
      defaultTcpConnectionOptions(),
      clock.now(),
    );
    a.service();
    clock.advance(100);
    const server = listener.accept()!;
    client.close(clock.now());
    server.close(clock.now());
    a.service();
    b.service();
    clock.advance(25);
    expect(client.state).toBe("CLOSING");
    expect(server.state).toBe("CLOSING");
    clock.advance(50);
    expect(client.state).toBe("TIME-WAIT");
    expect(server.state).toBe("TIME-WAIT");
    clock.advance(60_000);
    expect(client.state).toBe("CLOSED");
    expect(server.state).toBe("CLOSED");
    expect(client.error).toBeUndefined();
  });
});
