/**
 * Strata's web console: collections, their configuration and state, and a search playground. It is a client of
 * the REST API like any other (the page is served from /console/, the API from the same origin one level up),
 * so it sends the API key the user saved in this browser, as the `api-key` header.
 */

import { histogramChart } from './chart.js';

const KEY_STORAGE = 'strata.apiKey';
const API_BASE = new URL('../', window.location.href);

interface CollectionInfo {
  status: 'green' | 'yellow' | 'red';
  optimizer_status: 'ok' | { error: string };
  points_count: number;
  indexed_vectors_count: number;
  segments_count: number;
  config: {
    params: { vectors: { size: number; distance: string } };
    hnsw_config: Record<string, unknown>;
    optimizer_config: Record<string, unknown>;
    quantization_config: Record<string, unknown> | null;
    hubness?: { method: string; beta_q: number; beta_g: number; candidates: number | null };
  };
  payload_schema: Record<string, { data_type: string; points: number }>;
}
interface ScoredPoint {
  id: number | string;
  score: number;
  raw_score?: number;
  payload: Record<string, unknown> | null;
}
/** GET /collections/{name}/banks/{side}: null when the collection has no such bank. */
interface BankInfo {
  side: 'query' | 'gallery';
  size: number;
  version: number;
  provenance: Record<string, unknown>;
  created_at: string;
  normalizers: { current: boolean; computing: boolean; in_use: { version: number; beta: number } | null };
}
interface HubnessStats {
  queries: number;
  points: number;
  skewness: number;
  max: number;
  hub_occupancy: number;
  anti_hub_rate: number;
  hubs: { id: number | string; count: number }[];
  histogram: { from: number; to: number; points: number }[];
}
/** GET /collections/{name}/hubness: `rescored` is null when the collection's method is none. */
interface HubnessReport {
  k: number;
  query_source: 'query_bank' | 'stored_points';
  queries: number;
  method: string;
  raw: HubnessStats;
  rescored: HubnessStats | null;
}
interface SnapshotInfo {
  name: string;
  creation_time: string;
  size: number;
  checksum: string;
}

class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}
const input = (id: string) => $(id) as HTMLInputElement;

/** Creates an element with text content (never innerHTML: payloads are user data). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', className = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** A JSON request with the saved key; the parsed body, or an ApiError with the server's message and code. */
async function request<T>(method: string, route: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) headers['api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(route.replace(/^\//, ''), API_BASE), {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await response.json().catch(() => null)) as
    | (T & { status?: { error?: string; code?: string } })
    | null;
  if (!response.ok) {
    const status = parsed?.status ?? {};
    throw new ApiError(status.error ?? `HTTP ${response.status}`, status.code ?? `HTTP_${response.status}`);
  }
  return parsed as T;
}

/** The `result` of a route's envelope. */
async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  return (await request<{ result: T }>(method, route, body)).result;
}

function showError(e: unknown): void {
  const box = $('error');
  if (e === null) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.textContent = e instanceof ApiError ? `${e.message} (${e.code})` : String((e as Error).message ?? e);
}

const collectionPath = (name: string) => `/collections/${encodeURIComponent(name)}`;
let current: string | null = null;

async function loadCollections(): Promise<void> {
  const list = $('collections');
  try {
    const { collections } = await api<{ collections: { name: string }[] }>('GET', '/collections');
    list.replaceChildren(
      ...collections
        .map((c) => c.name)
        .sort()
        .map((name) => {
          const link = el('a', name, name === current ? 'active' : '');
          link.href = `#/collections/${encodeURIComponent(name)}`;
          const item = el('li');
          item.append(link);
          return item;
        }),
    );
    if (collections.length === 0) list.replaceChildren(el('li', 'no collections yet', 'muted'));
    showError(null);
  } catch (e) {
    list.replaceChildren();
    showError(e);
  }
}

function stat(label: string, value: string | Node): HTMLElement {
  const box = el('div');
  const dd = el('dd');
  dd.append(value);
  box.append(el('dt', label), dd);
  return box;
}

