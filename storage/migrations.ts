/** Forward-only schema migrations; `PRAGMA user_version` records how many have run. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE collections (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     config TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE payload_indexes (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     field TEXT NOT NULL,
     field_schema TEXT NOT NULL,
     PRIMARY KEY (collection_id, field)
   );
   CREATE TABLE points (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     pid BLOB NOT NULL,
     vector BLOB NOT NULL,
     payload TEXT NOT NULL,
     PRIMARY KEY (collection_id, pid)
   ) WITHOUT ROWID;`,
  // Sealed segments (files under collections/<name>/segments/<id>/) and the rows deleted from them.
  // `points` keeps only rows that are not in a live sealed segment yet (the growing segments).
  `CREATE TABLE segments (
     id INTEGER PRIMARY KEY,
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     state TEXT NOT NULL CHECK (state IN ('building', 'live')),
     row_count INTEGER NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE tombstones (
     segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
     row INTEGER NOT NULL,
     PRIMARY KEY (segment_id, row)
   ) WITHOUT ROWID;`,
  // DBNorm (storage/hubness/): bank versions, which normalizers are in use per side, those normalizers per
  // point and each bank member's top-1; and the bounded query log (storage/query-log.ts) query banks come from.
  `CREATE TABLE dbnorm_banks (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     side TEXT NOT NULL CHECK (side IN ('query', 'gallery')),
     version INTEGER NOT NULL,
     count INTEGER NOT NULL,
     vectors BLOB NOT NULL,
     members TEXT,
     provenance TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (collection_id, side, version)
   ) WITHOUT ROWID;
   CREATE TABLE dbnorm_live (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     side TEXT NOT NULL,
     bank_version INTEGER NOT NULL,
     beta REAL NOT NULL,
     PRIMARY KEY (collection_id, side)
   ) WITHOUT ROWID;
   CREATE TABLE dbnorm_norms (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     side TEXT NOT NULL,
     pid BLOB NOT NULL,
     log_z REAL NOT NULL,
     PRIMARY KEY (collection_id, side, pid)
   ) WITHOUT ROWID;
   CREATE TABLE dbnorm_top1 (
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     side TEXT NOT NULL,
     member INTEGER NOT NULL,
     pid BLOB,
     score REAL NOT NULL,
     PRIMARY KEY (collection_id, side, member)
   ) WITHOUT ROWID;
   CREATE TABLE query_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     ts TEXT NOT NULL,
     vector BLOB NOT NULL
   );
   CREATE INDEX query_log_by_collection ON query_log (collection_id, id);`,
  // HQI's workload log (issue 4): every search's filter, template and limit; its vector only when sampled (DBNorm
  // query banks). The table is rebuilt because `vector` becomes optional.
  `CREATE TABLE query_log_v4 (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
     ts TEXT NOT NULL,
     vector BLOB,
     filter TEXT,
     template TEXT,
     k INTEGER,
     selectivity REAL
   );
   INSERT INTO query_log_v4 (id, collection_id, ts, vector) SELECT id, collection_id, ts, vector FROM query_log;
   DROP TABLE query_log;
   ALTER TABLE query_log_v4 RENAME TO query_log;
   CREATE INDEX query_log_by_collection ON query_log (collection_id, id);
   CREATE INDEX query_log_vectors ON query_log (collection_id, id) WHERE vector IS NOT NULL;`,
  // HQI partition trees (storage/partitioning.ts): the live tree per collection, and the leaf each sealed segment
  // holds under it (NULL: not partitioned, or built under an older tree; such segments are visited by every query).
  `CREATE TABLE partition_trees (
     collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     tree TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   ALTER TABLE segments ADD COLUMN tree_version INTEGER;
   ALTER TABLE segments ADD COLUMN leaf INTEGER;`,
];
