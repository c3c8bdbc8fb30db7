/** Errors of the API's write routes: each carries the HTTP status and code it is answered with. */

/** A request body that does not validate; `field` names the first offending field ("body" for the whole). */
export class ApiBodyError extends Error {
  override readonly name = "ApiBodyError";
  readonly status = 400;
  readonly code = "INVALID_BODY";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
