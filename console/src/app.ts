/**
 * Strata's web console: collections, their configuration and state, and a search playground. It is a client of
 * the REST API like any other (the page is served from /console/, the API from the same origin one level up),
 * so it sends the API key the user saved in this browser, as the `api-key` header.
 */

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
  };
  payload_schema: Record<string, { data_type: string; points: number }>;
}
interface ScoredPoint {
  id: number | string;
  score: number;
  payload: Record<string, unknown> | null;
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
  const schema = Object.entries(info.payload_schema);
  const head = el('tr');
  head.append(el('th', 'field'), el('th', 'type'), el('th', 'points'));
  $('payload-schema').replaceChildren(
    head,
    ...(schema.length === 0
      ? [kvRows([['none', '']])[0]!]
      : schema.map(([field, s]) => {
          const tr = el('tr');
          tr.append(el('td', field), el('td', s.data_type), el('td', String(s.points)));
          return tr;
        })),
  );
  $('raw-info').textContent = JSON.stringify(info, null, 2);
  (document.querySelector('#results tbody') as HTMLElement).replaceChildren();
  $('search-time').textContent = '';
  await loadCollections();
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
  tr.append(el('td', String(rank + 1)), el('td', String(point.id)), el('td', point.score.toFixed(4)), payload);
  return tr;
}

async function search(): Promise<void> {
  if (current === null) return;
  const name = current;
  const vector = await queryVector(name);
  const filter = parseJsonField('filter', 'The filter');
  const ef = input('ef').value;
  const started = performance.now();
  const points = await api<ScoredPoint[]>('POST', `${collectionPath(name)}/points/search`, {
    vector,
    limit: Number(input('limit').value) || 10,
    with_payload: true,
    ...(filter === undefined ? {} : { filter }),
    params: { exact: input('exact').checked, ...(ef ? { hnsw_ef: Number(ef) } : {}) },
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
