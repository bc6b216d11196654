/**
 * A stand-in for an external card processor: a small HTTP API with its own idempotency keys and
 * charge state machine, plus injectable latency, errors, dropped connections and hangs, so the
 * API's processor client can be exercised against the failures a real network produces.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import canonicalize from 'canonicalize';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { components } from '../../../generated/processor.js';
import type { Logger } from '../../platform/logger.js';
import { loadSpec } from '../../platform/spec.js';
import { FaultInjector, FaultSettingsError, type FaultDecision, type FaultSettings } from './faults.js';
import { Ledger, processorError, type ChargeInput, type LedgerSnapshot, type OperationKind, type Outcome, type RefundInput } from './ledger.js';

export type { FaultSettings } from './faults.js';
export { FaultSettingsError } from './faults.js';
export type { Charge, Refund, LedgerSnapshot, Operation, SimulatorStats } from './ledger.js';

export interface ProcessorSimulator {
  /** Where the simulator listens, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  /** The bearer token `/control/*` requires. */
  readonly controlToken: string;
  /** The same JSON as `GET /control/ledger`. */
  ledger(): LedgerSnapshot;
  /** Merges into the current settings and returns them in full; throws FaultSettingsError when invalid. */
  setFaults(f: Partial<FaultSettings>): FaultSettings;
  /** Clears the ledger, the stats and the idempotency records, and restores the default fault settings. */
  reset(): void;
  /** Stops listening and ends every connection, hanging ones included. */
  close(): Promise<void>;
}

export interface SimulatorOptions {
  port?: number;
  /** Loopback unless told otherwise: the simulator is a development tool, not a network service. */
  host?: string;
  /** The token for `/control/*` (the ledger of every account's charges, faults, reset); generated when absent. */
  controlToken?: string;
  faults?: Partial<FaultSettings>;
  /**
   * Also checks every answer against spec/processor.yaml: an answer that breaks it is replaced by
   * a 500 `internal_error` naming the violation. For tests; the validator leaves 5xx answers alone.
   */
  validateResponses?: boolean;
  /** The contract to validate against: spec/processor.yaml unless a test points at an altered copy. */
  contract?: string;
  log?: Logger;
}

/** The processor protocol: the simulator validates every request against it. */
export const PROCESSOR_SPEC_PATH = path.resolve(import.meta.dirname, '../../../spec/processor.yaml');

type Failure = components['schemas']['Failure'];

/** A request the contract refuses, as express-openapi-validator (or the body parser) reports it. */
function isRequestError(err: unknown): err is Error & { status: number } {
  return err instanceof Error && 'status' in err && typeof err.status === 'number' && err.status >= 400 && err.status < 500;
}

/**
 * The contract's validator in two parts. `match` finds the operation and, when asked, hooks the
 * answer's validation; it runs first, so faults and refusals are checked like any other answer.
 * `validate` checks the request; it runs after the fault gate and the token check, so that a
 * malformed request can still fault and a stranger learns nothing about the schemas.
 */
function contractValidator(file: string, validateResponses: boolean): { match: RequestHandler[]; validate: RequestHandler } {
  const chain = OpenApiValidator.middleware({
    apiSpec: loadSpec(file) as never,
    validateApiSpec: false, // `make lint-spec` lints it; validating it again on every start slows the tests
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
    validateResponses: validateResponses ? { removeAdditional: false } : false,
    // The control token is compared in constant time by the simulator itself.
    validateSecurity: false,
    validateFormats: true,
    fileUploader: false,
    // An unknown route keeps its own answer, 404 `not_found`, rather than the validator's.
    ignoreUndocumented: true,
  });
  const named = (name: string): RequestHandler => {
    const mw = chain.find((m) => m.name === name);
    if (!mw) throw new Error(`express-openapi-validator: ${name} not found; check the pinned version`);
    return mw as RequestHandler;
  };
  return {
    match: [named('pathParamsMiddleware'), named('metadataMiddleware'), ...(validateResponses ? [named('responseMiddleware')] : [])],
    validate: named('requestMiddleware'),
  };
}

function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).json(body);
}

