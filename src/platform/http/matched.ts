/**
 * What express-openapi-validator's operation match (the pipeline's `operationMatch`) leaves on a
 * request, read in one place: the matched operation's id and the path's parameters.
 */
import type { Request } from 'express';

type Matched = Request & {
  openapi?: { schema?: { operationId?: string; requestBody?: { content?: Record<string, unknown> }; 'x-error-format'?: string }; pathParams?: Record<string, string> };
};

/** The operationId the validator matched, if it matched one. */
export function matchedOperationId(req: Request): string | undefined {
  return (req as Matched).openapi?.schema?.operationId;
}

/** The matched path's parameters by name (`{ id: 'pay_…' }`); empty before a match. */
export function matchedPathParams(req: Request): Record<string, string> {
  return (req as Matched).openapi?.pathParams ?? {};
}

/** The media types the matched operation's request body may be sent in; none before a match or without a body. */
export function matchedBodyMediaTypes(req: Request): string[] {
  return Object.keys((req as Matched).openapi?.schema?.requestBody?.content ?? {});
}

/** The matched operation's `x-error-format` (`oauth` for the token endpoint), if it declares one. */
export function matchedErrorFormat(req: Request): string | undefined {
  return (req as Matched).openapi?.schema?.['x-error-format'];
}

/** Whether the matched operation takes a request body at all (required or optional). */
export function matchedTakesBody(req: Request): boolean {
  return (req as Matched).openapi?.schema?.requestBody !== undefined;
}
