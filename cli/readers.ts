import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseJson } from '../server/json.js';
import { csvRecords } from './csv.js';

export type PointId = number | bigint | string;
export interface PointRecord {
  id: PointId;
  vector: number[];
  payload?: Record<string, unknown> | null;
}

export const FORMATS = ['fvecs', 'bvecs', 'jsonl', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

/** The format from the file name: .fvecs, .bvecs, .jsonl/.ndjson, .csv. */
export function formatOf(file: string): Format {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.fvecs' || ext === '.bvecs' || ext === '.csv' || ext === '.jsonl') return ext.slice(1) as Format;
  if (ext === '.ndjson') return 'jsonl';
  throw new Error(`cannot tell the format of ${file} from its extension; pass --format (${FORMATS.join(', ')})`);
}

/** A read stream whose bytes are counted as they are read (the progress bar follows the file, not the points). */
export interface Source {
  readonly stream: fs.ReadStream;
  readonly bytesRead: () => number;
}

export function openSource(file: string): Source {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let bytes = 0;
  stream.on('data', (chunk) => {
    bytes += chunk.length;
  });
  return { stream, bytesRead: () => bytes };
}

/**
 * Rows of a .fvecs (float32) or .bvecs (uint8) file: per row a little-endian int32 dimension, then the values.
 * Chunks are consumed as they arrive; only a partial row is carried over to the next chunk.
 */
export async function* readVecs(stream: AsyncIterable<Buffer>, kind: 'fvecs' | 'bvecs'): AsyncGenerator<number[]> {
  const width = kind === 'fvecs' ? 4 : 1;
  let carry: Buffer = Buffer.alloc(0);
  let row = 0;
  for await (const chunk of stream) {
    const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let at = 0;
    while (buf.length - at >= 4) {
      const dim = buf.readInt32LE(at);
      if (dim <= 0 || dim > 65536) throw new Error(`row ${row}: dimension ${dim} is not a valid ${kind} header`);
      const end = at + 4 + dim * width;
      if (end > buf.length) break;
      const vector = new Array<number>(dim);
      for (let j = 0; j < dim; j++) {
        vector[j] = kind === 'fvecs' ? buf.readFloatLE(at + 4 + 4 * j) : buf[at + 4 + j]!;
      }
      yield vector;
      row++;
      at = end;
    }
    carry = buf.subarray(at);
  }
  if (carry.length > 0) throw new Error(`the file ends inside row ${row} (${carry.length} stray bytes)`);
}

function lines(stream: fs.ReadStream): AsyncIterable<string> {
  return readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkVector(v: unknown, where: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${where}: "vector" must be a non-empty array of numbers`);
  }
  return v as number[];
}

/** JSON lines: `{"id": 1, "vector": [...], "payload": {...}}`; without `id` the line number (from 0) is used. */
export async function* readJsonl(stream: fs.ReadStream, idOffset: number): AsyncGenerator<PointRecord> {
  let n = 0;
  for await (const line of lines(stream)) {
    if (line.trim() === '') continue;
    const where = `record ${n + 1}`;
    let value: unknown;
    try {
      value = parseJson(line);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    if (!isObject(value)) throw new Error(`${where}: expected a JSON object`);
    const { id, vector, payload } = value;
    if (payload !== undefined && payload !== null && !isObject(payload)) {
      throw new Error(`${where}: "payload" must be an object`);
    }
    yield {
      id: id === undefined ? n + idOffset : (id as PointId),
      vector: checkVector(vector, where),
      payload: (payload as Record<string, unknown> | undefined) ?? null,
    };
    n++;
  }
}

/** An id cell: digits are an integer id (exact beyond 2^53), anything else a UUID string. */
function parseId(cell: string): PointId {
  if (!/^\d+$/.test(cell)) return cell;
  const n = Number(cell);
  return Number.isSafeInteger(n) ? n : BigInt(cell);
}

/** A vector cell: a JSON array, or numbers separated by spaces or semicolons. */
function parseVectorCell(cell: string, where: string): number[] {
  const text = cell.trim();
  if (text.startsWith('[')) {
    try {
      return checkVector(JSON.parse(text), where);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }
  return checkVector(
    text
      .split(/[\s;]+/)
      .filter(Boolean)
      .map(Number),
    where,
  );
}

/** A payload cell of its own column: a number, true/false, or the text itself; an empty cell is left out. */
function parseCell(cell: string): unknown {
  if (cell === 'true' || cell === 'false') return cell === 'true';
  const n = Number(cell);
  return cell.trim() !== '' && Number.isFinite(n) ? n : cell;
}

/**
 * CSV with a header row. Columns: `vector` (required; a JSON array such as "[0.1,0.2]" in quotes, or
 * space/semicolon-separated numbers), `id` (optional; else the row number from 0), `payload` (optional JSON
 * object), and any other column becomes a payload field of that name (numbers and true/false typed, empty
 * cells skipped).
 */
export async function* readCsv(stream: fs.ReadStream, idOffset: number): AsyncGenerator<PointRecord> {
  let header: string[] | null = null;
  let n = 0;
  for await (const fields of csvRecords(lines(stream))) {
    if (header === null) {
      header = fields.map((f) => f.trim());
      if (!header.includes('vector')) throw new Error(`the CSV header has no "vector" column: ${header.join(',')}`);
      continue;
    }
    const where = `row ${n + 1}`;
    if (fields.length !== header.length) {
      throw new Error(`${where}: ${fields.length} fields, the header has ${header.length}`);
    }
    let id: PointId = n + idOffset;
    let vector: number[] = [];
    let payload: Record<string, unknown> = {};
    header.forEach((column, i) => {
      const cell = fields[i]!;
      if (column === 'id') id = parseId(cell.trim());
      else if (column === 'vector') vector = parseVectorCell(cell, where);
      else if (column === 'payload') {
        if (cell.trim() === '') return;
        let parsed: unknown;
        try {
          parsed = parseJson(cell);
        } catch (e) {
          throw new Error(`${where}: the "payload" column: ${(e as Error).message}`);
        }
        if (!isObject(parsed)) throw new Error(`${where}: the "payload" column must hold a JSON object`);
        payload = { ...payload, ...parsed };
      } else if (cell !== '') payload[column] = parseCell(cell);
    });
    yield { id, vector, payload: Object.keys(payload).length > 0 ? payload : null };
    n++;
  }
}

/** The points of `file` in order, in constant memory whatever the file's size. */
export async function* readPoints(source: Source, format: Format, idOffset: number): AsyncGenerator<PointRecord> {
  if (format === 'jsonl') yield* readJsonl(source.stream, idOffset);
  else if (format === 'csv') yield* readCsv(source.stream, idOffset);
  else {
    let row = 0;
    for await (const vector of readVecs(source.stream, format)) yield { id: idOffset + row++, vector };
  }
}
