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

/** A write the operator's configuration does not allow (403): `code` says which rule. */
export class ApiForbiddenError extends Error {
  override readonly name = "ApiForbiddenError";
  readonly status = 403;
  constructor(
    readonly code: "PUBLISH_DIRS_UNSET" | "PATH_NOT_ALLOWED",
    message: string,
  ) {
    super(message);
  }
}