function kvRows(rows: [string, unknown][]): HTMLTableRowElement[] {
  return rows.map(([k, v]) => {
    const tr = el('tr');
    tr.append(el('td', k), el('td', typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)));
    return tr;
  });
}

/** Fills a `grid` table: a header row, then the rows, or one muted row saying `empty`. */
function fillGrid(table: HTMLElement, headers: string[], rows: (string | Node)[][], empty: string): void {
  const head = el('tr');
  head.append(...headers.map((h) => el('th', h)));
  const body = rows.map((cells) => {
    const tr = el('tr');
    for (const cell of cells) {
      const td = el('td');
      td.append(cell);
      tr.append(td);
    }
    return tr;
  });
  if (body.length === 0) {
    const tr = el('tr');
    const td = el('td', empty, 'muted');
    td.colSpan = headers.length;
    tr.append(td);
    body.push(tr);
  }
  table.replaceChildren(head, ...body);
}

const HUBNESS_METHODS = ['none', 'is', 'dis', 'dual_is', 'dual_dis'];

function showHubnessSetting(info: CollectionInfo): void {
  const setting = info.config.hubness ?? { method: 'none', beta_q: 20, beta_g: 5, candidates: null };
  $('hubness-setting').replaceChildren(
    ...kvRows([
      ['method', setting.method],
      ['beta_q', setting.beta_q],
      ['beta_g', setting.beta_g],
      ['candidates', setting.candidates ?? 'auto: max(100, 10 × (limit + offset))'],
    ]),
  );
}

/** "vectors", or "sample, requested 50, points 300": where a bank's vectors came from. */
const provenance = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => (k === 'source' ? String(v) : `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`))
    .join(', ');

/** "in use: v1, β 20", or what is missing, for a bank's normalizers. */
function normalizerState(bank: BankInfo): string {
  const { in_use, computing, current } = bank.normalizers;
  const parts = [in_use === null ? 'none in use' : `in use: v${in_use.version}, β ${in_use.beta}`];
  if (computing) parts.push('computing');
  else if (!current) parts.push('stale');
  return parts.join('; ');
}

async function loadBanks(name: string): Promise<void> {
  const banks = await Promise.all(
    (['query', 'gallery'] as const).map((side) =>
      api<BankInfo | null>('GET', `${collectionPath(name)}/banks/${side}`).then((bank) => ({ side, bank })),
    ),
  );
  fillGrid(
    $('banks'),
    ['bank', 'size', 'version', 'source', 'created', 'normalizers'],
    banks.map(({ side, bank }) =>
      bank === null
        ? [side, 'none', '', '', '', '']
        : [
            side,
            String(bank.size),
            String(bank.version),
            provenance(bank.provenance),
            bank.created_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
            normalizerState(bank),
          ],
    ),
    '',
  );
}

/** Hubs listed under the chart (the report has 20 per side; the first ones tell the story). */
const SHOWN_HUBS = 10;

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** The hubness diagnostics: histogram chart, summary figures and the largest hubs, raw beside rescored. */
function showHubnessReport(report: HubnessReport): void {
  const series = [{ name: 'raw', color: '#9aa5c4', bins: report.raw.histogram }];
  if (report.rescored) series.push({ name: 'rescored', color: '#3557d4', bins: report.rescored.histogram });
  const source = report.query_source === 'query_bank' ? 'query bank' : 'a sample of stored points';
  $('hubness-chart').replaceChildren(
    histogramChart(series, `k-occurrence N_${report.k} of ${report.raw.points} points over ${report.queries} queries`),
  );
  $('hubness-source').textContent =
    `N_${report.k} over ${report.queries} queries from the ${source}; rescoring: ${report.method}` +
    (report.rescored ? '' : ' (set a method to compare)');
  const sides = [report.raw, ...(report.rescored ? [report.rescored] : [])];
  const row = (label: string, value: (s: HubnessStats) => string) => [label, ...sides.map(value)];
  fillGrid(
    $('hubness-figures'),
    ['', 'raw', ...(report.rescored ? [`rescored (${report.method})`] : [])],
    [
      row('skewness', (s) => s.skewness.toFixed(2)),
      row('hub occupancy', (s) => percent(s.hub_occupancy)),
      row('anti-hub rate', (s) => percent(s.anti_hub_rate)),
      row(`largest N_${report.k}`, (s) => String(s.max)),
    ],
    '',
  );
  const hubCell = (s: HubnessStats, i: number) => {
    const hub = s.hubs[i];
    return hub === undefined ? '' : `${hub.id} (${hub.count})`;
  };
  const ranks = Math.min(SHOWN_HUBS, Math.max(...sides.map((s) => s.hubs.length)));
  fillGrid(
    $('hubness-hubs'),
    ['#', 'raw hub (N_k)', ...(report.rescored ? ['rescored hub (N_k)'] : [])],
    Array.from({ length: ranks }, (_, i) => [String(i + 1), ...sides.map((s) => hubCell(s, i))]),
    'no point is in any list',
  );
  $('hubness-report').hidden = false;
}

