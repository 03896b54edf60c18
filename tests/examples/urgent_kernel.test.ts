/**
 * Urgent data against the Linux kernel's own sockets, both ways: Python's socket module
 * in a private network namespace talks to the demo host's TCP echo (port 7) on a TUN.
 * The kernel sends urgent data with MSG_OOB; the host receives the pointer, the echo
 * takes the out-of-band byte at the mark and sends it back with MSG_OOB; the kernel
 * must see it as urgent (POLLPRI, SIOCATMARK, recv(MSG_OOB)) after the data before it.
 * Needs root, /dev/net/tun and python3 (tests/helpers/tun_env.ts).
 */
import { expect, test } from "bun:test";
import { withNetns } from "../helpers/netns.ts";
import { commands, describeTun } from "../helpers/tun_env.ts";
import { spawnHost } from "./host_process.ts";

const STACK = "10.0.0.2";
const ARGS = ["--tun", "tsturg0", "--address", `${STACK}/24`, "--host", "10.0.0.1"];

/**
 * Two rounds against the echo. Each sends in-band text, urgent text with MSG_OOB (its
 * last byte is the out-of-band one, as Linux marks it), and more in-band text, then
 * reads until it has everything back: in-band with recv, the urgent byte with
 * recv(MSG_OOB) once poll says POLLPRI and ioctl(SIOCATMARK) says the mark is next.
 */
const CLIENT = String.raw`
import fcntl, json, select, socket, struct, sys, time
SIOCATMARK = 0x8905
s = socket.create_connection((sys.argv[1], 7), timeout=10)
p = select.poll()
p.register(s, select.POLLIN | select.POLLPRI)
rounds = []
for before, urgent, after in [(b"before ", b"!", b" after"), (b"ab", b"xyz", b"tail")]:
    s.sendall(before)
    s.send(urgent, socket.MSG_OOB)
    s.sendall(after)
    want = len(before) + len(urgent) - 1 + len(after)
    inband, oob, mark = b"", b"", None
    deadline = time.time() + 20
    while (len(inband) < want or not oob) and time.time() < deadline:
        events = p.poll(500)
        if not events:
            continue
        revents = events[0][1]
        if revents & select.POLLIN:
            inband += s.recv(100)  # stops at the mark
        if revents & select.POLLPRI:
            at = struct.unpack("i", fcntl.ioctl(s, SIOCATMARK, b"\0\0\0\0"))[0]
            if at:
                mark = len(inband)
                oob += s.recv(1, socket.MSG_OOB)
    rounds.append({"inband": inband.decode(), "oob": oob.decode(), "mark": mark})
s.close()
print(json.dumps(rounds))
`;

describeTun(
  "urgent data against the kernel",
  () => {
    test("MUST-30 MUST-31 MUST-62: the kernel's MSG_OOB reaches the echo and comes back urgent", async () => {
      await withNetns("tsturg", async (ns) => {
        const host = spawnHost(ns, ARGS);
        try {
          await host.waitFor(/is up/);
          const result = await ns.exec(["python3", "-c", CLIENT, STACK], { timeoutMs: 60_000 });
          expect(result.stderr).toBe("");
          expect(JSON.parse(result.stdout)).toEqual([
            { inband: "before  after", oob: "!", mark: 7 },
            // Three urgent bytes: the kernel puts the pointer after "z"; "xy" stay in band.
            { inband: "abxytail", oob: "z", mark: 4 },
          ]);
        } finally {
          expect(await host.stop("SIGINT")).toBe(0);
        }
      });
    }, 120_000);
  },
  commands("python3"),
);
