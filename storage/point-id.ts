import { StrataError } from './errors.js';

/**
 * External point ids: an unsigned 64-bit integer (a number when it is a safe integer, a bigint above 2^53 so
 * that it is never rounded) or a UUID string (kept lowercase and hyphenated).
 */
export type PointId = number | bigint | string;

const U64_MAX = (1n << 64n) - 1n;
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function describe(raw: unknown): string {
  const text = typeof raw === 'bigint' ? `${raw}` : (JSON.stringify(raw) ?? String(raw));
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** Validates and canonicalizes an id from a request body. */
export function parsePointId(raw: unknown): PointId {
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw >= 0) return raw;
    throw new StrataError('STRATA_ERR_POINT_ID', [describe(raw)]);
  }
  if (typeof raw === 'bigint') {
    if (raw < 0n || raw > U64_MAX) throw new StrataError('STRATA_ERR_POINT_ID', [describe(raw)]);
    return raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : raw;
  }
  if (typeof raw === 'string' && UUID_RE.test(raw)) {
    const hex = raw.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new StrataError('STRATA_ERR_POINT_ID', [describe(raw)]);
}

/** Parses an id that arrives as text (a URL path segment). */
export function parsePointIdText(text: string): PointId {
  if (/^\d{1,20}$/.test(text)) return parsePointId(BigInt(text));
  return parsePointId(text);
}

/** A string key for maps: decimal digits for integers, the canonical UUID otherwise (they never collide). */
export function pointIdKey(id: PointId): string {
  return typeof id === 'string' ? id : `${id}`;
}

/**
 * The id as stored in SQLite: integers as 0x00 + u64 big-endian, UUIDs as 0x01 + 16 bytes. Byte order is
 * id order (integers ascending, then UUIDs), which scroll relies on.
 */
export function encodePointId(id: PointId): Buffer {
  if (typeof id === 'string') {
    const out = Buffer.alloc(17);
    out[0] = 1;
    Buffer.from(id.replace(/-/g, ''), 'hex').copy(out, 1);
    return out;
  }
  const out = Buffer.alloc(9);
  out.writeBigUInt64BE(BigInt(id), 1);
  return out;
}

export function decodePointId(blob: Uint8Array): PointId {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf[0] === 1) return parsePointId(buf.subarray(1, 17).toString('hex'));
  const value = buf.readBigUInt64BE(1);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Orders ids like Qdrant's scroll: integers ascending, then UUIDs. */
export function comparePointIds(a: PointId, b: PointId): number {
  return Buffer.compare(encodePointId(a), encodePointId(b));
}
