import { parse as parseLossless } from 'lossless-json';

/**
 * JSON in and out without rounding 64-bit ids. Integers beyond 2^53 are parsed as bigint (only when the text
 * has an integer of 16 digits or more, so ordinary bodies take the fast native parser) and printed back digit
 * for digit.
 *
 * A run of 16+ digits that follows a '.' or is followed by '.', 'e' or 'E' belongs to a fraction or mantissa
 * (a float such as 0.12345678901234568, as JavaScript prints most float32 vector components): it needs no
 * bigint, so vectors do not send their bodies through the slow lossless parser. Anything else that looks like
 * a long integer, also inside a string, takes the lossless parser, which is always correct.
 */
const LONG_INTEGER = /(?<![\d.])\d{16,}(?![\d.eE])/;

export class TooDeepError extends Error {}

function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) return BigInt(text);
    return n;
  }
  return Number(text);
}

/**
 * Deepest body accepted, in levels of arrays and objects. The deepest legitimate body (a filter 32 levels deep
 * through `nested` conditions) needs about 130; deeper ones would only exhaust the stack of the validator and
 * of every recursive walk after it, so they are refused before parsing.
 */
export const MAX_JSON_DEPTH = 256;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the JSON text nests arrays and objects deeper than `max` (brackets inside strings do not count). */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // skip the string, escapes included
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether the text has more than `max` '[' and '{' characters, anywhere (strings included): an upper bound of
 * its depth, found with native `indexOf` scans, so ordinary bodies (a vector has one '[') skip the exact walk.
 */
function moreOpeningsThan(text: string, max: number): boolean {
  let n = 0;
  for (const open of ['[', '{']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) if (++n > max) return true;
  }
  return false;
}

/** Parses a request body; throws SyntaxError on bad JSON and TooDeepError past MAX_JSON_DEPTH. */
export function parseJson(text: string): unknown {
  if (moreOpeningsThan(text, MAX_JSON_DEPTH) && nestedDeeperThan(text, MAX_JSON_DEPTH)) throw new TooDeepError();
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return parseLossless(text, undefined, parseNumber);
}

// A marker no client can produce by accident: it carries a random nonce of this process.
const MARK = `\u0000bigint:${Math.random().toString(36).slice(2)}:`;
const MARK_RE = new RegExp(`"${JSON.stringify(MARK).slice(1, -1).replace(/\\/g, '\\\\')}(-?\\d+)"`, 'g');

export function stringifyJson(value: unknown): string {
  // The native serializer throws on a bigint: only bodies that hold one pay for the replacer.
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
  let sawBigint = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    sawBigint = true;
    return `${MARK}${v}`;
  });
  return sawBigint ? text.replace(MARK_RE, '$1') : text;
}