async function measureHubness(): Promise<void> {
  if (current === null) return;
  const name = current;
  const button = $('measure-hubness') as HTMLButtonElement;
  button.disabled = true;
  $('hubness-status').textContent = 'measuring…';
  try {
    const report = await api<HubnessReport>('GET', `${collectionPath(name)}/hubness?k=10`);
    if (current === name) showHubnessReport(report);
  } finally {
    button.disabled = false;
    $('hubness-status').textContent = '';
  }
}

async function loadSnapshots(name: string): Promise<void> {
  const list = await api<SnapshotInfo[]>('GET', `${collectionPath(name)}/snapshots`);
  fillGrid(
    $('snapshots'),
    ['name', 'created', 'size', 'sha256'],
    list.map((s) => {
      const sum = el('code', `${s.checksum.slice(0, 12)}…`);
      sum.title = s.checksum;
      return [s.name, s.creation_time, `${(s.size / 2 ** 20).toFixed(2)} MB`, sum];
    }),
    'no snapshots yet',
  );
}

async function createSnapshot(): Promise<void> {
  if (current === null) return;
  const name = current;
  const button = $('create-snapshot') as HTMLButtonElement;
  button.disabled = true;
  try {
    const made = await api<SnapshotInfo>('POST', `${collectionPath(name)}/snapshots`);
    $('snapshot-status').textContent = `created ${made.name}`;
    if (current === name) await loadSnapshots(name);
  } finally {
    button.disabled = false;
  }
}

async function showCollection(name: string): Promise<void> {
  current = name;
  const info = await api<CollectionInfo>('GET', collectionPath(name));
  $('welcome').hidden = true;
  $('detail').hidden = false;
  $('playground').hidden = false;
  $('detail-name').textContent = name;
  const optimizer =
    info.optimizer_status === 'ok' ? 'ok' : `error: ${(info.optimizer_status as { error: string }).error}`;
  $('stats').replaceChildren(
    stat('status', el('span', info.status, `badge ${info.status}`)),
    stat('points', String(info.points_count)),
    stat('indexed vectors', String(info.indexed_vectors_count)),
    stat('segments', String(info.segments_count)),
    stat('optimizer', optimizer),
  );
  const { vectors } = info.config.params;
  $('config').replaceChildren(
    ...kvRows([
      ['dimension', vectors.size],
      ['distance', vectors.distance],
      ...Object.entries(info.config.hnsw_config).map(([k, v]): [string, unknown] => [`hnsw.${k}`, v]),
      ['indexing_threshold', info.config.optimizer_config.indexing_threshold],
      ['quantization', info.config.quantization_config ?? 'none'],
    ]),
  );
  fillGrid(
    $('payload-schema'),
    ['field', 'type', 'points'],
    Object.entries(info.payload_schema).map(([field, schema]) => [field, schema.data_type, String(schema.points)]),
    'none',
  );
  showHubnessSetting(info);
  $('hubness-report').hidden = true;
  $('snapshot-status').textContent = '';
  $('raw-info').textContent = JSON.stringify(info, null, 2);
  (document.querySelector('#results tbody') as HTMLElement).replaceChildren();
  $('search-time').textContent = '';
  await Promise.all([loadBanks(name), loadSnapshots(name), loadCollections()]);
}

