/**
 * select over a mix of descriptors: TCP and UDP on simulated hosts (virtual clock) and a
 * Unix-domain pair (the kernel's), with Linux's rules for which poll bits count in which
 * set, and timeouts that run on the virtual clock.
 */
import { afterEach, expect, test } from "bun:test";
import {
  ADDRESS_A,
  connectedPair,
  type SocketHosts,
  socketHosts,
} from "../helpers/socket_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * Each test's kernel sockets, closed after it: an open Unix socket stays registered with
 * the process's reactor, and one left with unread data slowed every later test of the run
 * that waits on setImmediate (tcp_hosts.test.ts's virtual-clock loops, by seconds each).
 */
const opened: { close(fd: number): void; fds: number[] }[] = [];
afterEach(() => {
  for (const { close, fds } of opened.splice(0)) {
    for (const fd of fds) {
      try {
        close(fd);
      } catch {
        // already closed by the test
      }
    }
  }
});

async function mixed(hosts: SocketHosts) {
  const { a, b } = hosts;
  const tcp = await connectedPair(hosts);
  const udp = a.api.socket("inet", "dgram");
  a.api.bind(udp, "0.0.0.0", 9);
  const udpPeer = b.api.socket("inet", "dgram");
  const [unix, unixPeer] = a.api.socketpair("unix", "stream");
  opened.push({ close: (fd) => a.api.close(fd), fds: [unix, unixPeer] });
  return { tcp: tcp.client, tcpPeer: tcp.accepted, udp, udpPeer, unix, unixPeer };
}

test("nothing readable: select waits its timeout on the virtual clock and returns empty sets", async () => {
  const hosts = socketHosts();
  const { tcp, udp, unix } = await mixed(hosts);
  const started = hosts.clock.now();
  const ready = await hosts.run(hosts.a.api.select([tcp, udp, unix], [], [tcp, unix], 500));
  expect(ready).toEqual({ read: [], write: [], except: [] });
  expect(hosts.clock.now() - started).toBeGreaterThanOrEqual(500);
  expect(hosts.clock.now() - started).toBeLessThan(600);
  // Timeout 0 returns at once; every socket is writable.
  const now = hosts.clock.now();
  const writable = await hosts.a.api.select([], [unix, udp, tcp], [], 0);
  expect(writable).toEqual({ read: [], write: [tcp, udp, unix].sort((x, y) => x - y), except: [] });
  expect(hosts.clock.now()).toBe(now);
});

test("each family wakes select for reading: TCP data, a UDP datagram, Unix bytes", async () => {
  const hosts = socketHosts();
  const { a, b, run } = hosts;
  const s = await mixed(hosts);
  const readSet = [s.tcp, s.udp, s.unix];
  // TCP: the peer's bytes arrive over the simulated link while select waits.
  const waiting = a.api.select(readSet, [], [], null);
  await b.api.send(s.tcpPeer, bytes("tcp"));
  expect(await run(waiting)).toEqual({ read: [s.tcp], write: [], except: [] });
  await a.api.recv(s.tcp, 100);
  // UDP
  await b.api.sendto(s.udpPeer, bytes("udp"), ADDRESS_A, 9);
  expect(await run(a.api.select(readSet, [], [], 1000))).toEqual({
    read: [s.udp],
    write: [],
    except: [],
  });
  await a.api.recv(s.udp, 100);
  // Unix: the kernel's event reaches select through the reactor (real time).
  const unixWaiting = a.api.select(readSet, [], [], null);
  setTimeout(() => void a.api.send(s.unixPeer, bytes("unix")), 20);
  expect(await unixWaiting).toEqual({ read: [s.unix], write: [], except: [] });
});

test("Linux's sets: a hang-up counts for reading only; except waits for urgent data (POLLPRI)", async () => {
  const hosts = socketHosts();
  const { a, run } = hosts;
  const s = await mixed(hosts);
  a.api.close(s.unixPeer); // POLLHUP on s.unix
  const fresh = a.api.socket("inet", "stream"); // POLLOUT | POLLHUP: "closed" both ways
  const onlyExcept = await run(a.api.select([], [], [s.unix, fresh], 200));
  expect(onlyExcept).toEqual({ read: [], write: [], except: [] }); // waited out the timeout
  expect(await a.api.select([s.unix, fresh], [], [], 0)).toEqual({
    read: [s.unix, fresh],
    write: [],
    except: [],
  });
});

test("EBADF for a descriptor not open (also one closed during the wait); EINVAL for a negative timeout", async () => {
  const hosts = socketHosts();
  const { a } = hosts;
  const s = await mixed(hosts);
  await expect(a.api.select([s.unix, 999], [], [], 0)).rejects.toMatchObject({ code: "EBADF" });
  await expect(a.api.select([s.unix], [], [], -1)).rejects.toMatchObject({ code: "EINVAL" });
  const waiting = a.api.select([s.udp], [], [], null);
  a.api.close(s.udp);
  await expect(waiting).rejects.toMatchObject({ code: "EBADF" });
});
