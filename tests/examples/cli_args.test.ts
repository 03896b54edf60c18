/**
 * `bun run start` arguments: defaults, both spellings, and one sentence for each mistake.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseHostArgs } from "../../examples/cli_args.ts";
import { formatIpv4, netmask, parseIpv4 } from "../../stack/address.ts";
import { parseIpv6 } from "../../stack/ipv6/address.ts";

function errorOf(argv: string[]): string {
  const parsed = parseHostArgs(argv);
  if (parsed.kind !== "error") throw new Error(`expected an error, got ${parsed.kind}`);
  return parsed.message;
}

describe("host arguments", () => {
  test("defaults: tun0, 10.0.0.2/24 and fd00::2/64, kernel side 10.0.0.1 and fd00::1, MTU 1500, no pcap, every service", () => {
    expect(parseHostArgs([])).toEqual({
      kind: "run",
      args: {
        tun: "tun0",
        address: parseIpv4("10.0.0.2")!,
        prefixLength: 24,
        host: parseIpv4("10.0.0.1")!,
        ipv6: { address: parseIpv6("fd00::2")!, prefixLength: 64, host: parseIpv6("fd00::1")! },
        mtu: 1500,
        pcap: undefined,
        services: ["echo", "discard", "chargen", "http"],
        trace: false,
        offload: undefined,
      },
    });
  });

  test("--unix DIR: kept; a directory too long for DIR/echo.dgram (107 bytes) is one sentence", () => {
    const parsed = parseHostArgs(["--unix", "/run/tstcp"]);
    expect(parsed.kind === "run" && parsed.args.unix).toBe("/run/tstcp");
    expect(errorOf(["--unix", `/${"d".repeat(100)}`])).toBe(
      `--unix /${"d".repeat(100)} is too long for a Unix-domain socket: DIR/echo.dgram must fit in 107 bytes.`,
    );
  });

  test("--services picks a subset; an unknown name is one sentence", () => {
    const parsed = parseHostArgs(["--services", "echo,http", "--trace"]);
    if (parsed.kind !== "run") throw new Error(`expected run, got ${parsed.kind}`);
    expect(parsed.args.services).toEqual(["echo", "http"]);
    expect(parsed.args.trace).toBe(true);
    expect(errorOf(["--services", "echo,gopher"])).toContain('unknown service "gopher"');
  });

  test("--name value and --name=value are the same", () => {
    const a = parseHostArgs([
      "--tun",
      "tst1",
      "--address",
      "192.168.7.9/16",
      "--host",
      "192.168.1.1",
      "--mtu",
      "9000",
      "--pcap",
      "x.pcap",
    ]);
    const b = parseHostArgs([
      "--tun=tst1",
      "--address=192.168.7.9/16",
      "--host=192.168.1.1",
      "--mtu=9000",
      "--pcap=x.pcap",
    ]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({
      kind: "run",
      args: { tun: "tst1", prefixLength: 16, mtu: 9000, pcap: "x.pcap" },
    });
  });

  test("--help lists every option; options before it are still checked", () => {
    const parsed = parseHostArgs(["--mtu", "1", "--help"]);
    expect(parsed.kind).toBe("error"); // options are checked in order: the bad MTU comes first
    const help = parseHostArgs(["--help"]);
    expect(help.kind).toBe("help");
    if (help.kind === "help")
      for (const option of ["--tun", "--address", "--host", "--mtu", "--pcap", "--help"])
        expect(help.text).toContain(option);
  });

  test("each mistake is one sentence", () => {
    const cases: [string[], string][] = [
      [["--bogus"], "Unknown option --bogus: see --help."],
      [["--mtu"], "--mtu needs a value (BYTES)."],
      [["--mtu", "67"], "--mtu 67 is out of range: it must be a whole number from 68 to 65535."],
      [
        ["--mtu", "65536"],
        "--mtu 65536 is out of range: it must be a whole number from 68 to 65535.",
      ],
      [["--mtu", "1e3"], "--mtu 1e3 is out of range: it must be a whole number from 68 to 65535."],
      [
        ["--address", "10.0.0.2"],
        "--address 10.0.0.2 is not an IPv4 address with a prefix length of 1 to 30, like 10.0.0.2/24.",
      ],
      [
        ["--address", "10.0.0.2/31"],
        "--address 10.0.0.2/31 is not an IPv4 address with a prefix length of 1 to 30, like 10.0.0.2/24.",
      ],
      [["--host", "10.0.0"], "--host 10.0.0 is not an IPv4 address, like 10.0.0.1."],
      [
        ["--host", "10.0.1.1"],
        "--host 10.0.1.1 is not in 10.0.0.0/24, the subnet of --address 10.0.0.2/24.",
      ],
      [
        ["--host", "10.0.0.2"],
        "--host and --address must be different hosts, but both are 10.0.0.2.",
      ],
      [
        ["--host", "10.0.0.255"],
        "--host 10.0.0.255 is the network or broadcast address of 10.0.0.0/24: choose a host address.",
      ],
      [
        ["--address", "10.0.0.0/24"],
        "--address 10.0.0.0 is the network or broadcast address of 10.0.0.0/24: choose a host address.",
      ],
      [
        ["--tun", "a-name-that-is-too-long"],
        '--tun a-name-that-is-too-long is not a valid interface name: use 1 to 15 characters without "/", ":" or spaces.',
      ],
    ];
    for (const [argv, message] of cases) expect(errorOf(argv)).toBe(message);
  });

  test("any two different host addresses of one subnet are accepted; one outside is refused", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (prefix, network, x, y) => {
          const mask = netmask(prefix);
          const hostCount = 2 ** (32 - prefix) - 2; // minus network and broadcast
          const base = (network & mask) >>> 0;
          const a = (base + 1 + (x % hostCount)) >>> 0;
          const b = (base + 1 + (y % hostCount)) >>> 0;
          const argv = ["--address", `${formatIpv4(a)}/${prefix}`, "--host", formatIpv4(b)];
          const parsed = parseHostArgs(argv);
          if (a === b) expect(parsed.kind).toBe("error");
          else
            expect(parsed).toMatchObject({
              kind: "run",
              args: { address: a, host: b, prefixLength: prefix },
            });
          const outside = (b ^ (0x80000000 >>> (prefix - 1))) >>> 0; // flip the last network bit
          expect(
            errorOf(["--address", `${formatIpv4(a)}/${prefix}`, "--host", formatIpv4(outside)]),
          ).toContain("is not in");
        },
      ),
    );
  });
});

describe("host arguments: IPv6", () => {
  const v6 = (argv: string[]) => {
    const parsed = parseHostArgs(argv);
    if (parsed.kind !== "run") throw new Error(`expected run, got ${JSON.stringify(parsed)}`);
    return parsed.args.ipv6;
  };

  test("--address6 and --host6 set the prefix and the kernel side, canonical (RFC 5952)", () => {
    expect(v6(["--address6", "FD00:0:0:1::0002/64", "--host6", "fd00:0:0:1::1"])).toEqual({
      address: "fd00:0:0:1::2",
      prefixLength: 64,
      host: "fd00:0:0:1::1",
    } as never);
  });

  test("--no-ipv6 turns IPv6 off", () => {
    expect(v6(["--no-ipv6"])).toBeUndefined();
  });

  test("one sentence for each mistake", () => {
    expect(errorOf(["--address6", "fd00::2"])).toContain(
      "is not an IPv6 address with a prefix length",
    );
    expect(errorOf(["--host6", "10.0.0.1"])).toContain("is not an IPv6 address");
    expect(errorOf(["--host6", "fd01::1"])).toContain("outside fd00::2/64");
    expect(errorOf(["--host6", "fd00::2"])).toContain("the stack's own address");
    expect(errorOf(["--address6", "ff02::1/64"])).toContain("not a unicast address");
  });
});
