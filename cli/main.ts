#!/usr/bin/env node
/**
 * `strata`: runs the server (`strata serve`) and moves data in and out of a running one over its REST API
 * (`strata import`, `strata export`), so it works the same against a remote server.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { exportCollection } from './export.js';
import { RestClient, RestError } from './http.js';
import { importFile } from './import.js';
import { FORMATS, type Format } from './readers.js';
import {
  createSnapshot,
  deleteSnapshot,
  downloadSnapshot,
  formatSnapshots,
  listSnapshots,
  restoreSnapshot,
  uploadSnapshot,
} from './snapshot.js';

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
    return n;
  };
}
function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** --url and --api-key (from STRATA_URL and STRATA_API_KEY too), --retries and --quiet on every client command. */
function clientCommand(program: Command, name: string): Command {
  return program
    .command(name)
    .addOption(new Option('--url <url>', 'server URL').env('STRATA_URL').default('http://127.0.0.1:6333'))
    .addOption(new Option('--api-key <key>', 'API key, sent as the api-key header').env('STRATA_API_KEY'))
    .option('--retries <n>', 'retries on 503/429 and refused connections, honouring Retry-After', nonNegativeInt, 8)
    .option('-q, --quiet', 'no progress bar (it is also off when stderr is not a terminal)', false);
}

function sha256(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('must be a sha256: 64 hexadecimal digits');
  return value.toLowerCase();
}

const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const print = (line: string) => process.stdout.write(`${line}\n`);

function clientOf(opts: { url: string; apiKey?: string; retries: number }, onRetry?: (m: string) => void) {
  return new RestClient({ url: opts.url, apiKey: opts.apiKey, retries: opts.retries, onRetry });
}

const program = new Command('strata')
  .description('Strata vector database: run the server, import and export collections, manage snapshots')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the server (same as `npm start`); server flags such as --port and --data-dir pass through')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async () => {
    // server/config.ts reads process.argv and skips the word `serve`
    await import('../server/main.js');
  });

clientCommand(program, 'import')
  .description('stream a .fvecs, .bvecs, .jsonl or .csv file into a collection, in batches')
  .argument('<collection>', 'collection name')
  .argument('<file>', 'file to import')
  .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(FORMATS))
  .option('--batch-size <n>', 'points per upsert request', positiveInt(10_000), 256)
  .option('--parallel <n>', 'upsert requests in flight at once', positiveInt(64), 2)
  .option(
    '--id-offset <n>',
    'id of the first row when the file has no ids (.fvecs, .bvecs, CSV without id)',
    nonNegativeInt,
    0,
  )
  .option('--create', 'create the collection if it does not exist', false)
  .addOption(
    new Option('--distance <distance>', 'distance of a collection made by --create')
      .choices(['Cosine', 'Dot', 'Euclid', 'Manhattan'])
      .default('Cosine'),
  )
  .option('--dim <n>', "dimension of a collection made by --create (default: the first vector's)", positiveInt(65_536))
  .action(async (collection: string, file: string, opts) => {
    const client = clientOf(opts, (m) => process.stderr.write(`${m}\n`));
    const line = await importFile(client, {
      collection,
      file,
      format: opts.format as Format | undefined,
      batchSize: opts.batchSize,
      parallel: opts.parallel,
      idOffset: opts.idOffset,
      create: opts.create,
      distance: opts.distance,
      dim: opts.dim,
      quiet: opts.quiet,
    });
    process.stdout.write(`${line}\n`);
  });

clientCommand(program, 'export')
  .description('write every point of a collection to JSON lines ({id, vector, payload}); `-` for stdout')
  .argument('<collection>', 'collection name')
  .argument('<file>', 'output .jsonl file, or - for stdout')
  .option('--batch-size <n>', 'points per scroll request', positiveInt(10_000), 1000)
  .action(async (collection: string, file: string, opts) => {
    const line = await exportCollection(clientOf(opts), {
      collection,
      file,
      batchSize: opts.batchSize,
      quiet: opts.quiet,
    });
    process.stderr.write(`${line}\n`);
  });

const snapshot = program
  .command('snapshot')
  .description("make, list, download, upload, restore and delete a collection's snapshots");

clientCommand(snapshot, 'create')
  .description('make a snapshot of a collection (consistent while writes continue)')
  .argument('<collection>', 'collection name')
  .option('--json', 'print the server answer as JSON', false)
  .action(async (collection: string, opts) => {
    const made = await createSnapshot(clientOf(opts), collection);
    if (opts.json) printJson(made);
    else print(`created snapshot ${made.name} of ${collection} (${made.size} bytes, sha256 ${made.checksum})`);
  });

clientCommand(snapshot, 'list')
  .description("list a collection's snapshots, oldest first (also after the collection was deleted)")
  .argument('<collection>', 'collection name')
  .option('--json', 'print the server answer as JSON', false)
  .action(async (collection: string, opts) => {
    const list = await listSnapshots(clientOf(opts), collection);
    if (opts.json) printJson(list);
    else print(formatSnapshots(list));
  });

clientCommand(snapshot, 'download')
  .description('stream a snapshot to a file and check its sha256 against the one the server reported')
  .argument('<collection>', 'collection name')
  .argument('<snapshot>', 'snapshot name, as listed')
  .argument('[file]', 'output file (default: the snapshot name, in the working directory)')
  .action(async (collection: string, name: string, file: string | undefined, opts) => {
    const client = clientOf(opts, (m) => process.stderr.write(`${m}\n`));
    print(await downloadSnapshot(client, { collection, snapshot: name, file, quiet: opts.quiet }));
  });

clientCommand(snapshot, 'upload')
  .description('restore a collection (created or replaced) from a local archive, streamed as a multipart upload')
  .argument('<collection>', 'collection to restore into')
  .argument('<file>', 'snapshot archive')
  .option('--checksum <sha256>', 'refuse the archive unless its sha256 is this', sha256)
  .action(async (collection: string, file: string, opts) => {
    const client = clientOf(opts, (m) => process.stderr.write(`${m}\n`));
    print(await uploadSnapshot(client, { collection, file, checksum: opts.checksum, quiet: opts.quiet }));
  });

clientCommand(snapshot, 'restore')
  .description(
    'restore a collection (created or replaced) from a snapshot the server can reach: a snapshot name, a file:// URL, or an http(s):// URL (for a local file, use upload)',
  )
  .argument('<collection>', 'collection to restore into')
  .argument('<snapshot-or-url>', 'snapshot name (of any collection) or URL')
  .option('--checksum <sha256>', 'refuse the archive unless its sha256 is this', sha256)
  .addOption(
    new Option('--source-api-key <key>', 'api-key the server sends when it downloads an http(s) URL').env(
      'STRATA_SOURCE_API_KEY',
    ),
  )
  .action(async (collection: string, location: string, opts) => {
    const line = await restoreSnapshot(clientOf(opts), {
      collection,
      location,
      checksum: opts.checksum,
      sourceApiKey: opts.sourceApiKey,
    });
    print(line);
  });

clientCommand(snapshot, 'delete')
  .description('delete a snapshot archive')
  .argument('<collection>', 'collection name')
  .argument('<snapshot>', 'snapshot name, as listed')
  .action(async (collection: string, name: string, opts) => {
    print(await deleteSnapshot(clientOf(opts), collection, name));
  });

try {
  await program.parseAsync();
} catch (e) {
  const message =
    e instanceof RestError && e.status > 0 ? `${e.message} (${e.status} ${e.code})` : (e as Error).message;
  process.stderr.write(`strata: ${message}\n`);
  process.exit(1);
}
