/**
 * The processor component's public entry: the adapter to the card processor (spec/processor.proto),
 * its result and refusal types, and the translation of "no answer" into the API's 503.
 */
export {
  callProcessor,
  createProcessorClient,
  unhandledRefusal,
  type ProcessorClient,
  type ProcessorOptions,
  type ProcessorResult,
  type ProcessorRefusal,
} from './client.js';
