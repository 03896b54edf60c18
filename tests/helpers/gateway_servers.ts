/**
 * Real servers for the gateway tests, in the server namespace: our kernel-socket
 * fixtures (tests/gateway/fixtures/servers.ts), dnsmasq and an OpenSSH server with keys
 * made in a temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Netns } from "./netns.ts";

export const TEST_NAME = "gateway-test.example";
export const TEST_NAME_ADDRESS = "198.18.7.7";
export const SSH_PORT = 2222;

export interface ServerSet {
  /** ssh/scp arguments that log in as root with the test key. */
  sshOptions: string[];
  dir: string;
  cleanup(): void;
}

async function waitForLine(
  child: { stdout: ReadableStream<Uint8Array> },
  pattern: RegExp,
  ms: number,
): Promise<void> {
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (pattern.test(text)) {
      reader.releaseLock();
      return;
    }
  }
  throw new Error(`server did not print ${pattern}: ${text}`);
}

export async function startServers(server: Netns, address: string): Promise<ServerSet> {
  const fixtures = server.spawnBun("tests/gateway/fixtures/servers.ts", [address]);
  const dir = mkdtempSync(join(tmpdir(), "gwssh-"));
  const must = async (command: string[]) => {
    const r = await server.exec(command, { timeoutMs: 20_000 });
    if (r.exitCode !== 0) throw new Error(`${command.join(" ")}: ${r.stderr}`);
  };
  server.spawn([
    "dnsmasq",
    "--no-daemon",
    "--no-resolv",
    "--no-hosts",
    `--listen-address=${address}`,
    "--bind-interfaces",
    `--address=/${TEST_NAME}/${TEST_NAME_ADDRESS}`,
    "--user=root",
    "--pid-file=",
  ]);
  await must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  await must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "user_key")]);
  await must(["cp", join(dir, "user_key.pub"), join(dir, "authorized_keys")]);
  await must(["mkdir", "-p", "/run/sshd"]);
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${SSH_PORT}`,
      `ListenAddress ${address}`,
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin yes",
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      `PidFile ${join(dir, "sshd.pid")}`,
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  server.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", config]);
  await waitForLine(fixtures, /ready/, 30_000);
  return {
    dir,
    sshOptions: [
      "-i",
      join(dir, "user_key"),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=20",
      "-o",
      "LogLevel=ERROR",
    ],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
