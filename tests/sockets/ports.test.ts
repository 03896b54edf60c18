import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { EPHEMERAL_HIGH, EPHEMERAL_LOW, ephemeralPort, PortTable } from "../../sockets/ports.ts";
import { Random } from "../../stack/random.ts";
import { errnoOf, fakeSocketApi } from "./fake_stack.ts";

describe("bind", () => {
  test("EADDRINUSE: same port on the same, the wildcard, or under a wildcard", () => {
    const { sockets } = fakeSocketApi();
    const a = sockets.socket("inet", "stream");
    sockets.bind(a, "10.0.0.2", 80);
    const b = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.bind(b, "10.0.0.2", 80))).toBe("EADDRINUSE");
    expect(errnoOf(() => sockets.bind(b, "0.0.0.0", 80))).toBe("EADDRINUSE");
    sockets.bind(b, "0.0.0.0", 81);
    const c = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.bind(c, "10.0.0.2", 81))).toBe("EADDRINUSE");
    expect(() => sockets.bind(c, "10.0.0.2", 81)).toThrow(
      "bind: TCP 10.0.0.2:81 is already in use (EADDRINUSE)",
    );
  });

  test("TCP and UDP ports are separate name spaces", () => {
    const { sockets } = fakeSocketApi();
    sockets.bind(sockets.socket("inet", "stream"), "0.0.0.0", 7);
    sockets.bind(sockets.socket("inet", "dgram"), "0.0.0.0", 7);
    const again = sockets.socket("inet", "dgram");
    expect(errnoOf(() => sockets.bind(again, "0.0.0.0", 7))).toBe("EADDRINUSE");
  });

  test("closing a socket frees its port", () => {
    const { sockets } = fakeSocketApi();
    const a = sockets.socket("inet", "dgram");
    sockets.bind(a, "0.0.0.0", 53);
    sockets.close(a);
    sockets.bind(sockets.socket("inet", "dgram"), "0.0.0.0", 53);
  });

  test("EADDRNOTAVAIL for an address that is not the stack's; EINVAL on a second bind", () => {
    const { sockets } = fakeSocketApi();
    const a = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.bind(a, "10.0.0.9", 80))).toBe("EADDRNOTAVAIL");
    sockets.bind(a, "10.0.0.2", 80);
    expect(errnoOf(() => sockets.bind(a, "10.0.0.2", 81))).toBe("EINVAL");
    expect(errnoOf(() => sockets.bind(a, "not an address", 1))).toBe("EINVAL");
    const b = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.bind(b, "0.0.0.0", 65536))).toBe("EINVAL");
    expect(errnoOf(() => sockets.bind(b, "0.0.0.0", -1))).toBe("EINVAL");
  });

  test("SO_REUSEADDR: binds over TIME-WAIT, shares with non-listeners, never two listeners", () => {
    const { sockets, stack } = fakeSocketApi();
    stack.tcp.heldPorts.add(80); // a connection of a closed socket lingers in TIME-WAIT
    const plain = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.bind(plain, "0.0.0.0", 80))).toBe("EADDRINUSE");
    const server = sockets.socket("inet", "stream");
    sockets.setsockopt(server, "SO_REUSEADDR", true);
    sockets.bind(server, "0.0.0.0", 80);
    sockets.listen(server);
    const second = sockets.socket("inet", "stream");
    sockets.setsockopt(second, "SO_REUSEADDR", true);
    expect(errnoOf(() => sockets.bind(second, "0.0.0.0", 80))).toBe("EADDRINUSE");

    // Two reusable sockets may share a port until one of them listens ...
    const x = sockets.socket("inet", "stream");
    const y = sockets.socket("inet", "stream");
    sockets.setsockopt(x, "SO_REUSEADDR", true);
    sockets.setsockopt(y, "SO_REUSEADDR", true);
    sockets.bind(x, "0.0.0.0", 90);
    sockets.bind(y, "0.0.0.0", 90);
    sockets.listen(x);
    // ... and then the second cannot listen too.
    expect(errnoOf(() => sockets.listen(y))).toBe("EADDRINUSE");
  });

  test("port 0 picks an ephemeral port and getsockname shows it", () => {
    const { sockets } = fakeSocketApi();
    const fd = sockets.socket("inet", "dgram");
    sockets.bind(fd, "0.0.0.0", 0);
    const { address, port } = sockets.getsockname(fd);
    expect(address).toBe("0.0.0.0");
    expect(port).toBeGreaterThanOrEqual(EPHEMERAL_LOW);
    expect(port).toBeLessThanOrEqual(EPHEMERAL_HIGH);
  });
});

describe("ephemeral ports (RFC 6056 Algorithm 1)", () => {
  test("property: the port is in 49152–65535, suitable, and found whenever one is free", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.uniqueArray(fc.integer({ min: EPHEMERAL_LOW, max: EPHEMERAL_HIGH }), { maxLength: 300 }),
        (seed, taken) => {
          const used = new Set(taken);
          const port = ephemeralPort(new Random(seed), (p) => !used.has(p));
          expect(port).toBeDefined();
          expect(port!).toBeGreaterThanOrEqual(EPHEMERAL_LOW);
          expect(port!).toBeLessThanOrEqual(EPHEMERAL_HIGH);
          expect(used.has(port!)).toBe(false);
        },
      ),
    );
  });

  test("undefined when every port is taken", () => {
    expect(ephemeralPort(new Random(1), () => false)).toBeUndefined();
  });

  test("the starting point is spread over the range (not sequential)", () => {
    const random = new Random(7);
    const ports = Array.from({ length: 200 }, () => ephemeralPort(random, () => true)!);
    expect(new Set(ports).size).toBeGreaterThan(190);
    const low = ports.filter((p) => p < (EPHEMERAL_LOW + EPHEMERAL_HIGH) / 2).length;
    expect(low).toBeGreaterThan(60);
    expect(low).toBeLessThan(140);
  });

  test("PortTable skips ports in use, bound sockets and the stack's own", () => {
    const held = new Set<number>();
    const table = new PortTable("udp", (_a, p) => held.has(p));
    for (let p = EPHEMERAL_LOW; p <= EPHEMERAL_HIGH - 1; p++) {
      if (p % 2 === 0) table.add({ address: 0, port: p, reuseAddress: false, listening: false });
      else held.add(p);
    }
    expect(table.chooseEphemeral(0x0a000002, new Random(3))).toBe(EPHEMERAL_HIGH);
  });
});
