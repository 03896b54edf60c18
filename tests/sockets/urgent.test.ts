/**
 * Urgent data through the socket API, between two stacks on the simulated link:
 * send/recv with MSG_OOB, SO_OOBINLINE, atMark (SIOCATMARK), POLLPRI in poll and
 * EPOLLPRI in epoll, the errno answers Linux gives, and the echo service keeping
 * urgency (examples/services/echo.ts).
 */
import { describe, expect, test } from "bun:test";
import { startEchoTcp } from "../../examples/services/echo.ts";
import { EPOLLIN, EPOLLPRI, POLLIN, POLLPRI } from "../../sockets/api.ts";
import { ADDRESS_B, connectedPair, socketHosts } from "../helpers/socket_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("MSG_OOB between two stacks", () => {
  test("MUST-30 MUST-32 MUST-33: the urgent byte out of band, POLLPRI, the mark, the rest in order", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await run(a.api.send(client, bytes("abc")));
    await run(a.api.send(client, bytes("!"), { oob: true }));
    await run(a.api.send(client, bytes("def")));
    // MUST-32: the application hears of urgent data asynchronously: POLLPRI.
    const ready = await run(b.api.poll([{ fd: accepted, events: POLLIN | POLLPRI }], -1));
    await run(hosts.advance(20)); // let "def" arrive too
    const polled = await run(b.api.poll([{ fd: accepted, events: POLLIN | POLLPRI }], 0));
    expect(ready[0]!.revents & (POLLIN | POLLPRI)).not.toBe(0);
    expect(polled[0]!.revents).toBe(POLLIN | POLLPRI);
    expect(b.api.atMark(accepted)).toBe(false);
    expect(text(await run(b.api.recv(accepted, 100)))).toBe("abc"); // stops at the mark
    expect(b.api.atMark(accepted)).toBe(true); // MUST-33
    expect(text(await run(b.api.recv(accepted, 100, { oob: true, peek: true })))).toBe("!");
    expect(text(await run(b.api.recv(accepted, 100, { oob: true })))).toBe("!");
    await expect(run(b.api.recv(accepted, 1, { oob: true }))).rejects.toMatchObject({
      code: "EINVAL", // read already
    });
    const after = await run(b.api.poll([{ fd: accepted, events: POLLIN | POLLPRI }], 0));
    expect(after[0]!.revents).toBe(POLLIN); // no more POLLPRI
    expect(text(await run(b.api.recv(accepted, 100)))).toBe("def");
  });

  test("EPOLLPRI in epoll; EINVAL with no urgent data; the out-of-band byte alone is not EPOLLIN", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    await expect(run(b.api.recv(accepted, 1, { oob: true }))).rejects.toMatchObject({
      code: "EINVAL",
    });
    const ep = b.api.epollCreate();
    b.api.epollCtl(ep, "add", accepted, EPOLLPRI);
    expect(await run(b.api.epollWait(ep, 8, 0))).toEqual([]);
    await run(a.api.send(client, bytes("X"), { oob: true }));
    expect(await run(b.api.epollWait(ep, 8, -1))).toEqual([{ fd: accepted, events: EPOLLPRI }]);
    // The out-of-band byte alone is not in-band data: no EPOLLIN, and recv would wait.
    b.api.epollCtl(ep, "mod", accepted, EPOLLIN);
    expect(await run(b.api.epollWait(ep, 8, 0))).toEqual([]);
    expect(text(await run(b.api.recv(accepted, 1, { oob: true })))).toBe("X");
  });

  test("select: the except set reports urgent data, as Linux's exceptfds", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    expect(await run(b.api.select([], [], [accepted], 0))).toEqual({
      read: [],
      write: [],
      except: [],
    });
    const waiting = b.api.select([], [], [accepted], null);
    await run(a.api.send(client, bytes("!"), { oob: true }));
    expect(await run(waiting)).toEqual({ read: [], write: [], except: [accepted] });
    expect(text(await run(b.api.recv(accepted, 1, { oob: true })))).toBe("!");
    expect((await run(b.api.select([], [], [accepted], 0))).except).toEqual([]);
  });

  test("SO_OOBINLINE: the urgent byte is read in line, recv(MSG_OOB) is EINVAL", async () => {
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    b.api.setsockopt(accepted, "SO_OOBINLINE", true);
    expect(b.api.getsockopt(accepted, "SO_OOBINLINE")).toBe(true);
    await run(a.api.send(client, bytes("ab")));
    await run(a.api.send(client, bytes("!"), { oob: true }));
    await run(a.api.send(client, bytes("cd")));
    await run(hosts.advance(20));
    const polled = await run(b.api.poll([{ fd: accepted, events: POLLIN | POLLPRI }], 0));
    expect(polled[0]!.revents).toBe(POLLIN | POLLPRI);
    expect(text(await run(b.api.recv(accepted, 100)))).toBe("ab");
    expect(b.api.atMark(accepted)).toBe(true);
    await expect(run(b.api.recv(accepted, 1, { oob: true }))).rejects.toMatchObject({
      code: "EINVAL",
    });
    expect(text(await run(b.api.recv(accepted, 100)))).toBe("!cd");
  });

  test("MUST-31: urgent data longer than the receive buffer; EAGAIN until its last byte comes", async () => {
    // B's 4 KB buffer holds the first part of 20 KB of urgent data: the pointer is known,
    // its byte has not arrived.
    const hosts = socketHosts({
      tcp: { receiveBufferBytes: 4096, maxReceiveBufferBytes: 4096 },
    });
    const { a, b, run } = hosts;
    const { client, accepted } = await connectedPair(hosts);
    const urgent = new Uint8Array(20_000).fill(0x75);
    urgent[19_999] = 0x21; // "!"
    void a.api.send(client, urgent, { oob: true });
    await run(hosts.advance(200));
    await expect(run(b.api.recv(accepted, 1, { oob: true }))).rejects.toMatchObject({
      code: "EAGAIN",
    });
    let got = 0;
    while (got < 19_999) got += (await run(b.api.recv(accepted, 10_000))).length;
    expect(got).toBe(19_999); // every urgent byte but the last, in band
    await run(b.api.poll([{ fd: accepted, events: POLLPRI }], -1));
    expect(b.api.atMark(accepted)).toBe(true);
    expect(text(await run(b.api.recv(accepted, 1, { oob: true })))).toBe("!");
  });

  test("datagram sockets refuse MSG_OOB (EOPNOTSUPP)", async () => {
    const { a, run } = socketHosts();
    const fd = a.api.socket("inet", "dgram");
    a.api.connect(fd, ADDRESS_B, 9);
    await expect(run(a.api.send(fd, bytes("x"), { oob: true }))).rejects.toMatchObject({
      code: "EOPNOTSUPP",
    });
  });
});

