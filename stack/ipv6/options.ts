/**
 * The options of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2): a run of
 * type-length-value options, processed "strictly in the order they appear".
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
 *    |  Option Type  |  Opt Data Len |  Option Data
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
 *
 * We recognize the two padding options and Router Alert (RFC 2711, which MLD reports
 * carry). An unrecognized option's two high bits say what to do (§4.2): 00 skip it,
 * 01 discard the packet, 10 discard and send a Parameter Problem (code 2), 11 the
 * same but only if the destination was not multicast.
 */

/** RFC 8200 §4.2 and IANA "Destination Options and Hop-by-Hop Options". */
export const OptionType = {
  PAD1: 0x00,
  PADN: 0x01,
  /** RFC 2711: Router Alert (MLD, RSVP); a host has nothing to do with it. */
  ROUTER_ALERT: 0x05,
} as const;

export type OptionsVerdict =
  | { readonly kind: "accept" }
  /** An option runs past its header. */
  | { readonly kind: "malformed"; readonly detail: string }
  /** Action 01. */
  | { readonly kind: "discard"; readonly detail: string }
  /** Actions 10 and 11: `pointer` is the Option Type's offset in the packet. */
  | {
      readonly kind: "parameterProblem";
      readonly detail: string;
      readonly pointer: number;
      readonly evenToMulticast: boolean;
    };

const ACCEPT: OptionsVerdict = { kind: "accept" };

/** Processes the options in `packet[from..to)` (the header after its first 2 octets). */
export function processOptions(packet: Uint8Array, from: number, to: number): OptionsVerdict {
  let at = from;
  while (at < to) {
    const type = packet[at]!;
    if (type === OptionType.PAD1) {
      at += 1; // §4.2: Pad1 is one octet, with no length or data.
      continue;
    }
    if (at + 2 > to) return { kind: "malformed", detail: `option ${type} has no length` };
    const end = at + 2 + packet[at + 1]!;
    if (end > to) return { kind: "malformed", detail: `option ${type} runs past its header` };
    if (type !== OptionType.PADN && type !== OptionType.ROUTER_ALERT) {
      const verdict = unrecognized(type, at);
      if (verdict !== undefined) return verdict;
    }
    at = end;
  }
  return ACCEPT;
}

/** §4.2: the action the high-order two bits of an unrecognized Option Type ask for. */
function unrecognized(type: number, at: number): OptionsVerdict | undefined {
  const detail = `unrecognized option 0x${type.toString(16).padStart(2, "0")}`;
  switch (type >>> 6) {
    case 0b00:
      return undefined;
    case 0b01:
      return { kind: "discard", detail };
    case 0b10:
      return { kind: "parameterProblem", detail, pointer: at, evenToMulticast: true };
    default:
      return { kind: "parameterProblem", detail, pointer: at, evenToMulticast: false };
  }
}
