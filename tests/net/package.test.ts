/**
 * The package: its entry and bin as package.json names them, and createHost's options
 * read as the command line's flags (the same parser, the same sentences).
 */
import { expect, test } from "bun:test";
import { accessSync, constants, readFileSync } from "node:fs";
import * as tstcp from "../../index.ts";
import { hostArgsFromOptions } from "../../index.ts";
import { parseIpv4 } from "../../stack/address.ts";

const ROOT = `${import.meta.dir}/../..`;
const manifest = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8"));

test("exports['.'] is the entry, with createHost, createHostPair, the net face and the socket API", async () => {
  expect(manifest.exports["."]).toBe("./index.ts");
  expect(manifest.types).toBe("./index.ts");
  const entry = await import(`${ROOT}/${manifest.exports["."]}`);
  for (const name of ["createHost", "createHostPair", "createNet", "createSocketApi", "isIP"]) {
    expect(typeof entry[name]).toBe("function");
  }
  expect(tstcp.isIP("10.0.0.1")).toBe(4);
});

test("bin tstcp is the demo host: a bun script that answers --help", async () => {
  const bin = `${ROOT}/${manifest.bin.tstcp}`;
  expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env bun\n")).toBe(true);
  accessSync(bin, constants.X_OK);
  const run = Bun.spawn([process.execPath, bin, "--help"], { stdout: "pipe", stderr: "pipe" });
  const text = await new Response(run.stdout).text();
  expect(await run.exited).toBe(0);
  expect(text).toContain("Usage:");
});

test("the README's program (examples/net_hello.ts, importing the package by name) prints its line", async () => {
  const run = Bun.spawn([process.execPath, `${ROOT}/examples/net_hello.ts`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, errors] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
  ]);
  expect({ exit: await run.exited, out, errors }).toEqual({
    exit: 0,
    out: "hello from our TCP\n",
    errors: "",
  });
});

test("createHost's options are the CLI's flags; no services unless asked", () => {
  const args = hostArgsFromOptions({
    tun: "tstlib0",
    address: "10.5.0.2/24",
    host: "10.5.0.1",
    mtu: 1400,
    trace: true,
    offload: false,
  });
  expect(args).toMatchObject({
    tun: "tstlib0",
    address: parseIpv4("10.5.0.2"),
    prefixLength: 24,
    host: parseIpv4("10.5.0.1"),
    mtu: 1400,
    trace: true,
    offload: false,
    services: [],
  });
  expect(hostArgsFromOptions({}).offload).toBeUndefined();
  expect(hostArgsFromOptions({ services: ["echo", "http"] }).services).toEqual(["echo", "http"]);
});

test("createHost's bad options get the command line's sentences", () => {
  expect(() => hostArgsFromOptions({ address: "10.5.0.0/24" })).toThrow(
    "--address 10.5.0.0 is the network or broadcast address of 10.5.0.0/24: choose a host address.",
  );
  expect(() => hostArgsFromOptions({ mtu: 20 })).toThrow("--mtu 20 is out of range");
  expect(() => hostArgsFromOptions({ colour: "red" })).toThrow("Unknown option --colour");
  expect(() => tstcp.createHost({ host: "10.9.9.9" })).toThrow(
    "--host 10.9.9.9 is not in 10.0.0.0/24",
  );
});
