import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config/load.js';
import { batchedStdout, createLogger, type Logger } from './observability/logger.js';
import { startGateway } from './server.js';
import { widenHeapGrowth } from './startup/heap-growth.js';
import { runStartupDoctor, StartupCheckError } from './startup/doctor.js';

/**
 * The only place that reads process.env and exits: config → start-up checks → gateway → listen →
 * graceful shutdown. Exit codes: 0 after a graceful stop, 1 when the configuration or a start-up
 * check forbids starting (the reason on stderr, and in the log).
 *
 * WORKERS > 1: this process becomes a node:cluster primary that runs the start-up checks once, then
 * forks that many workers sharing the port; it serves no requests itself.
 */
function refuseToStart(logger: Logger, error: unknown): never {
  if (!(error instanceof ConfigError || error instanceof StartupCheckError)) throw error;
  logger.fatal(error.message);
  console.error(error.message);
  process.exit(1);
}

async function serve(config: Config, logger: Logger, startupChecks: boolean): Promise<void> {
  let gateway;
  try {
    gateway = await startGateway(config, logger, undefined, { startupChecks });
  } catch (error) {
    refuseToStart(logger, error);
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down: refusing new connections, draining in-flight requests');
    await gateway.close();
    logger.info('stopped');
    process.exit(0);
  };
  // A second signal falls back to the default action: stop at once.
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * The cluster primary: forks the workers, replaces one that dies after it was serving, gives up
 * (exit 1) when one cannot start, and on SIGTERM/SIGINT lets every worker drain, then exits.
 */
async function supervise(config: Config, logger: Logger): Promise<void> {
  try {
    await runStartupDoctor(config, logger);
  } catch (error) {
    refuseToStart(logger, error);
  }
  const serving = new Set<number>();
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  cluster.on('listening', (worker) => serving.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    const remaining = Object.keys(cluster.workers ?? {}).length;
    if (stopping) {
      if (remaining === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!serving.has(worker.id)) {
      logger.fatal({ worker: worker.id, code, signal }, 'a worker could not start: stopping');
      process.exitCode = 1;
      stopAll('SIGTERM');
      if (remaining === 0) process.exit(1);
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'a worker exited: starting a new one');
    cluster.fork();
  });
  process.once('SIGTERM', () => stopAll('SIGTERM'));
  process.once('SIGINT', () => stopAll('SIGTERM'));
  for (let index = 0; index < config.workers; index++) cluster.fork();
}

async function main(): Promise<void> {
  widenHeapGrowth();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, batchedStdout());
  if (config.workers <= 1) return serve(config, logger, true);
  if (cluster.isPrimary) return supervise(config, logger);
  // A worker: the primary already ran the start-up checks.
  return serve(config, logger.child({ worker: cluster.worker?.id }), false);
}

main().catch((error: unknown) => {
  console.error('orthanc-oidc-gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
