/**
 * The catalogue of every rule api-diff can report. A rule id is a stable public name: CI
 * configurations, PR comments and people search for it, so an id is never renamed or reused for a
 * different question. Ids follow oasdiff's (github.com/oasdiff/oasdiff, checker/rules.go) wherever
 * oasdiff asks the same question; the README says where a level differs and why. Each finding takes
 * its level from here, so a rule has exactly one level, and tests check that every rule has a test
 * and that the README's table is this catalogue.
 *
 * Levels: `breaking` — a client that worked against the base can fail against the revision;
 * `warning` — it may, depending on what the client or server does with it; `info` — additive.
 */
export type Level = 'breaking' | 'warning' | 'info';

export const LEVELS: readonly Level[] = ['breaking', 'warning', 'info'];

interface Rule {
  readonly level: Level;
  readonly description: string;
}

export const RULES = {
  // Paths and operations
  'api-path-removed-without-deprecation': { level: 'breaking', description: 'a path was removed, with an operation that was not deprecated' },
  'api-path-removed-before-sunset': { level: 'breaking', description: 'a path was removed, with a deprecated operation whose sunset date has not passed' },
  'api-path-removed-with-deprecation': { level: 'info', description: 'a path was removed, with a deprecated operation past its sunset date (or with none)' },
  'api-removed-without-deprecation': { level: 'breaking', description: 'an operation that was not deprecated was removed' },
  'api-removed-before-sunset': { level: 'breaking', description: 'a deprecated operation was removed before its sunset date' },
  'api-removed-with-deprecation': { level: 'info', description: 'a deprecated operation was removed after its sunset date (or with none)' },
  'endpoint-added': { level: 'info', description: 'an operation was added' },
  'endpoint-deprecated': { level: 'info', description: 'an operation was deprecated, with a sunset date at least the minimum notice away' },
  'endpoint-reactivated': { level: 'info', description: 'an operation is no longer deprecated' },
  'api-deprecated-sunset-missing': { level: 'warning', description: 'an operation was deprecated without a sunset date: clients are not told when it goes, and it may be removed at any time' },
  'api-deprecated-sunset-parse': { level: 'breaking', description: "an operation was deprecated, or a deprecated operation's sunset date set or changed, with a date that cannot be read: it gives no notice" },
  'api-sunset-date-too-small': { level: 'breaking', description: 'an operation was deprecated with a sunset date less than the minimum notice after the comparison time' },
  'api-sunset-date-changed-too-small': { level: 'breaking', description: "a deprecated operation's sunset date was set or changed to one less than the minimum notice after the comparison time" },
  'api-sunset-date-moved-earlier': { level: 'breaking', description: "a deprecated operation's sunset date was moved earlier, before it had passed: clients planned for the later date" },
  'sunset-deleted': { level: 'breaking', description: "a deprecated operation's sunset date was removed before it passed: it may now be removed at any time" },
  'api-sunset-date-changed': { level: 'info', description: "a deprecated operation's sunset date was set or moved later, at least the minimum notice away, or removed after it had passed" },
  'api-operation-id-removed': { level: 'warning', description: 'an operationId changed or was removed: generated clients rename the method' },

  // Parameters
  'new-required-request-parameter': { level: 'breaking', description: 'a required parameter was added' },
  'new-optional-request-parameter': { level: 'info', description: 'an optional parameter was added' },
  'request-parameter-removed': { level: 'warning', description: 'a parameter was removed: what clients still send is ignored or rejected' },
  'request-parameter-removed-with-deprecation': { level: 'info', description: 'a deprecated parameter was removed after its sunset date (or with none)' },
  'request-parameter-removed-before-sunset': { level: 'breaking', description: 'a deprecated parameter was removed before its sunset date' },
  'request-parameter-deprecated': { level: 'info', description: 'a parameter was deprecated, with a sunset date at least the minimum notice away' },
  'request-parameter-deprecated-sunset-missing': { level: 'warning', description: 'a parameter was deprecated without a sunset date: clients are not told when it goes, and it may be removed at any time' },
  'request-parameter-deprecated-sunset-parse': { level: 'breaking', description: "a parameter was deprecated, or a deprecated parameter's sunset date set or changed, with a date that cannot be read: it gives no notice" },
  'request-parameter-sunset-date-too-small': { level: 'breaking', description: 'a parameter was deprecated with a sunset date less than the minimum notice after the comparison time' },
  'request-parameter-sunset-date-changed-too-small': { level: 'breaking', description: "a deprecated parameter's sunset date was set or changed to one less than the minimum notice after the comparison time" },
  'request-parameter-sunset-date-moved-earlier': { level: 'breaking', description: "a deprecated parameter's sunset date was moved earlier, before it had passed: clients planned for the later date" },
  'request-parameter-sunset-deleted': { level: 'breaking', description: "a deprecated parameter's sunset date was removed before it passed: it may now be removed at any time" },
  'request-parameter-sunset-date-changed': { level: 'info', description: "a deprecated parameter's sunset date was set or moved later, at least the minimum notice away, or removed after it had passed" },
  'request-parameter-possibly-renamed': { level: 'info', description: 'a removed and an added parameter in the same place have identical schemas: perhaps a rename' },
  'request-parameter-moved': { level: 'breaking', description: 'a parameter keeps its name but moved (e.g. from query to header)' },
  'request-parameter-became-required': { level: 'breaking', description: 'an optional parameter became required' },
  'request-parameter-became-optional': { level: 'info', description: 'a required parameter became optional' },
  'request-parameter-type-changed': { level: 'breaking', description: "a parameter's type or format changed to one that rejects values it accepted" },
  'request-parameter-type-generalized': { level: 'info', description: "a parameter's type or format was widened (e.g. integer to number)" },
  'request-parameter-enum-value-removed': { level: 'breaking', description: 'a value was removed from an enum a parameter accepts' },
  'request-parameter-enum-value-added': { level: 'info', description: 'a value was added to an enum a parameter accepts' },
  'request-parameter-became-enum': { level: 'breaking', description: 'a parameter was restricted to a list of values' },
  'request-parameter-became-not-enum': { level: 'info', description: "a parameter's list of values was lifted" },
  'request-parameter-became-not-nullable': { level: 'breaking', description: 'a parameter no longer accepts null' },
  'request-parameter-became-nullable': { level: 'info', description: 'a parameter now accepts null' },
  'request-parameter-pattern-added': { level: 'breaking', description: 'a pattern was added to a parameter' },
  'request-parameter-pattern-changed': { level: 'warning', description: "a parameter's pattern changed (whether it is wider cannot be told)" },
  'request-parameter-pattern-removed': { level: 'info', description: "a parameter's pattern was removed" },
  'request-parameter-max-set': { level: 'breaking', description: 'a maximum was set on a parameter' },
  'request-parameter-max-decreased': { level: 'breaking', description: "a parameter's maximum was lowered (or made exclusive)" },
  'request-parameter-max-increased': { level: 'info', description: "a parameter's maximum was raised or removed" },
  'request-parameter-min-set': { level: 'breaking', description: 'a minimum was set on a parameter' },
  'request-parameter-min-increased': { level: 'breaking', description: "a parameter's minimum was raised (or made exclusive)" },
  'request-parameter-min-decreased': { level: 'info', description: "a parameter's minimum was lowered or removed" },
  'request-parameter-max-length-set': { level: 'breaking', description: 'a maxLength was set on a parameter' },
  'request-parameter-max-length-decreased': { level: 'breaking', description: "a parameter's maxLength was lowered" },
  'request-parameter-max-length-increased': { level: 'info', description: "a parameter's maxLength was raised or removed" },
  'request-parameter-min-length-increased': { level: 'breaking', description: "a parameter's minLength was raised or set" },
  'request-parameter-min-length-decreased': { level: 'info', description: "a parameter's minLength was lowered or removed" },
  'request-parameter-max-items-set': { level: 'breaking', description: 'a maxItems was set on a parameter' },
  'request-parameter-max-items-decreased': { level: 'breaking', description: "a parameter's maxItems was lowered" },
  'request-parameter-max-items-increased': { level: 'info', description: "a parameter's maxItems was raised or removed" },
  'request-parameter-min-items-increased': { level: 'breaking', description: "a parameter's minItems was raised or set" },
  'request-parameter-min-items-decreased': { level: 'info', description: "a parameter's minItems was lowered or removed" },
  'request-parameter-default-value-changed': { level: 'breaking', description: "a parameter's default changed: clients that omit it get different behaviour" },
  'request-parameter-default-value-added': { level: 'info', description: 'a default was given to a parameter' },
  'request-parameter-default-value-removed': { level: 'warning', description: "a parameter's default was removed: what omitting it means is no longer stated" },

  // Request body
  'request-body-added-required': { level: 'breaking', description: 'a required request body was added' },
  'request-body-added-optional': { level: 'info', description: 'an optional request body was added' },
  'request-body-became-required': { level: 'breaking', description: 'the request body became required' },
  'request-body-became-optional': { level: 'info', description: 'the request body became optional' },
  'request-body-removed': { level: 'warning', description: 'the request body was removed: what clients still send is ignored or rejected' },
  'request-body-media-type-removed': { level: 'breaking', description: 'a request body media type is no longer accepted' },
  'request-body-media-type-added': { level: 'info', description: 'a request body media type is now accepted' },

  // Request properties (the request body's schema at any depth; the root is the empty path)
  'new-required-request-property': { level: 'breaking', description: 'a required request property was added' },
  'new-optional-request-property': { level: 'info', description: 'an optional request property was added' },
  'request-property-removed': { level: 'warning', description: 'a request property was removed from an open object: what clients still send is ignored' },
  'request-property-removed-rejected': { level: 'breaking', description: 'a request property was removed from an object with additionalProperties: false: requests that send it are rejected' },
  'request-property-became-required': { level: 'breaking', description: 'an optional request property became required' },
  'request-property-became-optional': { level: 'info', description: 'a required request property became optional' },
  'request-property-type-changed': { level: 'breaking', description: "a request property's type or format changed to one that rejects values it accepted" },
  'request-property-type-generalized': { level: 'info', description: "a request property's type or format was widened" },
  'request-property-enum-value-removed': { level: 'breaking', description: 'a value was removed from the enum of a request property' },
  'request-property-enum-value-added': { level: 'info', description: 'a value was added to the enum of a request property' },
  'request-property-became-enum': { level: 'breaking', description: 'a request property was restricted to a list of values' },
  'request-property-became-not-enum': { level: 'info', description: "a request property's list of values was lifted" },
  'request-property-became-not-nullable': { level: 'breaking', description: 'a request property no longer accepts null (3.0 nullable or 3.1 type null)' },
  'request-property-became-nullable': { level: 'info', description: 'a request property now accepts null' },
  'request-property-pattern-added': { level: 'breaking', description: 'a pattern was added to a request property' },
  'request-property-pattern-changed': { level: 'warning', description: "a request property's pattern changed (whether it is wider cannot be told)" },
  'request-property-pattern-removed': { level: 'info', description: "a request property's pattern was removed" },
  'request-property-max-set': { level: 'breaking', description: 'a maximum was set on a request property' },
  'request-property-max-decreased': { level: 'breaking', description: "a request property's maximum was lowered (or made exclusive)" },
  'request-property-max-increased': { level: 'info', description: "a request property's maximum was raised or removed" },
  'request-property-min-set': { level: 'breaking', description: 'a minimum was set on a request property' },
  'request-property-min-increased': { level: 'breaking', description: "a request property's minimum was raised (or made exclusive)" },
  'request-property-min-decreased': { level: 'info', description: "a request property's minimum was lowered or removed" },
  'request-property-max-length-set': { level: 'breaking', description: 'a maxLength was set on a request property' },
  'request-property-max-length-decreased': { level: 'breaking', description: "a request property's maxLength was lowered" },
  'request-property-max-length-increased': { level: 'info', description: "a request property's maxLength was raised or removed" },
  'request-property-min-length-increased': { level: 'breaking', description: "a request property's minLength was raised or set" },
  'request-property-min-length-decreased': { level: 'info', description: "a request property's minLength was lowered or removed" },
  'request-property-max-items-set': { level: 'breaking', description: 'a maxItems was set on a request array' },
  'request-property-max-items-decreased': { level: 'breaking', description: "a request array's maxItems was lowered" },
  'request-property-max-items-increased': { level: 'info', description: "a request array's maxItems was raised or removed" },
  'request-property-min-items-increased': { level: 'breaking', description: "a request array's minItems was raised or set" },
  'request-property-min-items-decreased': { level: 'info', description: "a request array's minItems was lowered or removed" },
  'request-property-default-value-changed': { level: 'breaking', description: "a request property's default changed: clients that omit it get different behaviour" },
  'request-property-default-value-added': { level: 'info', description: 'a default was given to a request property' },
  'request-property-default-value-removed': { level: 'warning', description: "a request property's default was removed" },
  'request-required-property-became-read-only': { level: 'breaking', description: 'a required request property became readOnly: clients may no longer send it' },
  'request-optional-property-became-read-only': { level: 'warning', description: 'an optional request property became readOnly: what clients send is ignored or rejected' },
  'request-property-became-not-read-only': { level: 'info', description: 'a readOnly property can now be sent in requests' },
  'request-property-became-closed': { level: 'breaking', description: 'a request object now has additionalProperties: false: requests with other properties are rejected' },
  'request-property-became-open': { level: 'info', description: 'a request object no longer has additionalProperties: false' },
  'request-property-one-of-removed': { level: 'breaking', description: 'an alternative was removed from a oneOf in the request' },
  'request-property-one-of-added': { level: 'info', description: 'an alternative was added to a oneOf in the request' },
  'request-property-any-of-removed': { level: 'breaking', description: 'an alternative was removed from an anyOf in the request' },
  'request-property-any-of-added': { level: 'info', description: 'an alternative was added to an anyOf in the request' },
  'request-property-all-of-added': { level: 'warning', description: 'a member was added to an allOf in the request (what it narrows is reported on its own)' },
  'request-property-all-of-removed': { level: 'info', description: 'a member was removed from an allOf in the request' },

  // Responses
  'response-success-status-removed': { level: 'breaking', description: 'a success (2xx) response status was removed' },
  'response-success-status-added': { level: 'info', description: 'a success (2xx) response status was added' },
  'response-non-success-status-removed': { level: 'info', description: 'a non-success response status was removed' },
  'response-non-success-status-added': { level: 'info', description: 'a non-success response status was added' },
  'response-media-type-removed': { level: 'breaking', description: 'a response media type was removed' },
  'response-media-type-added': { level: 'info', description: 'a response media type was added' },
  'required-response-header-removed': { level: 'breaking', description: 'a required response header was removed' },
  'optional-response-header-removed': { level: 'warning', description: 'an optional response header was removed' },
  'response-header-became-optional': { level: 'breaking', description: 'a required response header became optional' },
  'response-header-added': { level: 'info', description: 'a response header was added' },

  // Response properties (a response body's schema at any depth; the root is the empty path)
  'response-required-property-removed': { level: 'breaking', description: 'a required response property was removed' },
  'response-optional-property-removed': { level: 'warning', description: 'an optional response property was removed' },
  'response-required-property-added': { level: 'info', description: 'a required response property was added' },
  'response-optional-property-added': { level: 'info', description: 'an optional response property was added' },
  'response-property-became-optional': { level: 'breaking', description: 'a required response property became optional: clients can no longer rely on it' },
  'response-property-became-required': { level: 'info', description: 'an optional response property became required' },
  'response-property-type-changed': { level: 'breaking', description: "a response property's type or format changed to one clients may not read" },
  'response-property-type-specialized': { level: 'info', description: "a response property's type or format was narrowed (e.g. number to integer)" },
  'response-property-enum-value-added': { level: 'warning', description: 'a value was added to the enum of a response property: clients may not handle it' },
  'response-property-enum-value-removed': { level: 'info', description: 'a value was removed from the enum of a response property' },
  'response-property-became-enum': { level: 'info', description: 'a response property was restricted to a list of values' },
  'response-property-became-not-enum': { level: 'warning', description: "a response property's list of values was lifted: clients may get values they do not handle" },
  'response-property-became-nullable': { level: 'breaking', description: 'a response property can now be null (3.0 nullable or 3.1 type null)' },
  'response-property-became-not-nullable': { level: 'info', description: 'a response property can no longer be null' },
  'response-property-pattern-added': { level: 'info', description: 'a pattern was added to a response property' },
  'response-property-pattern-changed': { level: 'warning', description: "a response property's pattern changed (whether it is wider cannot be told)" },
  'response-property-pattern-removed': { level: 'breaking', description: "a response property's pattern was removed: values of any shape may come back" },
  'response-property-max-increased': { level: 'breaking', description: "a response property's maximum was raised or removed" },
  'response-property-max-decreased': { level: 'info', description: "a response property's maximum was lowered or set" },
  'response-property-min-decreased': { level: 'breaking', description: "a response property's minimum was lowered or removed" },
  'response-property-min-increased': { level: 'info', description: "a response property's minimum was raised or set" },
  'response-property-max-length-increased': { level: 'breaking', description: "a response property's maxLength was raised or removed" },
  'response-property-max-length-decreased': { level: 'info', description: "a response property's maxLength was lowered or set" },
  'response-property-min-length-decreased': { level: 'breaking', description: "a response property's minLength was lowered or removed" },
  'response-property-min-length-increased': { level: 'info', description: "a response property's minLength was raised or set" },
  'response-property-max-items-increased': { level: 'breaking', description: "a response array's maxItems was raised or removed" },
  'response-property-max-items-decreased': { level: 'info', description: "a response array's maxItems was lowered or set" },
  'response-property-min-items-decreased': { level: 'breaking', description: "a response array's minItems was lowered or removed" },
  'response-property-min-items-increased': { level: 'info', description: "a response array's minItems was raised or set" },
  'response-required-property-became-write-only': { level: 'breaking', description: 'a required response property became writeOnly: it is no longer returned' },
  'response-optional-property-became-write-only': { level: 'warning', description: 'an optional response property became writeOnly: it is no longer returned' },
  'response-property-became-not-write-only': { level: 'info', description: 'a writeOnly property is now returned in responses' },
  'response-property-one-of-added': { level: 'breaking', description: 'an alternative was added to a oneOf in a response: clients may get a shape they do not handle' },
  'response-property-one-of-removed': { level: 'info', description: 'an alternative was removed from a oneOf in a response' },
  'response-property-any-of-added': { level: 'breaking', description: 'an alternative was added to an anyOf in a response: clients may get a shape they do not handle' },
  'response-property-any-of-removed': { level: 'info', description: 'an alternative was removed from an anyOf in a response' },
  'response-property-all-of-added': { level: 'info', description: 'a member was added to an allOf in a response' },
  'response-property-all-of-removed': { level: 'warning', description: 'a member was removed from an allOf in a response (what it widens is reported on its own)' },

  // Security
  'api-security-added': { level: 'breaking', description: "an operation's security requirement was added or tightened (it was anonymous, or a scheme joined a requirement)" },
  'api-security-removed': { level: 'breaking', description: 'an operation no longer accepts a way of authenticating it accepted' },
  'api-security-scope-added': { level: 'breaking', description: "a scope was added to an operation's security requirement" },
  'api-security-scope-removed': { level: 'info', description: "a scope was removed from an operation's security requirement" },
  'api-security-relaxed': { level: 'info', description: 'an operation accepts a way of authenticating it did not (an alternative added, a scheme dropped, or no authentication)' },
  'api-global-security-added': { level: 'breaking', description: 'the document-wide security requirement was added or tightened' },
  'api-global-security-removed': { level: 'breaking', description: 'the document-wide security no longer accepts a way of authenticating it accepted' },
  'api-global-security-scope-added': { level: 'breaking', description: 'a scope was added to the document-wide security requirement' },
  'api-global-security-scope-removed': { level: 'info', description: 'a scope was removed from the document-wide security requirement' },
  'api-global-security-relaxed': { level: 'info', description: 'the document-wide security accepts a way of authenticating it did not' },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;

export function isRuleId(id: string): id is RuleId {
  return Object.hasOwn(RULES, id);
}

export function levelOf(id: RuleId): Level {
  return RULES[id].level;
}

/** Looks up an id built from parts (e.g. a prefix and a change); throws if the catalogue lacks it. */
export function ruleId(id: string): RuleId {
  if (!isRuleId(id)) throw new Error(`api-diff: no rule '${id}' in the catalogue`);
  return id;
}
