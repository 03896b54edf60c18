/**
 * TCP against a real peer: the Linux kernel's TCP, through a TUN device, inside a
 * network namespace each test creates and always deletes. The stack side is
 * fixtures/kernel_peer_host.ts (the host of `bun run start`: startHost + serveOnHost,
 * with a discard on port 9 that hashes what it throws away, commands to connect out,
 * and optionally a bad network between the TUN and the stack); the kernel side is nc,
 * curl, ss and tshark. Every byte count is checked exactly and every payload by sha256.
 * Helpers: fixtures/kernel_peer.ts.
 */
import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { withNetns } from "../../helpers/netns.ts";
import { commands, describeTun } from "../../helpers/tun_env.ts";
import {
  chargenSha256,
  connectionsOn,
  field,
  grown,
  hashInBackground,
  KERNEL,
  listening,
  quiescent,
  STACK,
  sh,
  stallReport,
  startPeerHost,
  TUN,
  waitForCapture,
  watchProgress,
  withScratch,
} from "./fixtures/kernel_peer.ts";

const MB = 1024 * 1024;
/** fixtures/faulty_link.ts: per packet, each direction, one seeded sequence. */
const BAD_NETWORK = "loss=0.02,reorder=0.02,duplicate=0.01,seed=7";
const WORSE_NETWORK = "loss=0.05,reorder=0.05,duplicate=0.02,delay=2,seed=3";

