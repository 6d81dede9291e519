#!/usr/bin/env node
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type ServerConfig } from './config.js';

/** Process entry: configuration, logger, listen, and a graceful close on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`strata: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const app = await buildApp(config, {
    level: config.logLevel,
    redact: { paths: ['req.headers["api-key"]', 'req.headers.authorization'], censor: '[redacted]' },
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    // server.close() reaps the keep-alive connections idle at this moment only; one whose request finishes
    // later would stay open until its keep-alive timeout (72 s) and hold the shutdown, so reap them as they idle.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
    reaper.unref();
    app.close().then(
      () => {
        app.log.info('closed cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    app.log.fatal({ err }, `cannot listen on ${config.host}:${config.port}`);
    process.exit(1);
  }
  app.log.info(
    {
      dataDir: config.dataDir,
      workers: config.workers,
      maxBodyMb: config.maxBodyMb,
      requestTimeoutMs: config.requestTimeoutMs,
      // whether keys are set, never the keys
      auth: config.apiKey !== null || config.readOnlyApiKey !== null,
      tls: config.tlsCert !== null,
    },
    'strata started',
  );
}

await main();
