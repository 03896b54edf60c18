/**
 * The real TUN device, in a private network namespace: the fixture script
 * (fixtures/tun_echo.ts) runs inside it, exchanges ICMP echoes with the kernel and
 * reports what it saw as one JSON line.
 */
import { describe, expect, test } from "bun:test";
import { DeviceError, deviceErrorFor, Errno } from "../../device/libc.ts";
import { Tun } from "../../device/tun.ts";
import { withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";

const FIXTURES = `${import.meta.dir}/fixtures`;

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "null");
}

describeTun(
  "TUN device (in a network namespace)",
  () => {
    test("configures the kernel side, carries the kernel's ping out and its echo reply in, and disappears on close", async () => {
      await withNetns("tun-echo", async (ns) => {
        const out = await ns.runBun(
          `${FIXTURES}/tun_echo.ts`,
          ["tsttun0", "10.99.0.1/24", "10.99.0.2", "1400"],
          {
            timeoutMs: 20_000,
          },
        );
        expect(out.stderr).not.toContain("error");
        expect(out.exitCode).toBe(0);
        const result = lastJsonLine(out.stdout);
        expect(result.name).toBe("tsttun0");
        expect(result.link).toEqual({
          mtu: 1400,
          flags: expect.arrayContaining(["UP"]),
          addresses: ["10.99.0.1/24"],
        });
        expect(result.request).toEqual({ source: "10.99.0.1", destination: "10.99.0.2" });
        expect(result.reply).toEqual({
          source: "10.99.0.1",
          destination: "10.99.0.2",
          sequence: 7,
          payload: "tstcp device test",
        });
        expect(result.busy).toMatchObject({ code: "EBUSY" });
        expect(result.linkAfterClose).toBeNull();
        // The namespace holds no interface but lo once the fixture has exited.
        const links = await ns.exec(["ip", "-o", "link"]);
        expect(links.stdout).not.toContain("tsttun0");
      });
    });

    test("an existing interface that is not a TUN device is refused, and left as it was", async () => {
      await withNetns("tun-lo", async (ns) => {
        const out = await ns.runBun(`${FIXTURES}/tun_open_error.ts`, ["lo", "10.98.0.1/24"], {
          timeoutMs: 20_000,
        });
        expect(out.exitCode).toBe(0);
        const result = lastJsonLine(out.stdout);
        expect(result.code).toBe("EINVAL");
        expect(result.message).toContain("is lo an existing interface that is not a TUN device?");
        const lo = await ns.exec(["ip", "-o", "addr", "show", "dev", "lo"]);
        expect(lo.stdout).toContain("127.0.0.1/8");
        expect(lo.stdout).not.toContain("10.98.0.1");
      });
    });

    test("an unprivileged user is told to use sudo", async () => {
      await withNetns("tun-perm", async (ns) => {
        const out = await ns.exec(
          [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            process.execPath,
            `${FIXTURES}/tun_open_error.ts`,
            "tstperm0",
          ],
          { timeoutMs: 20_000, env: { HOME: "/tmp", BUN_INSTALL_CACHE_DIR: "/tmp" } },
        );
        expect(out.exitCode).toBe(0);
        const result = lastJsonLine(out.stdout);
        expect(result.code).toBe("EPERM");
        expect(result.message).toContain("run it with sudo");
      });
    });
  },
  commands("ping", "setpriv"),
);

describe("TUN errors that need no privileges", () => {
  test("a name longer than 15 bytes is refused before any system call", () => {
    const open = () => Tun.open({ name: "a-very-long-tun-name" });
    expect(open).toThrow(DeviceError);
    expect(open).toThrow(
      'The interface name "a-very-long-tun-name" is 20 bytes long, but Linux allows at most 15.',
    );
  });

  test("a bad address and a bad MTU are refused with a sentence", () => {
    expect(() => Tun.open({ name: "tst0", address: "10.0.0.300/24" })).toThrow(
      /not an IPv4 address with a prefix/,
    );
    expect(() => Tun.open({ name: "tst0", address: "10.0.0.1" })).toThrow(/like 10.0.0.1\/24/);
    expect(() => Tun.open({ name: "tst0", mtu: 67 })).toThrow(
      "The MTU 67 is out of range: it must be 68 to 65535.",
    );
    expect(() => Tun.open({ name: "a/b" })).toThrow(/not valid/);
  });

  test("each errno becomes one sentence with advice", () => {
    const cases: [number, string, RegExp][] = [
      [Errno.EPERM, "EPERM", /run it with sudo\.$/],
      [Errno.EACCES, "EPERM", /run it with sudo\.$/],
      [Errno.ENOENT, "ENOENT", /modprobe tun\.$/],
      [Errno.EBUSY, "EBUSY", /tun0 is busy.*--tun\.$/],
      [Errno.EINVAL, "EINVAL", /not a TUN device\?\)\.$/],
      [95, "errno 95", /the kernel answered errno 95\.$/],
    ];
    for (const [errno, code, sentence] of cases) {
      const error = deviceErrorFor(errno, "open /dev/net/tun", "tun0");
      expect(error.code).toBe(code);
      expect(error.message).toMatch(sentence);
      expect(error.message.split(". ").length).toBe(1); // one sentence
    }
  });
});
