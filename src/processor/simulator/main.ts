/**
 * `npm run processor`: runs the card-processor simulator on PROCESSOR_HOST:PROCESSOR_PORT until
 * SIGTERM or SIGINT. Faults are off at start; set them with `SimulatorControlService.UpdateFaults`
 * (bearer PROCESSOR_CONTROL_TOKEN).
 */
import { configOrExit, loadSimulatorConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { exitOnSignal } from '../../platform/shutdown.js';
import { startProcessorSimulator } from './server.js';

async function main(): Promise<void> {
  const config = configOrExit(() => loadSimulatorConfig());
  const log = createLogger(config.logLevel).child({ component: 'processor-simulator' });
  const simulator = await startProcessorSimulator({ host: config.host, port: config.port, controlToken: config.controlToken, log });
  console.log(`Processor simulator listening on ${simulator.url} (gRPC and the Connect protocol: spec/processor.proto)`);
  if (!config.controlToken) console.log(`  Control token (generated; set PROCESSOR_CONTROL_TOKEN to choose one): ${simulator.controlToken}`);
  console.log(`  Ledger: curl -H 'Authorization: Bearer …' -H 'Content-Type: application/json' -d '{}' ${simulator.url}/remit.processor.v1.SimulatorControlService/GetLedger`);
  log.info({ url: simulator.url }, 'listening');

  exitOnSignal(log, async () => {
    await simulator.close();
    return true;
  });
}

main().catch((err: unknown) => {
  console.error('Processor simulator failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
