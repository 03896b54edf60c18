/**
 * The TUN with offloads on, end to end in a private network namespace: the stack host
 * (`bench/stack_host.ts`, TSTCP_TUN_OFFLOAD=1) echoes a random file back to the kernel's
 * `nc`, byte for byte, and the interface's counters show packets larger than the MTU in
 * both directions, i.e. super-segments the kernel made (GSO) and ones we merged (TSO).
 */
import { expect, test } from "bun:test";
import { withNetns } from "../helpers/netns.ts";
import { describeTun } from "../helpers/tun_env.ts";

const ROOT = `${import.meta.dir}/../..`;
const NAME = "tstoff0";
const MTU = 1500;
const BYTES = 4_000_000;

describeTun(
  "TUN offload (in a network namespace)",
  () => {
    test("echo through the stack returns every byte, and both directions carry super-segments", async () => {
      await withNetns("tun-offload", async (ns) => {
        const host = ns.spawn(
          [process.execPath, `${ROOT}/bench/stack_host.ts`, "--tun", NAME, "--mtu", String(MTU)],
          { env: { TSTCP_TUN_OFFLOAD: "1" } },
        );
        // Bounded wait for the interface (the host opens it at start).
        let up = false;
        for (let i = 0; i < 100 && !up && host.exitCode === null; i++) {
          up = (await ns.exec(["ip", "link", "show", NAME])).exitCode === 0;
          if (!up) await Bun.sleep(100);
        }
        expect(up).toBe(true);
        await Bun.sleep(300); // the services listen right after the interface is up
        const file = `/tmp/tstcp-offload-${process.pid}-${Date.now()}.bin`;
        const script = [
          `head -c ${BYTES} /dev/urandom > ${file}`,
          `sha256sum < ${file}`,
          `timeout 20 nc -N 10.0.0.2 7 < ${file} | sha256sum`,
          `rm -f ${file}`,
        ].join("; ");
        const out = await ns.exec(["sh", "-c", script], { timeoutMs: 30_000 });
        const [sent, echoed] = out.stdout.trim().split("\n");
        expect(sent).toMatch(/^[0-9a-f]{64}/);
        expect(echoed).toBe(sent);
        const link = await ns.exec(["ip", "-s", "-j", "link", "show", NAME]);
        const [{ stats64 }] = JSON.parse(link.stdout) as [
          { stats64: Record<"rx" | "tx", { bytes: number; packets: number }> },
        ];
        // tx: kernel → stack; rx: stack → kernel. Each way carried the file at least once.
        expect(stats64.tx.bytes).toBeGreaterThan(BYTES);
        expect(stats64.rx.bytes).toBeGreaterThan(BYTES);
        expect(stats64.tx.bytes / stats64.tx.packets).toBeGreaterThan(MTU);
        expect(stats64.rx.bytes / stats64.rx.packets).toBeGreaterThan(MTU);
      });
    }, 60_000);

    test("offloads are on by default, off on request, and a kernel that refuses them gets the plain TUN", async () => {
      await withNetns("tun-offload-modes", async (ns) => {
        const out = await ns.exec(
          [process.execPath, `${ROOT}/tests/device/fixtures/tun_offload_modes.ts`],
          { timeoutMs: 30_000, env: { TSTCP_TUN_OFFLOAD: "" } },
        );
        const modes = JSON.parse(out.stdout.trim()) as Record<string, Record<string, unknown>>;
        expect(modes.default).toEqual({ offload: true, fallback: null });
        expect(modes.off).toEqual({ offload: false, fallback: null });
        expect(modes.required).toEqual({ offload: true, fallback: null });
        // By default a refusal is not an error: the plain TUN, and the kernel's reason kept.
        expect(modes.defaultRefused!.offload).toBe(false);
        expect(String(modes.defaultRefused!.fallback)).toMatch(/enable offloads on tstmode0/);
        // Asked for explicitly, the refusal is the error a user sees.
        expect(modes.requiredRefused!.error).toBe("EINVAL");
        expect(String(modes.requiredRefused!.message)).toMatch(/offloads/);
      });
    }, 60_000);
  },
  () => (Bun.which("nc") === null ? "nc (netcat-openbsd) is missing" : undefined),
);
