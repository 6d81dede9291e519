/** Layer rules from ARCHITECTURE.md: arrows point one way. `npm test` runs this (pretest) and fails on any violation. */
module.exports = {
  forbidden: [
    {
      name: 'engine-is-pure',
      comment: 'index-engine imports nothing of ours and no Node built-ins (no I/O).',
      severity: 'error',
      from: { path: '^index-engine/' },
      to: { pathNot: '^index-engine/' },
    },
    {
      name: 'workers-import-engine-only',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^(server|storage|openapi|bench)/' },
    },
    {
      name: 'storage-not-http',
      severity: 'error',
      from: { path: '^storage/' },
      to: { path: '^(server|openapi|bench)/|node_modules/(fastify|@fastify)' },
    },
    {
      name: 'server-reaches-data-through-storage',
      comment: 'server talks to storage only: never to the engine, the workers or SQLite directly.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^(index-engine|workers)/|node_modules/(better-sqlite3|piscina)' },
    },
    {
      name: 'server-uses-storage-public-surface',
      comment: 'server sees storage through storage/index.ts only, never its internals (catalog, segments).',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^storage/', pathNot: '^storage/index\\.ts$' },
    },
    {
      name: 'cli-talks-rest',
      comment:
        'cli/ reaches data over the REST API only: it may start the server (serve) and share its JSON codec, nothing else.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(server|storage|workers|index-engine|openapi|bench|sdk)/', pathNot: '^server/(main|json)\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
  },
};
