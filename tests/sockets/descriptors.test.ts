import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DescriptorTable, FIRST_DESCRIPTOR } from "../../sockets/descriptors.ts";
import type { SocketApi } from "../../sockets/socket_api.ts";
import { errnoOf, fakeSocketApi } from "./fake_stack.ts";

function api(): SocketApi {
  return fakeSocketApi().sockets;
}

describe("descriptor table", () => {
  test("descriptors start at 3 and reuse the lowest free number", () => {
    const sockets = api();
    expect(sockets.socket("inet", "stream")).toBe(3);
    expect(sockets.socket("inet", "dgram")).toBe(4);
    expect(sockets.socket("inet", "stream")).toBe(5);
    expect(sockets.epollCreate()).toBe(6);
    sockets.close(5);
    sockets.close(3);
    expect(sockets.socket("inet", "stream")).toBe(3);
    expect(sockets.socket("inet", "stream")).toBe(5);
    expect(sockets.socket("inet", "stream")).toBe(7);
  });

  test("a closed or unknown descriptor is EBADF, with the call named", async () => {
    const sockets = api();
    const fd = sockets.socket("inet", "stream");
    sockets.close(fd);
    expect(errnoOf(() => sockets.close(fd))).toBe("EBADF");
    expect(errnoOf(() => sockets.getsockname(42))).toBe("EBADF");
    expect(errnoOf(() => sockets.bind(0, "0.0.0.0", 80))).toBe("EBADF");
    expect(() => sockets.listen(99)).toThrow("listen: 99 is not an open descriptor (EBADF)");
    await expect(sockets.recv(fd, 10)).rejects.toMatchObject({ code: "EBADF", syscall: "recv" });
  });

  test("the wrong kind of descriptor: EOPNOTSUPP, ENOTSOCK, EINVAL like Linux", async () => {
    const sockets = api();
    const udp = sockets.socket("inet", "dgram");
    const ep = sockets.epollCreate();
    const tcp = sockets.socket("inet", "stream");
    expect(errnoOf(() => sockets.listen(udp))).toBe("EOPNOTSUPP");
    await expect(sockets.accept(udp)).rejects.toMatchObject({ code: "EOPNOTSUPP" });
    expect(errnoOf(() => sockets.bind(ep, "0.0.0.0", 1))).toBe("ENOTSOCK");
    await expect(sockets.accept(tcp)).rejects.toMatchObject({ code: "EINVAL" }); // not listening
    expect(errnoOf(() => sockets.epollCtl(tcp, "add", udp, 1))).toBe("EINVAL");
    expect(errnoOf(() => sockets.socket("inet", "raw" as "stream"))).toBe("EINVAL");
    expect(errnoOf(() => sockets.socket("ipx" as "inet", "stream"))).toBe("EAFNOSUPPORT");
  });

  test("property: allocation always returns the lowest free number", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(40)), { maxLength: 200 }), (ops) => {
        const table = new DescriptorTable<string>();
        const open = new Set<number>();
        for (const op of ops) {
          if (op === -1 || !open.has(op + FIRST_DESCRIPTOR)) {
            let expected = FIRST_DESCRIPTOR;
            while (open.has(expected)) expected++;
            expect(table.allocate("x", "socket")).toBe(expected);
            open.add(expected);
          } else {
            table.remove(op + FIRST_DESCRIPTOR, "close");
            open.delete(op + FIRST_DESCRIPTOR);
          }
        }
        expect(table.size).toBe(open.size);
      }),
    );
  });
});
