/**
 * An input that cannot be compared: unreadable, not YAML or JSON, not an OpenAPI 3 document, or
 * with a reference that cannot be followed. The CLI turns it into exit status 2.
 */
export class SpecError extends Error {
  constructor(
    /** The source as given: a path or `git-ref:path`. */
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'SpecError';
  }
}
