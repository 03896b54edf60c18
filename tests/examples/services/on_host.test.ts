import { expect, test } from "bun:test";
import { serveOnHost } from "../../../examples/services/on_host.ts";
import { talk } from "../../../examples/tcp_client.ts";
import { twoHosts } from "../two_hosts.ts";

test("serveOnHost: the banner, the ss view with listeners and connections, SIGUSR1, stop", async () => {
  const { a, b, clock, run } = twoHosts({ seed: 11 });
  const before = process.listenerCount("SIGUSR1");
  const served = serveOnHost({ stack: b.stack, clock, driver: b.driver }, ["echo", "http"]);
  expect(process.listenerCount("SIGUSR1")).toBe(before + 1);
  expect(served.banner(" on tun0")).toBe(
    "tstcp: 10.0.0.2/24 fd00::2/64 is up on tun0: icmp echo, echo tcp/7 udp/7, http tcp/80; " +
      "try: ping 10.0.0.2, curl http://10.0.0.2/, nc 10.0.0.2 7, ping -6 fd00::2, " +
      "curl -g 'http://[fd00::2]/' (SIGUSR1: connection table)",
  );
  // A client connected to echo shows up in the view, beside the listeners.
  const fd = a.api.socket("inet", "stream");
  await run(a.api.connect(fd, b.address, 7));
  await run(a.api.send(fd, new Uint8Array(1)));
  await run(a.api.recv(fd, 10));
  const view = served.ss();
  expect(view).toMatch(/^Proto\s+State/);
  // Dual stack: the services listen on :: and take IPv4 clients too.
  expect(view).toMatch(/tcp\s+LISTEN\s+0\s+0\s+\[::\]:80\s/);
  expect(view).toMatch(/udp\s+UNCONN\s+0\s+0\s+\[::\]:7\s/);
  expect(view).toMatch(/tcp\s+ESTABLISHED\s+0\s+\d+\s+10\.0\.0\.2:7\s+10\.0\.0\.1:\d+/);
  expect(view).toMatch(/tcpPassiveOpens\s+1/);
  a.api.close(fd);
  await run(served.stop(100));
  expect(process.listenerCount("SIGUSR1")).toBe(before);
  // Stopped: nothing listens any more.
  await expect(run(talk(a.api, b.address, 7, new Uint8Array(1)))).rejects.toMatchObject({
    code: "ECONNREFUSED",
  });
});
