import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { MAX_JSON_DEPTH, parseJson, stringifyJson, TooDeepError } from '../../../dist/server/json.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import {
  comparePointIds,
  decodePointId,
  encodePointId,
  parsePointId,
  parsePointIdText,
} from '../../../dist/storage/point-id.js';

describe('point ids', () => {
  it('round-trip through the SQLite encoding for every u64 and UUID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uuid()), (raw) => {
        const id = parsePointId(raw);
        expect(decodePointId(encodePointId(id))).toEqual(id);
      }),
    );
  });

  it('orders the encoding like Qdrant: integers ascending, then UUIDs', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (a, b) => {
          const sign = Math.sign(comparePointIds(parsePointId(a), parsePointId(b)));
          expect(sign).toBe(a < b ? -1 : a > b ? 1 : 0);
        },
      ),
    );
    expect(
      comparePointIds(parsePointId((1n << 64n) - 1n), parsePointId('00000000-0000-0000-0000-000000000000')),
    ).toBeLessThan(0);
  });

  it('keeps safe integers as numbers and larger ones as exact bigints', () => {
    expect(parsePointId(5)).toBe(5);
    expect(parsePointId(9007199254740993n)).toBe(9007199254740993n);
    expect(parsePointIdText('18446744073709551615')).toBe(18446744073709551615n);
    expect(parsePointId('550E8400E29B41D4A716446655440000')).toBe('550e8400-e29b-41d4-a716-446655440000');
    for (const bad of [-1, 1.5, 2 ** 64, -1n, 1n << 64n, 'x', '', null, {}, Number.NaN]) {
      expect(() => parsePointId(bad)).toThrow(expect.objectContaining({ code: 'STRATA_ERR_POINT_ID' }));
    }
  });
});

describe('JSON with 64-bit integers', () => {
  it('parses and prints integers beyond 2^53 digit for digit', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (big, x) => {
          const text = `{"id":${big},"x":${JSON.stringify(x)},"s":"${big}"}`;
          const parsed = parseJson(text);
          expect(stringifyJson(parsed)).toBe(text);
        },
      ),
    );
  });

  it('refuses bodies nested deeper than MAX_JSON_DEPTH, counting only the brackets outside strings', () => {
    const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(() => parseJson(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseJson(nested(MAX_JSON_DEPTH + 1))).toThrow(TooDeepError);
    expect(() => parseJson(`{"a":${nested(MAX_JSON_DEPTH + 1)}}`)).toThrow(TooDeepError);
    // many brackets but shallow, or deep only inside a string: accepted
    const wide = `[${Array.from({ length: 2 * MAX_JSON_DEPTH }, () => '{"a":[]}').join(',')}]`;
    expect(parseJson(wide)).toHaveLength(2 * MAX_JSON_DEPTH);
    const inString = JSON.stringify({ s: '[{'.repeat(MAX_JSON_DEPTH) });
    expect(parseJson(inString)).toEqual({ s: '[{'.repeat(MAX_JSON_DEPTH) });
  });

  it('finds a long integer anywhere, but not in the digits of a fraction or mantissa', () => {
    // floats with 16+ digits (as float32 vector components print) parse natively, to the same numbers
    const floats = '{"vector":[0.12345678901234568,-0.98765432109876543,1.2345678901234567e-7,12345678901234567.5]}';
    expect(parseJson(floats)).toEqual(JSON.parse(floats));
    // integers beyond 2^53 stay exact next to them, wherever they are
    expect(parseJson('[0.12345678901234568,18446744073709551615]')).toEqual([
      0.12345678901234568,
      18446744073709551615n,
    ]);
    expect(parseJson('{"a":-9007199254740993}')).toEqual({ a: -9007199254740993n });
    expect(parseJson('{"a":[1.5,9007199254740993]}')).toEqual({ a: [1.5, 9007199254740993n] });
    // printing: plain bodies and bodies with bigints
    expect(stringifyJson({ a: [1.5, 2], b: null })).toBe('{"a":[1.5,2],"b":null}');
    expect(stringifyJson({ a: 18446744073709551615n })).toBe('{"a":18446744073709551615}');
  });
});