describeTun(
  "TCP against the Linux kernel on a TUN device",
  () => {
    test("echo: lines come back, and 20 MB of random data through nc -N comes back identical", async () => {
      await withNetns("tcp-kernel-echo", (ns) =>
        withScratch(async (dir) => {
          await startPeerHost(ns);
          const lines = await sh(
            ns,
            // One line at a time, each its own segment, then the rest in one write.
            `(printf 'one\\n'; sleep 0.2; printf 'two\\n'; sleep 0.2; printf 'three\\nfour, with more words\\n') | nc -N -w 10 ${STACK} 7`,
            15_000,
          );
          expect(lines.stdout).toBe("one\ntwo\nthree\nfour, with more words\n");
          expect(lines.exitCode).toBe(0);

          const big = await sh(
            ns,
            `head -c ${20 * MB} /dev/urandom > ${dir}/in; nc -N -w 20 ${STACK} 7 < ${dir}/in > ${dir}/out; ` +
              `echo "nc=$?"; wc -c < ${dir}/out; sha256sum < ${dir}/in; sha256sum < ${dir}/out`,
            20_000,
          );
          const [status, count, sent, echoed] = big.stdout.trim().split("\n");
          expect(status).toBe("nc=0");
          expect(count).toBe(String(20 * MB));
          expect(echoed).toBe(sent!);
        }),
      );
    }, 40_000);

    test("discard: 100 MB from head | nc -N completes, and the stack counted and hashed every byte", async () => {
      await withNetns("tcp-kernel-discard", (ns) =>
        withScratch(async (dir) => {
          const host = await startPeerHost(ns);
          const out = await sh(
            ns,
            `${hashInBackground(dir)} head -c ${100 * MB} /dev/urandom | tee ${dir}/fifo | nc -N -w 20 ${STACK} 9; ` +
              `echo "nc=$?"; wait; cat ${dir}/sum`,
            40_000,
          );
          expect(out.stdout).toContain("nc=0");
          const sent = out.stdout.trim().split("\n").pop()!.split(" ")[0];
          const seen = JSON.parse(await host.waitFor(/"discard"/, 10_000));
          expect(seen).toEqual({ discard: 100 * MB, sha256: sent });
        }),
      );
    }, 60_000);

    test("chargen: nc | head -c 100M | wc -c gives 104857600 bytes of the RFC 864 pattern", async () => {
      await withNetns("tcp-kernel-chargen", (ns) =>
        withScratch(async (dir) => {
          await startPeerHost(ns);
          const out = await sh(
            ns,
            `${hashInBackground(dir)} nc ${STACK} 19 | head -c ${100 * MB} | tee ${dir}/fifo | wc -c; wait; cat ${dir}/sum`,
            40_000,
          );
          const [count, sum] = out.stdout.trim().split("\n");
          expect(count).toBe(String(100 * MB));
          expect(sum?.split(" ")[0]).toBe(chargenSha256(100 * MB));
          // nc died of SIGPIPE with data unread, so Linux reset the connection (RFC 9293
          // §3.6 note, RFC 2525 §2.17): chargen must see it and let the connection go.
          expect(await connectionsOn(ns, 19)).toEqual([]);
        }),
      );
    }, 60_000);

    test("the stack connects out: 10 MB from a kernel nc -l arrive intact; a closed port is ECONNREFUSED", async () => {
      await withNetns("tcp-kernel-client", (ns) =>
        withScratch(async (dir) => {
          const host = await startPeerHost(ns);
          const made = await sh(
            ns,
            `head -c ${10 * MB} /dev/urandom > ${dir}/file; sha256sum < ${dir}/file`,
          );
          const expected = made.stdout.split(" ")[0];
          const server = ns.spawn(["bash", "-c", `nc -N -l ${KERNEL} 5001 < ${dir}/file`]);
          await listening(ns, 5001);
          host.command("fetch 5001");
          const fetched = JSON.parse(await host.waitFor(/"fetched"|"error"/, 20_000));
          expect(fetched).toEqual({ fetched: 10 * MB, sha256: expected });
          expect(
            await Promise.race([server.exited, Bun.sleep(5000).then(() => "nc -l still running")]),
          ).toBe(0);

          host.command("refused 5002");
          const refused = JSON.parse(await host.waitFor(/"refused"|"error"/, 10_000));
          expect(refused).toEqual({ refused: "ECONNREFUSED" });
        }),
      );
    }, 40_000);

    test("handshake options: the SYN-ACK answers Linux's SYN with MSS 1460, window scale, SACK-permitted and the echoed timestamp", async () => {
      await withNetns("tcp-kernel-syn", async (ns) => {
        await startPeerHost(ns);
        const fields = [
          "ip.src",
          "tcp.flags.syn",
          "tcp.flags.ack",
          "tcp.options.mss_val",
          "tcp.options.wscale.shift",
          "tcp.options.sack_perm",
          "tcp.options.timestamp.tsval",
          "tcp.options.timestamp.tsecr",
        ];
        const capture = ns.spawn([
          "tshark",
          "-i",
          TUN,
          "-l",
          "-n",
          "-f",
          "tcp port 7",
          "-T",
          "fields",
          "-E",
          "separator=;",
          ...fields.flatMap((f) => ["-e", f]),
        ]);
        const captured = new Response(capture.stdout).text();
        const capturing = await waitForCapture(capture.stderr);
        // dumpcap says "Capture started" once it reads the interface ("Capturing on" is earlier).
        expect(capturing).toContain("Capture started");
        const echo = await sh(ns, `echo hello | nc -N -w 5 ${STACK} 7`);
        expect(echo.stdout).toBe("hello\n");
        await Bun.sleep(500);
        capture.kill("SIGINT");
        const killer = setTimeout(() => capture.kill("SIGKILL"), 5000);
        await capture.exited;
        clearTimeout(killer);
        const rows = (await captured)
          .trim()
          .split("\n")
          .map((line) => Object.fromEntries(line.split(";").map((v, i) => [fields[i]!, v])));
        const syn = rows.find(
          (r) => r["ip.src"] === KERNEL && r["tcp.flags.syn"] === "1" && r["tcp.flags.ack"] === "0",
        );
        const synAck = rows.find((r) => r["ip.src"] === STACK && r["tcp.flags.syn"] === "1");
        expect(syn).toBeDefined();
        expect(synAck).toBeDefined();
        // What Linux offers by default (RFC 7323, RFC 2018).
        expect(syn!["tcp.options.wscale.shift"]).not.toBe("");
        expect(syn!["tcp.options.sack_perm"]).not.toBe("");
        expect(syn!["tcp.options.timestamp.tsval"]).not.toBe("");
        // RFC 9293 §3.7.1 / RFC 879: MSS = MTU 1500 - 20 - 20.
        expect(synAck!["tcp.options.mss_val"]).toBe("1460");
        // RFC 7323 §2.2: window scale only in answer to one, and then sent.
        expect(synAck!["tcp.options.wscale.shift"]).not.toBe("");
        // RFC 2018 §2: SACK-permitted in the SYN-ACK when the SYN had it.
        expect(synAck!["tcp.options.sack_perm"]).not.toBe("");
        // RFC 7323 §3.2/§4.3: TSecr of the SYN-ACK is the SYN's TSval.
        expect(synAck!["tcp.options.timestamp.tsecr"]).toBe(syn!["tcp.options.timestamp.tsval"]);
        // Every later segment from the stack echoes a TSval the kernel has sent.
        const kernelTsvals = new Set(
          rows.filter((r) => r["ip.src"] === KERNEL).map((r) => r["tcp.options.timestamp.tsval"]),
        );
        const fromStack = rows.filter((r) => r["ip.src"] === STACK);
        expect(fromStack.length).toBeGreaterThan(1);
        for (const r of fromStack) {
          expect(kernelTsvals.has(r["tcp.options.timestamp.tsecr"])).toBe(true);
        }
      });
    }, 30_000);

    test("a bad network (2% loss, 2% reordering, 1% duplication each way): echo, discard and chargen stay intact", async () => {
      await withNetns("tcp-kernel-lossy", (ns) =>
        withScratch(async (dir) => {
          const host = await startPeerHost(ns, ["--faults", BAD_NETWORK]);
          const echo = await sh(
            ns,
            `head -c ${2 * MB} /dev/urandom > ${dir}/in; nc -N -w 20 ${STACK} 7 < ${dir}/in > ${dir}/out; ` +
              `echo "nc=$?"; wc -c < ${dir}/out; sha256sum < ${dir}/in; sha256sum < ${dir}/out`,
            30_000,
          );
          const [status, count, sent, echoed] = echo.stdout.trim().split("\n");
          expect(status).toBe("nc=0");
          expect(count).toBe(String(2 * MB));
          expect(echoed).toBe(sent!);

          const discard = await sh(
            ns,
            `head -c ${5 * MB} /dev/urandom > ${dir}/up; nc -N -w 20 ${STACK} 9 < ${dir}/up; echo "nc=$?"; sha256sum < ${dir}/up`,
            30_000,
          );
          const [ncStatus, upSum] = discard.stdout.trim().split("\n");
          expect(ncStatus).toBe("nc=0");
          const seen = JSON.parse(await host.waitFor(/"discard"/, 10_000));
          expect(seen).toEqual({ discard: 5 * MB, sha256: upSum!.split(" ")[0] });

          const chargen = await sh(
            ns,
            `${hashInBackground(dir)} nc ${STACK} 19 | head -c ${5 * MB} | tee ${dir}/fifo | wc -c; wait; cat ${dir}/sum`,
            30_000,
          );
          const [got, sum] = chargen.stdout.trim().split("\n");
          expect(got).toBe(String(5 * MB));
          expect(sum?.split(" ")[0]).toBe(chargenSha256(5 * MB));

          // The network really was bad both ways, and the stack really recovered.
          host.command("faults");
          const { faults } = JSON.parse(await host.waitFor(/"faults"/));
          for (const way of [faults.toStack, faults.fromStack]) {
            expect(way.lost).toBeGreaterThan(0);
            expect(way.reordered).toBeGreaterThan(0);
            expect(way.duplicated).toBeGreaterThan(0);
          }
          const stats = await sh(ns, `curl -sS --max-time 10 http://${STACK}/stats`, 15_000);
          expect(JSON.parse(stats.stdout).counters.tcpRetransSegs).toBeGreaterThan(0);
        }),
      );
    }, 90_000);

    // An intermittent stall seen here until 2026-11-21 (about one full-suite run in four:
    // the stack advertising a zero window, the kernel in persist backoff) has not come
    // back in 10 full suites and 115 runs of this transfer alone since pure ACKs keep
    // SND.MAX when it is past the peer's edge only by the window scale's rounding
    // (output.ts pureAckSeq, fd4a468): each end had been dropping the other's ACKs. The
    // faults run on real timers, so no seed replays it; one retry stays until more runs
    // agree (a stall twice in a row still fails), and the stall report prints both
    // sides' state, the stack's TCB variables included.
    test(
      "a worse network (5% loss, 5% reordering, 2% duplication, 2 ms each way): 3 MB through echo still completes",
      async () => {
        await withNetns("tcp-kernel-worse", (ns) =>
          withScratch(async (dir) => {
            const host = await startPeerHost(ns, ["--faults", WORSE_NETWORK]);
            await sh(ns, `head -c ${3 * MB} /dev/urandom > ${dir}/in`);
            const nc = ns.spawn(["bash", "-c", `nc -N ${STACK} 7 < ${dir}/in > ${dir}/out`]);
            const stalled = await watchProgress(`${dir}/out`, nc.exited, 40_000, 5_000);
            if (stalled !== undefined) {
              const report = await stallReport(ns, stalled, 7, host);
              nc.kill("SIGKILL");
              throw new Error(report);
            }
            expect(await nc.exited).toBe(0);
            const sums = await sh(
              ns,
              `sha256sum < ${dir}/in; sha256sum < ${dir}/out; wc -c < ${dir}/out`,
            );
            const [sent, echoed, count] = sums.stdout.trim().split("\n");
            expect(count).toBe(String(3 * MB));
            expect(echoed).toBe(sent!);
          }),
        );
      },
      { timeout: 60_000, retry: 1 },
    );

    test("a receiver that stops reading: its window closes on what it holds, nothing the kernel sends inside it is left unacknowledged, and its own upload still flows", async () => {
      await withNetns("tcp-kernel-full", (ns) =>
        withScratch(async (dir) => {
          const host = await startPeerHost(ns);
          // The kernel sends 4 MB that the stack never reads, and reads what it sends.
          await sh(ns, `head -c ${4 * MB} /dev/zero > ${dir}/down`);
          ns.spawn(["bash", "-c", `nc -l ${KERNEL} 5003 < ${dir}/down > ${dir}/up`]);
          await listening(ns, 5003);
          host.command("hold 5003");
          await host.waitFor(/"held"/);
          const kernel = await quiescent(ns, 5003);
          // RFC 7323 §2.3/§2.4: the window field is the free buffer space shifted right
          // (rounded down: the window may "appear to shrink" by less than 2^shift). The
          // kernel fills what is offered, so with the buffer full every byte it sent must
          // be acknowledged and it is left probing a zero window: nothing unacked in
          // flight, in RTO backoff, offered space that was never there.
          expect({ unacked: field(kernel, "unacked"), kernel }).toEqual({ unacked: 0, kernel });
          host.command(`upload ${MB}`);
          const stalled = await watchProgress(`${dir}/up`, grown(`${dir}/up`, MB), 10_000, 3_000);
          if (stalled !== undefined) throw new Error(await stallReport(ns, stalled, 5003, host));
          expect(statSync(`${dir}/up`).size).toBe(MB);
        }),
      );
    }, 40_000);
  },
  commands("nc", "tshark", "sha256sum", "ss", "curl"),
);
