/** The gateway's flags and firewall rules, without a network (gateway/cli.ts, firewall.ts, forwards.ts). */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { parseGatewayArgs } from "../../gateway/cli.ts";
import { defaultGatewayConfig } from "../../gateway/config.ts";
import { Firewall, parseRule } from "../../gateway/firewall.ts";
import { parseForward } from "../../gateway/forwards.ts";
import { Gateway, systemResolver } from "../../gateway/gateway.ts";
import { parseIpv4 } from "../../stack/address.ts";

const ip = (text: string) => parseIpv4(text)!;

describe("firewall", () => {
  const hostAddress = ip("198.18.0.1");
  const rules = [parseRule("allow", "198.18.0.1:8080"), parseRule("deny", "tcp:198.18.0.0/16:22")];
  const firewall = new Firewall(rules as never, false, [hostAddress]);

  test("the first matching rule decides; port and protocol narrow a rule", () => {
    expect(firewall.check("tcp", ip("198.18.5.5"), 22).allowed).toBe(false);
    expect(firewall.check("udp", ip("198.18.5.5"), 22).allowed).toBe(true);
    expect(firewall.check("tcp", ip("198.18.5.5"), 23).allowed).toBe(true);
    expect(firewall.check("tcp", ip("198.19.5.5"), 22).allowed).toBe(true);
  });

  test("the host's own addresses and loopback are denied unless a rule allows them", () => {
    expect(firewall.check("tcp", hostAddress, 80)).toEqual({
      allowed: false,
      reason: "198.18.0.1 is this host (--allow-host-loopback)",
    });
    expect(firewall.check("tcp", ip("127.0.0.1"), 80).allowed).toBe(false);
    expect(firewall.check("tcp", hostAddress, 8080).allowed).toBe(true);
    expect(new Firewall([], true, [hostAddress]).check("tcp", hostAddress, 80).allowed).toBe(true);
  });

  test("bad rules get a sentence", () => {
    expect(parseRule("deny", "10.0.0.0/33")).toContain("is not [tcp:|udp:]ADDRESS[/LEN][:PORT]");
    expect(parseRule("deny", "10.0.0.1:70000")).toContain("port 70000");
  });
});

describe("flags", () => {
  test("forwards: tcp:[ADDR:]HOSTPORT:INNERPORT", () => {
    expect(parseForward("tcp:8080:80")).toEqual({
      protocol: "tcp",
      hostAddress: "127.0.0.1",
      hostPort: 8080,
      innerPort: 80,
    });
    expect(parseForward("tcp:0.0.0.0:2222:22")).toMatchObject({
      hostAddress: "0.0.0.0",
      hostPort: 2222,
    });
    expect(parseForward("udp:5353:53")).toMatchObject({
      protocol: "udp",
      hostPort: 5353,
      innerPort: 53,
    });
    expect(parseForward("tcp:80")).toContain("is not tcp|udp:");
    expect(parseForward("sctp:1:2")).toContain("is not tcp|udp:");
  });

  test("slirp's addresses by default; flags override them", () => {
    const parsed = parseGatewayArgs([
      "--gateway",
      "--netns",
      "box",
      "--inner",
      "10.9.0.5",
      "--deny",
      "1.2.3.4",
    ]);
    if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
    expect(parsed.args.netns).toBe("box");
    expect(parsed.args.config.gatewayAddress).toBe(ip("10.0.2.2"));
    expect(parsed.args.config.dnsAddress).toBe(ip("10.0.2.3"));
    expect(parsed.args.config.innerAddress).toBe(ip("10.9.0.5"));
    expect(parsed.args.config.rules).toHaveLength(1);
    expect(parseGatewayArgs(["--gateway", "--bogus"])).toMatchObject({ kind: "error" });
    expect(parseGatewayArgs(["--gateway", "--mtu"])).toMatchObject({ kind: "error" });
  });

  test("the DNS upstream is the first IPv4 nameserver of resolv.conf", async () => {
    const path = `/tmp/resolv-${process.pid}.conf`;
    await Bun.write(
      path,
      "# comment\nnameserver fe80::1\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n",
    );
    expect(systemResolver(path)).toEqual({ address: "192.0.2.53", port: 53 });
    expect(systemResolver("/nonexistent")).toBeUndefined();
    rmSync(path);
  });
});

test("the gateway claims off-link unicast addresses and the DNS relay's, nothing else on the link", () => {
  const gateway = new Gateway(defaultGatewayConfig());
  expect(gateway.claims(ip("198.18.0.2"))).toBe(true);
  expect(gateway.claims(ip("10.0.2.3"))).toBe(true);
  expect(gateway.claims(ip("10.0.2.77"))).toBe(false);
  expect(gateway.claims(ip("224.0.0.251"))).toBe(false);
  expect(gateway.claims(ip("255.255.255.255"))).toBe(false);
  expect(gateway.claims(ip("127.0.0.1"))).toBe(false);
});
