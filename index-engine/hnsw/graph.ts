/**
 * The read side of an HNSW graph (Malkov & Yashunin), in CSR typed arrays so it can live in one buffer shared by
 * every worker (format.ts). Node ids are row offsets of the segment the graph was built over.
 *
 * - layer 0: every node; neighbours of node i are neighbors[offsets[i] .. offsets[i + 1]).
 * - layer l >= 1: only nodes whose level is >= l; `nodes` lists them in ascending order, and row r (node
 *   nodes[r]) has neighbours neighbors[offsets[r] .. offsets[r + 1]). Neighbour entries are node ids.
 */
export interface HnswLayer {
  /** Upper layers only: the node id of each row, ascending (a node's row is found by binary search). */
  readonly nodes?: Uint32Array;
  readonly offsets: Uint32Array;
  readonly neighbors: Uint32Array;
}

export interface HnswGraph {
  readonly count: number;
  readonly m: number;
  readonly efConstruct: number;
  /** The node search starts from, −1 when the graph is empty. */
  readonly entryPoint: number;
  /** Top layer index (layers.length − 1); 0 for an empty graph. */
  readonly maxLevel: number;
  /** Level of each node. */
  readonly levels: Uint8Array;
  readonly layers: readonly HnswLayer[];
}

/**
 * The graph while it is built: fixed-capacity adjacency with a count slot in front of each list.
 * - layer 0: node i's list starts at i * (2m + 1): links0[start] = count, then up to 2m neighbour ids.
 * - upper layers: a node of level L >= 1 owns L consecutive lists of stride m + 1 starting at upperBase[i]
 *   (the list for layer l starts at upperBase[i] + (l − 1) * (m + 1)); upperBase is −1 for level-0 nodes.
 */
export interface HnswBuildState {
  readonly count: number;
  readonly m: number;
  readonly efConstruct: number;
  readonly entryPoint: number;
  readonly maxLevel: number;
  readonly levels: Uint8Array;
  readonly links0: Uint32Array;
  readonly upperBase: Int32Array;
  readonly upperLinks: Uint32Array;
}

/** Packs the build adjacency into the read-side CSR layout. */
export function freezeGraph(state: HnswBuildState): HnswGraph {
  const { count, m, levels, links0, upperBase, upperLinks } = state;
  const stride0 = 2 * m + 1;
  const offsets0 = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) offsets0[i + 1] = offsets0[i]! + links0[i * stride0]!;
  const neighbors0 = new Uint32Array(offsets0[count]!);
  for (let i = 0; i < count; i++) {
    const start = i * stride0 + 1;
    neighbors0.set(links0.subarray(start, start + links0[i * stride0]!), offsets0[i]!);
  }
  const layers: HnswLayer[] = [{ offsets: offsets0, neighbors: neighbors0 }];
  const stride = m + 1;
  for (let level = 1; level <= state.maxLevel; level++) {
    let rows = 0;
    let links = 0;
    for (let i = 0; i < count; i++) {
      if (levels[i]! < level) continue;
      rows++;
      links += upperLinks[upperBase[i]! + (level - 1) * stride]!;
    }
    const nodes = new Uint32Array(rows);
    const offsets = new Uint32Array(rows + 1);
    const neighbors = new Uint32Array(links);
    let row = 0;
    for (let i = 0; i < count; i++) {
      if (levels[i]! < level) continue;
      const base = upperBase[i]! + (level - 1) * stride;
      const n = upperLinks[base]!;
      nodes[row] = i;
      neighbors.set(upperLinks.subarray(base + 1, base + 1 + n), offsets[row]!);
      offsets[row + 1] = offsets[row]! + n;
      row++;
    }
    layers.push({ nodes, offsets, neighbors });
  }
  return {
    count,
    m,
    efConstruct: state.efConstruct,
    entryPoint: state.entryPoint,
    maxLevel: state.maxLevel,
    levels,
    layers,
  };
}

/** Row of `node` in an upper layer's ascending `nodes`, or −1 when the node is not in that layer. */
export function layerRow(nodes: Uint32Array, node: number): number {
  let lo = 0;
  let hi = nodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = nodes[mid]!;
    if (v < node) lo = mid + 1;
    else if (v > node) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/**
 * Checks a graph's structure in O(links): levels, offsets and neighbour ids in range, upper-layer rows ascending.
 * decodeHnsw only checks lengths; call this on a graph read from an untrusted place. Throws RangeError.
 */
export function verifyHnsw(graph: HnswGraph): void {
  const { count, levels, layers, entryPoint, maxLevel } = graph;
  const fail = (what: string): never => {
    throw new RangeError(`corrupt HNSW graph: ${what}`);
  };
  if (layers.length !== maxLevel + 1) fail(`${layers.length} layers for maxLevel ${maxLevel}`);
  if (levels.length !== count) fail(`${levels.length} levels for ${count} nodes`);
  if (count === 0 ? entryPoint !== -1 : entryPoint < 0 || entryPoint >= count || levels[entryPoint] !== maxLevel)
    fail(`entry point ${entryPoint}`);
  layers.forEach((layer, level) => {
    const { nodes, offsets, neighbors } = layer;
    const rows = offsets.length - 1;
    if (level === 0 ? rows !== count : nodes === undefined || nodes.length !== rows)
      fail(`layer ${level} has ${rows} rows`);
    for (let r = 0; r < rows; r++) {
      if (offsets[r + 1]! < offsets[r]!) fail(`layer ${level} offsets decrease at row ${r}`);
      if (nodes !== undefined) {
        const node = nodes[r]!;
        if (node >= count || levels[node]! < level || (r > 0 && node <= nodes[r - 1]!))
          fail(`layer ${level} row ${r} holds node ${node}`);
      }
    }
    if (offsets[0] !== 0 || offsets[rows] !== neighbors.length) fail(`layer ${level} offsets do not span its links`);
    for (let j = 0; j < neighbors.length; j++) {
      const node = neighbors[j]!;
      if (node >= count || levels[node]! < level) fail(`layer ${level} links to node ${node}`);
    }
  });
  // every node of level >= l has a row on layer l (rows were checked to hold only such nodes)
  const atLeast = new Uint32Array(maxLevel + 2);
  for (let i = 0; i < count; i++) {
    if (levels[i]! > maxLevel) fail(`node ${i} has level ${levels[i]} > ${maxLevel}`);
    atLeast[levels[i]!]!++;
  }
  for (let level = maxLevel - 1; level >= 0; level--) atLeast[level]! += atLeast[level + 1]!;
  layers.forEach((layer, level) => {
    if (layer.offsets.length - 1 !== atLeast[level]) fail(`layer ${level} misses nodes`);
  });
}
