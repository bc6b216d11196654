/** The resources as the spec defines them (generated/schema.ts), for the tests' own use. */
import type { components } from '../../generated/schema.js';

type Schemas = components['schemas'];
export type Customer = Schemas['Customer'];
export type Payment = Schemas['Payment'];
export type Refund = Schemas['Refund'];
export type Event = Schemas['Event'];
export type ApiKeyScope = Schemas['ApiKeyScope'];
export type ErrorCode = Schemas['ErrorCode'];
