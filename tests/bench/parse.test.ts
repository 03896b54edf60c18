/**
 * The pure parts of the benchmark harness: reading the tools' output (captured from the
 * real tools on this kind of machine), medians and percentiles, the chargen check, and
 * the results table. The smoke test runs the whole harness; these pin its arithmetic.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { chargenBuffer, chargenError } from "../../bench/patterns.ts";
import { parseFloodSummary, replyTimes } from "../../bench/ping.ts";
import { formatNumber, median, percentile, renderTable } from "../../bench/report.ts";
import { parseWrk } from "../../bench/wrk.ts";

const WRK_OUTPUT = `Running 1s test @ http://127.0.0.1/bytes/64
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.29ms   24.97ms 128.46ms   88.76%
    Req/Sec    10.14k     7.41k   25.10k    71.43%
  Latency Distribution
     50%  812.00us
     75%    7.31ms
     90%   45.83ms
     99%     1.21s
  7478 requests in 1.03s, 1.02MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   7294.58
Transfer/sec:      0.99MB
`;

const PING_OUTPUT = `PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.164 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.021 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=12.5 ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 30ms
rtt min/avg/max/mdev = 0.021/0.068/0.164/0.067 ms
`;

const FLOOD_OUTPUT = `PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.

--- 10.0.0.2 ping statistics ---
45391 packets transmitted, 45389 received, +1 errors, 0.00440616% packet loss, time 2001ms
rtt min/avg/max/mdev = 0.008/0.040/3.839/0.072 ms, ipg/ewma 0.044/0.013 ms
`;

describe("tool output", () => {
  test("wrk: rate, latency percentiles in ms whatever the unit, errors summed", () => {
    expect(parseWrk(WRK_OUTPUT)).toEqual({
      requestsPerSecond: 7294.58,
      p50Ms: 0.812,
      p99Ms: 1210,
      errors: 3 + 2 + 4,
    });
  });

  test("wrk: no summary line means no figure", () => {
    expect(parseWrk("unable to connect to 10.0.0.2:http Connection refused")).toBeUndefined();
  });

  test("ping: one time per reply line", () => {
    expect(replyTimes(PING_OUTPUT)).toEqual([0.164, 0.021, 12.5]);
  });

  test("ping -f: the summary, with an errors field in it", () => {
    expect(parseFloodSummary(FLOOD_OUTPUT)).toEqual({
      transmitted: 45391,
      received: 45389,
      elapsedMs: 2001,
    });
    expect(parseFloodSummary("ping: connect: Network is unreachable")).toBeUndefined();
  });
});

describe("statistics", () => {
  test("median of an odd count is the middle value, of an even count the mean of the two", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test("median and percentiles lie within the samples, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1 }),
        (xs) => {
          const low = Math.min(...xs);
          const high = Math.max(...xs);
          const p50 = percentile(xs, 50);
          const p99 = percentile(xs, 99);
          expect(median(xs)).toBeGreaterThanOrEqual(low);
          expect(median(xs)).toBeLessThanOrEqual(high);
          expect(p50).toBeLessThanOrEqual(p99);
          expect(xs).toContain(p99);
          expect(percentile(xs, 100)).toBe(high);
        },
      ),
    );
  });

  test("numbers print with sensible precision", () => {
    expect(formatNumber(123456.7)).toBe("123,457");
    expect(formatNumber(10000)).toBe("10,000");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(0.01234)).toBe("0.0123");
  });
});

describe("chargen check", () => {
  test("the generated stream passes, cut anywhere", () => {
    const stream = chargenBuffer(20_000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: stream.length }), (length) => {
        expect(chargenError(stream.subarray(0, length))).toBeUndefined();
      }),
    );
  });

  test("the stream starts with the space and each line one character further", () => {
    const stream = chargenBuffer(200);
    expect(new TextDecoder().decode(stream.subarray(0, 3))).toBe(' !"');
    expect(new TextDecoder().decode(stream.subarray(72, 77))).toBe('\r\n!"#');
  });

  test("any changed byte is found", () => {
    const stream = chargenBuffer(10_000).subarray(0, 10_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: stream.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, delta) => {
          const copy = stream.slice();
          copy[at] = (copy[at]! + delta) & 0xff;
          expect(chargenError(copy)).toBeString();
        },
      ),
    );
  });
});

describe("results table", () => {
  test("shows the median with its range, the ratio to the kernel, the target and n/a reasons", () => {
    const table = renderTable([
      {
        section: "TCP",
        name: "Download",
        unit: "MB/s",
        ours: { value: 50, samples: [40, 50, 60] },
        kernel: { value: 200, samples: [200] },
        target: { text: "≥ 125 MB/s", met: (v) => v >= 125 },
        gvisor: "89 MB/s",
      },
      { section: "TCP", name: "Upload", unit: "MB/s", ours: { na: "port 9 | closed" } },
    ]);
    expect(table).toContain("| **TCP** |");
    expect(table).toContain(
      "| Download | 50 MB/s (40–60, n=3) | 200 MB/s | 0.25× | ≥ 125 MB/s | **not met** | 89 MB/s |",
    );
    expect(table).toContain("| Upload | n/a: port 9 \\| closed | — |");
  });
});