function parseJsonField(id: string, what: string): unknown {
  const text = (input(id) as unknown as HTMLTextAreaElement).value.trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The query vector: typed in, or the stored vector of a point ("similar to point id"). */
async function queryVector(name: string): Promise<number[]> {
  const mode = (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value;
  if (mode === 'vector') {
    const vector = parseJsonField('vector', 'The vector');
    if (!Array.isArray(vector)) throw new Error('The vector must be a JSON array of numbers');
    return vector as number[];
  }
  const text = input('point-id').value.trim();
  if (text === '') throw new Error('Enter a point id');
  const point = await api<{ vector: number[] }>('GET', `${collectionPath(name)}/points/${encodeURIComponent(text)}`);
  return point.vector;
}

function resultRow(point: ScoredPoint, rank: number): HTMLTableRowElement {
  const tr = el('tr');
  const payload = el('td');
  payload.append(el('code', point.payload === null ? '' : JSON.stringify(point.payload)));
  tr.append(
    el('td', String(rank + 1)),
    el('td', String(point.id)),
    el('td', point.score.toFixed(4)),
    el('td', point.raw_score === undefined ? '' : point.raw_score.toFixed(4)),
    payload,
  );
  return tr;
}

async function search(): Promise<void> {
  if (current === null) return;
  const name = current;
  const vector = await queryVector(name);
  const filter = parseJsonField('filter', 'The filter');
  const ef = input('ef').value;
  // empty: the collection's own method applies
  const rescore = ($('rescore') as HTMLSelectElement).value;
  const started = performance.now();
  const points = await api<ScoredPoint[]>('POST', `${collectionPath(name)}/points/search`, {
    vector,
    limit: Number(input('limit').value) || 10,
    with_payload: true,
    with_raw_score: true,
    ...(filter === undefined ? {} : { filter }),
    params: {
      exact: input('exact').checked,
      ...(ef ? { hnsw_ef: Number(ef) } : {}),
      ...(rescore ? { rescore } : {}),
    },
  });
  const body = document.querySelector('#results tbody') as HTMLElement;
  body.replaceChildren(...points.map(resultRow));
  $('search-time').textContent = `${points.length} results in ${Math.round(performance.now() - started)} ms`;
}

/** The server's version in the header, once a request with the current key may read it. */
function showVersion(): void {
  if ($('version').textContent !== '') return;
  request<{ version: string }>('GET', '/').then(
    (info) => {
      $('version').textContent = `v${info.version}`;
    },
    () => {},
  );
}

async function route(): Promise<void> {
  showVersion();
  const m = /^#\/collections\/(.+)$/.exec(window.location.hash);
  try {
    showError(null);
    if (m) await showCollection(decodeURIComponent(m[1]!));
    else {
      current = null;
      $('welcome').hidden = false;
      $('detail').hidden = true;
      $('playground').hidden = true;
      await loadCollections();
    }
  } catch (e) {
    showError(e);
  }
}

function wire(): void {
  input('api-key').value = localStorage.getItem(KEY_STORAGE) ?? '';
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input('api-key').value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    void route();
  });
  $('refresh').addEventListener('click', () => void loadCollections());
  const methods = $('rescore');
  for (const method of HUBNESS_METHODS) methods.append(new Option(method, method));
  $('measure-hubness').addEventListener('click', () => {
    showError(null);
    measureHubness().catch(showError);
  });
  $('create-snapshot').addEventListener('click', () => {
    showError(null);
    createSnapshot().catch(showError);
  });
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
    radio.addEventListener('change', () => {
      const byPoint = radio.value === 'point' && radio.checked;
      $('vector').hidden = byPoint;
      input('point-id').hidden = !byPoint;
    });
  }
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showError(null);
    search().catch(showError);
  });
  window.addEventListener('hashchange', () => void route());
  void route();
}

wire();
