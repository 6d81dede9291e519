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
];
