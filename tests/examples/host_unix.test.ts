/**
 * `bun run start -- --unix DIR`: the demo host also serves echo on DIR/echo.sock and
 * DIR/echo.dgram, reached with `nc -U` (stream and datagram) as the README shows, while
 * TCP echo keeps answering on the TUN. The host takes over a stale socket file and
 * removes both files when it stops.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bashIn, type Netns, withNetns } from "../helpers/netns.ts";
import { describeTun } from "../helpers/tun_env.ts";
import { pythonPeer } from "../helpers/unix_peers.ts";
import { spawnHost } from "./host_process.ts";

const ARGS = ["--tun", "tsthostu0", "--address", "10.0.0.2/24", "--host", "10.0.0.1"];

const sh = (ns: Netns, script: string, timeoutMs = 30_000) => bashIn(ns, script, timeoutMs);

describeTun("the host's --unix DIR", () => {
  test("nc -U echoes on DIR/echo.sock and DIR/echo.dgram; TCP echo still answers; files removed at exit", async () => {
    const dir = mkdtempSync("/tmp/tstcp-host-unix-");
    try {
      // A file left by a server that was killed: the host takes it over.
      const crashed = pythonPeer(["bind-and-die", join(dir, "echo.sock")]);
      await crashed.ready;
      crashed.kill(9);
      await crashed.result.catch(() => {});
      await withNetns("tstcp-hostunix", async (ns) => {
        const host = spawnHost(ns, [...ARGS, "--services", "echo", "--unix", dir]);
        try {
          await host.waitFor(/try: nc -U .*echo\.sock/);
          const stream = await sh(ns, `printf 'over unix\\n' | nc -N -U ${dir}/echo.sock`);
          expect(stream.stdout).toBe("over unix\n");
          const datagram = await sh(
            ns,
            `printf 'one datagram\\n' | nc -u -U -w 1 ${dir}/echo.dgram`,
          );
          expect(datagram.stdout).toBe("one datagram\n");
          const tcp = await sh(ns, `printf 'over tcp\\n' | nc -N -w 5 10.0.0.2 7`);
          expect(tcp.stdout).toBe("over tcp\n");
        } finally {
          expect(await host.stop("SIGINT")).toBe(0);
        }
      });
      expect(existsSync(join(dir, "echo.sock"))).toBe(false);
      expect(existsSync(join(dir, "echo.dgram"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
