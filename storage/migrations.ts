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
];