export async function startProcessorSimulator(options: SimulatorOptions = {}): Promise<ProcessorSimulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const ledger = new Ledger();
  const faults = new FaultInjector(options.faults);

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  // Faults to inject once the operation has been applied, keyed by the response they replace.
  const pendingAfter = new WeakMap<Response, FaultDecision['kind']>();

  function sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  function injectFault(req: Request, res: Response, kind: FaultDecision['kind'], point: 'before' | 'after'): void {
    ledger.stats.faults[kind] += 1;
    log?.debug({ fault: kind, point, method: req.method, path: req.originalUrl }, 'fault injected');
    const socket = req.socket;
    if (kind === 'error') {
      const status = faults.nextErrorStatus();
      const body: Failure =
        status === 503
          ? { code: 'processor_unavailable', message: 'The processor is temporarily unavailable.' }
          : { code: 'processor_error', message: 'The processor failed to handle the request.' };
      sendJson(res, status, body);
    } else if (kind === 'drop') {
      socket.destroy();
    } else {
      // Never answer: the caller's own timeout is what ends the wait, or the hang limit does.
      const timer = setTimeout(() => {
        timers.delete(timer);
        socket.destroy();
      }, faults.settings.hang_ms);
      timers.add(timer);
      socket.once('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    }
  }

  /** Sends a `/v1` response, unless an `after` fault was rolled for it, which then replaces it. */
  function reply(req: Request, res: Response, outcome: Outcome, headers?: Record<string, string>): void {
    const fault = pendingAfter.get(res);
    if (fault) {
      pendingAfter.delete(res);
      injectFault(req, res, fault, 'after');
      return;
    }
    sendJson(res, outcome.status, outcome.body, headers);
  }

  const invalid = (message: string): Outcome => processorError(400, 'invalid_request', message);

  const faultGate: RequestHandler = async (req, res, next) => {
    ledger.stats.requests += 1;
    await sleep(faults.latency());
    const decision = faults.decide();
    if (decision?.point === 'before') return injectFault(req, res, decision.kind, 'before');
    if (decision) pendingAfter.set(res, decision.kind);
    next();
  };

  // Body errors are held until after the fault gate so that a malformed request can fault too.
  const parseJson = express.json();
  const bodyErrors = new WeakMap<Request, string>();
  const parseBody: RequestHandler = (req, res, next) => {
    parseJson(req, res, (err?: unknown) => {
      if (err) bodyErrors.set(req, err instanceof Error ? err.message : 'The request body could not be read.');
      next();
    });
  };
  const rejectBadBody: RequestHandler = (req, res, next) => {
    const problem = bodyErrors.get(req);
    if (problem !== undefined) return reply(req, res, invalid(`The request body is not valid JSON: ${problem}`));
    next();
  };

  /**
   * A POST that changes the books. The contract has already checked its Idempotency-Key and body;
   * it runs at most once per (kind, key). The fingerprint is method, path and the canonical body,
   * so key order and whitespace do not make a retry look like a different request.
   */
  function mutation<T>(kind: OperationKind, apply: (input: T, key: string, req: Request) => Outcome): RequestHandler {
    return (req, res) => {
      const key = req.get('Idempotency-Key');
      if (key === undefined) throw new Error(`${req.method} ${req.originalUrl} reached its handler without an Idempotency-Key`);
      const body: unknown = req.body ?? {};
      let fingerprint: string;
      try {
        fingerprint = `${req.method} ${req.baseUrl}${req.path} ${canonicalize(body) ?? ''}`;
      } catch (err) {
        return reply(req, res, invalid(err instanceof Error ? err.message : 'The request body cannot be canonicalized.'));
      }
      const { outcome, replayed } = ledger.execute(kind, key, fingerprint, () => apply(body as T, key, req));
      reply(req, res, outcome, replayed ? { 'Idempotent-Replayed': 'true' } : undefined);
    };
  }

  /**
   * A `/v1` request the contract refuses: 400 `idempotency_key_required` for a POST without a key,
   * whatever else is wrong with it, otherwise 400 `invalid_request`. Sent through `reply`, so an
   * `after` fault replaces it as it would any answer.
   */
  const refuseInvalid: ErrorRequestHandler = (err, req, res, next) => {
    if (!isRequestError(err)) return next(err);
    if (req.method === 'POST' && !req.get('Idempotency-Key')) {
      return reply(req, res, processorError(400, 'idempotency_key_required', 'Send an Idempotency-Key header with every POST.'));
    }
    reply(req, res, invalid(err.message));
  };

  const param = (req: Request): string => String(req.params.id);

  const v1 = express.Router();
  v1.post('/charges', mutation<ChargeInput>('charge', (input, key) => ledger.createCharge(input, key)));
  v1.post('/charges/:id/capture', mutation('capture', (_input, key, req) => ledger.capture(param(req), key)));
  v1.post('/charges/:id/void', mutation('void', (_input, key, req) => ledger.void(param(req), key)));
  v1.post('/refunds', mutation<RefundInput>('refund', (input, key) => ledger.refund(input, key)));
  v1.get('/charges/:id', (req, res) => reply(req, res, ledger.getCharge(param(req))));
  v1.use((req, res) => reply(req, res, processorError(404, 'not_found', `No route for ${req.method} ${req.originalUrl}.`)));

  // The control API reads every account's charges and can fail or wipe the processor: it takes a
  // bearer token, compared in constant time (hashes of equal length).
  const controlToken = options.controlToken ?? randomBytes(24).toString('hex');
  const tokenHash = createHash('sha256').update(controlToken).digest();
  const requireToken: RequestHandler = (req, res, next) => {
    const presented = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '';
    if (timingSafeEqual(createHash('sha256').update(presented).digest(), tokenHash)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="processor-control"');
    sendJson(res, 401, { code: 'unauthorized', message: 'The control API needs `Authorization: Bearer <control token>`.' });
  };

  const control = express.Router();
  control.get('/ledger', (_req, res) => sendJson(res, 200, ledger.snapshot()));
  control.get('/faults', (_req, res) => sendJson(res, 200, faults.settings));
  control.put('/faults', (req, res) => {
    try {
      sendJson(res, 200, faults.update(req.body ?? {}));
    } catch (err) {
      // The contract cannot say that the three rates add up to at most 1; this can.
      if (!(err instanceof FaultSettingsError)) throw err;
      sendJson(res, 400, { code: 'invalid_request', message: err.message });
    }
  });
  control.post('/reset', (_req, res) => {
    reset();
    res.status(204).end();
  });

  const contract = contractValidator(options.contract ?? PROCESSOR_SPEC_PATH, options.validateResponses ?? false);
  const app = express();
  app.disable('x-powered-by');
  app.use(...contract.match);
  app.use('/v1', parseBody, faultGate, rejectBadBody, contract.validate, refuseInvalid, v1);
  app.use('/control', requireToken, express.json(), contract.validate, control);
  app.get('/health', contract.validate, (_req, res) => sendJson(res, 200, { status: 'ok' }));
  app.use((req, res) => sendJson(res, 404, { code: 'not_found', message: `No route for ${req.method} ${req.originalUrl}.` }));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof OpenApiValidator.error.InternalServerError) {
      // Only response validation raises this: the simulator's own answer broke the contract.
      log?.error({ err, method: req.method, path: req.originalUrl }, 'simulator answer breaks spec/processor.yaml');
      sendJson(res, 500, { code: 'internal_error', message: `The simulator's answer breaks spec/processor.yaml: ${err.message}` });
      return;
    }
    if (isRequestError(err)) {
      sendJson(res, 400, { code: 'invalid_request', message: err.message });
      return;
    }
    log?.error({ err, method: req.method, path: req.originalUrl }, 'simulator error');
    sendJson(res, 500, { code: 'internal_error', message: 'The simulator failed unexpectedly.' });
  });

  const server: Server = createServer(app);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;

  function reset(): void {
    ledger.reset();
    faults.reset();
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
    return closing;
  }

  return {
    url,
    controlToken,
    ledger: () => ledger.snapshot(),
    setFaults: (f) => faults.update(f),
    reset,
    close,
  };
}