describe("the echo service keeps urgency", () => {
  test("a byte sent urgent comes back urgent, the rest in order", async () => {
    // RFC 9293 MUST-30: urgent data through the echo service.
    const hosts = socketHosts();
    const { a, b, run } = hosts;
    const echo = startEchoTcp(b.api, hosts.clock, 7);
    const fd = a.api.socket("inet", "stream");
    await run(a.api.connect(fd, ADDRESS_B, 7));
    await run(a.api.send(fd, bytes("before ")));
    await run(a.api.send(fd, bytes("!"), { oob: true }));
    await run(a.api.send(fd, bytes(" after")));
    let inBand = "";
    let urgent = "";
    while (inBand.length < "before  after".length || urgent === "") {
      const ready = await run(a.api.poll([{ fd, events: POLLIN | POLLPRI }], -1));
      if (ready[0]!.revents & POLLIN) inBand += text(await run(a.api.recv(fd, 100)));
      if (ready[0]!.revents & POLLPRI && a.api.atMark(fd)) {
        expect(inBand).toBe("before "); // everything before it came first, then the mark
        urgent += text(await run(a.api.recv(fd, 1, { oob: true })));
      }
    }
    expect(urgent).toBe("!");
    expect(inBand).toBe("before  after");
    a.api.close(fd);
    await run(echo.stop());
  });
});
