import { expect, test } from "bun:test";
import fc from "fast-check";
import {
  chargenBuffer,
  chargenLine,
  LINE_BYTES,
  PERIOD_BYTES,
} from "../../../examples/services/pattern.ts";

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

test("the lines of RFC 864's example appear in order", () => {
  // RFC 864 page 3, first two lines of the example (which starts one line into the ring).
  expect(text(chargenLine(1))).toBe(
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n",
  );
  expect(text(chargenLine(2))).toBe(
    "\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n",
  );
  // Line 24 wraps round the ring: "...{|}~" then space.
  expect(text(chargenLine(25))).toEndWith("z{|}~ !\r\n");
});

test("the buffer is whole periods, so resending it keeps the stream continuous", () => {
  const buffer = chargenBuffer(3);
  expect(buffer.length).toBe(3 * PERIOD_BYTES);
  fc.assert(
    fc.property(fc.nat({ max: 3 * 95 - 1 }), (line) => {
      const at = line * LINE_BYTES;
      expect(text(buffer.subarray(at, at + LINE_BYTES))).toBe(text(chargenLine(line)));
      expect(text(chargenLine(line + 95))).toBe(text(chargenLine(line)));
    }),
  );
});
