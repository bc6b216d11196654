/**
 * Which webhook targets Remit may call. An endpoint URL is chosen by a customer, and Remit calls it
 * from inside its own network: without a check, a URL naming 10.0.0.5, 169.254.169.254 (a cloud's
 * metadata service) or localhost would make Remit a proxy into places only it can reach (SSRF; see
 * Standard Webhooks, "Server side request forgery").
 *
 * Two checks, for two moments: `checkTargetUrl` when an endpoint is created or updated, to refuse a
 * bad URL with a reason; `guardedLookup` when a delivery connects, because the name may resolve
 * differently by then (DNS rebinding), and only the address actually connected to counts.
 */
import { lookup as dnsLookup, promises as dnsPromises } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The `code` of the error `guardedLookup` fails with. */
export const ADDRESS_NOT_ALLOWED = 'ADDRESS_NOT_ALLOWED';

/** A name resolved to an address outside the public internet, and private targets are not allowed. */
export class AddressNotAllowedError extends Error {
  readonly code = ADDRESS_NOT_ALLOWED;

  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`${hostname} resolves to ${address}, a private or reserved address`);
    this.name = 'AddressNotAllowedError';
  }
}

/**
 * Whether `ip` is an ordinary public unicast address. Everything ipaddr.js names a special range is
 * refused: loopback, private (RFC 1918), link-local, unique-local, carrier-grade NAT, reserved,
 * multicast, unspecified, broadcast, and the IPv6 ranges that embed an IPv4 address (6to4, Teredo,
 * NAT64), whose embedded address could be any of those. An IPv4-mapped IPv6 address is judged as
 * the IPv4 address it maps. Anything that is not an IP address is not a public one.
 */
export function isPublicAddress(ip: string): boolean {
  // net.isIP first: ipaddr.js also reads shorthands like "127.1" and "2130706433" as addresses.
  if (isIP(ip) === 0) return false;
  try {
    return ipaddr.process(ip).range() === 'unicast';
  } catch {
    return false;
  }
}

export type TargetCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** How long the check waits for a name to resolve before refusing it. */
const LOOKUP_TIMEOUT_MS = 5_000;

/** Every address a name resolves to. */
export type ResolveAll = (host: string) => Promise<string[]>;

const resolveAll: ResolveAll = async (host) => (await dnsPromises.lookup(host, { all: true })).map((a) => a.address);

/**
 * Whether `url` may be an endpoint's target, with a reason (a sentence for a problem's `detail`)
 * when not. https only, unless private targets are allowed (development), where http is accepted
 * too; no credentials in the URL (they would be sent as Basic auth and shown back in listings); the
 * host must resolve, and unless private targets are allowed, every address it resolves to must be
 * public, since the connection may use any of them.
 */
export async function checkTargetUrl(url: string, options: { readonly allowPrivate: boolean; readonly lookup?: ResolveAll }): Promise<TargetCheck> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return refuse('the URL is not a valid absolute URL');
  }
  if (target.protocol !== 'https:' && !(options.allowPrivate && target.protocol === 'http:')) {
    return refuse(options.allowPrivate ? 'the URL must use https or http' : 'the URL must use https');
  }
  if (target.username !== '' || target.password !== '') return refuse('the URL must not contain a username or password');

  // The URL parser has already normalised numeric forms ("2130706433" is 127.0.0.1); IPv6 keeps its brackets.
  const host = unbracket(target.hostname);
  if (isIP(host) !== 0) {
    return options.allowPrivate || isPublicAddress(host) ? { ok: true } : refuse(`${host} is a private or reserved address`);
  }

  let addresses: string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    // getaddrinfo has no deadline of its own (resolv.conf's retries can take tens of seconds):
    // the request that asked must not hang on it.
    const timedOut = new Promise<string[]>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), LOOKUP_TIMEOUT_MS)));
    addresses = await Promise.race([(options.lookup ?? resolveAll)(host), timedOut]);
  } catch {
    addresses = [];
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) return refuse(`${host} does not resolve`);
  if (options.allowPrivate) return { ok: true };
  const refused = addresses.find((a) => !isPublicAddress(a));
  return refused === undefined ? { ok: true } : refuse(`${host} resolves to ${refused}, a private or reserved address`);
}

/**
 * A `lookup` for node:net (and so for an http(s) Agent) that resolves as `dns.lookup` does, then
 * fails with an `AddressNotAllowedError` (`code: 'ADDRESS_NOT_ALLOWED'`) when private targets are
 * not allowed and any address is not public. Node calls it with `all: true` when it may try several
 * addresses (`autoSelectFamily`, on by default since Node 20) and without it otherwise; both are
 * answered. Every address is checked in both forms, as `checkTargetUrl` does, so which one Node
 * would pick never matters.
 *
 * Node does not call `lookup` for an IP literal: check those with `isPublicAddress` before connecting.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const refused = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (refused !== undefined) return callback(new AddressNotAllowedError(hostname, refused.address), '');
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      // getaddrinfo answers an error rather than nothing, but an empty answer must not connect anywhere.
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}

function refuse(reason: string): TargetCheck {
  return { ok: false, reason };
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
