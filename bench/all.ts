/**
 * `npm run bench`: the first benchmark (run.ts: upserts and exact search, in process and over HTTP), then
 * `bench:hnsw` (hnsw.ts: Strata's HNSW against hnswlib-node), each in its own process, one after the other so
 * they never share the cores. Flags go to run.ts; hnsw.ts gets the ones it knows (--small, --reps N, --no-http).
 * Then dbnorm.ts (DBNorm rescoring and insert costs; gets --small). `--no-hnsw` and `--no-dbnorm` skip those.
 * The exit code is the first non-zero one.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const hnsw = !argv.includes('--no-hnsw');
const dbnorm = !argv.includes('--no-dbnorm');
const runArgs = argv.filter((a) => a !== '--no-hnsw' && a !== '--no-dbnorm');
const hnswArgs: string[] = [];
for (let i = 0; i < runArgs.length; i++) {
  const arg = runArgs[i]!;
  if (arg === '--small' || arg === '--no-http') hnswArgs.push(arg);
  else if (arg === '--reps' && runArgs[i + 1] !== undefined) hnswArgs.push(arg, runArgs[i + 1]!);
}

function run(file: string, args: readonly string[]): number {
  const res = spawnSync(process.execPath, [path.join(here, file), ...args], { stdio: 'inherit' });
  if (res.error) throw res.error;
  return res.status ?? 1;
}

let code = run('run.js', runArgs);
if (hnsw) {
  process.stdout.write('\n');
  const hnswCode = run('hnsw.js', hnswArgs);
  if (code === 0) code = hnswCode;
}
if (dbnorm) {
  process.stdout.write('\n');
  const dbnormCode = run('dbnorm.js', runArgs.includes('--small') ? ['--small'] : []);
  if (code === 0) code = dbnormCode;
}
process.exitCode = code;
