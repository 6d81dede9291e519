import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Datasets the suite reads, generated once into the git-ignored .datasets/ (deterministic, seconds). */
export const TEST_DATASETS = [
  ['clustered-128', '--n', '10000', '--nq', '100'],
  // DBNorm acceptance: big enough that R@1 moves in 0.1-point steps (--small has 200 queries: 0.5-point steps)
  ['hubs-ood', '--n', '20000', '--nq', '1000'],
  // HQI acceptance (test/e2e/hqi*.test.ts): the published small copy (5k points; train/seen/unseen 1k/500/100)
  ['hybrid-workload', '--small'],
] as const;

/** The generator's folder name: `<name>-small` for --small, `<name>-n<N>-q<NQ>` for --n/--nq. */
function folderOf(name: string, args: readonly string[]): string {
  return args[0] === '--small' ? `${name}-small` : `${name}-n${args[1]}-q${args[3]}`;
}

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  const shared = path.resolve(root, '../shared/datasets/generate.mjs');
  for (const [name, ...args] of TEST_DATASETS) {
    const folder = path.join(root, '.datasets', folderOf(name, args));
    if (fs.existsSync(path.join(folder, 'manifest.json'))) continue;
    execFileSync(process.execPath, [shared, name, ...args, '--out', path.join(root, '.datasets')], {
      cwd: root,
      stdio: 'inherit',
    });
  }
}
