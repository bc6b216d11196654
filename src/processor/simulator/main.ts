/**
 * `npm run processor`: runs the card-processor simulator on PROCESSOR_HOST:PROCESSOR_PORT until
 * SIGTERM or SIGINT. Faults are off at start; set them with `PUT /control/faults`.
 */
import { configOrExit, loadSimulatorConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { startProcessorSimulator } from './server.js';

async function main(): Promise<void> {
  const config = configOrExit(() => loadSimulatorConfig());
  const log = createLogger(config.logLevel).child({ component: 'processor-simulator' });
  const simulator = await startProcessorSimulator({ host: config.host, port: config.port, log });
  console.log(`Processor simulator listening on ${simulator.url}`);
  log.info({ url: simulator.url }, 'listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    simulator
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Processor simulator failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
