/**
 * Preloaded into an API process a test starts (`NODE_OPTIONS=--import …`): every name resolves to
 * 127.0.0.1, as `createTestApp`'s `lookup` makes it for apps built in the test's own process, so a
 * webhook URL on example.com neither waits on DNS nor leaves the machine. Used with
 * WEBHOOK_ALLOW_PRIVATE_TARGETS=true, as the in-process tests are.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

const LOOPBACK = { address: '127.0.0.1', family: 4 };

dns.lookup = (hostname, options, callback) => {
  const done = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all === true;
  process.nextTick(() => (all ? done(null, [LOOPBACK]) : done(null, LOOPBACK.address, LOOPBACK.family)));
};
dns.promises.lookup = async (_hostname, options) => (typeof options === 'object' && options?.all ? [LOOPBACK] : LOOPBACK);
// ESM imports of node:dns (`import { lookup } from 'node:dns'`) see the replacement too.
syncBuiltinESMExports();
