/**
 * What every resource method returns: a promise of the parsed body, which can also give the raw
 * `Response` and the request id with `.withResponse()`. The request starts when the method is
 * called, not when the promise is awaited.
 */

/** One finished call: the parsed body and the response it came from. */
export interface APIResult<T> {
  readonly data: T;
  readonly response: Response;
}

export interface WithResponse<T> {
  readonly data: T;
  /** The final attempt's response (its body has been read). */
  readonly response: Response;
  /** The `Request-Id` the API gave the final attempt. */
  readonly requestId: string | null;
}

export class APIPromise<T> implements Promise<T> {
  readonly #result: Promise<APIResult<T>>;
  #data: Promise<T> | undefined;

  constructor(result: Promise<APIResult<T>>) {
    this.#result = result;
  }

  /** The parsed body with the raw response and its request id. */
  withResponse(): Promise<WithResponse<T>> {
    return this.#result.then(({ data, response }) => ({ data, response, requestId: response.headers.get('request-id') }));
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#parsed().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#parsed().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#parsed().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'APIPromise';
  }

  #parsed(): Promise<T> {
    this.#data ??= this.#result.then((r) => r.data);
    return this.#data;
  }
}
