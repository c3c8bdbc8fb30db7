export class StoreMigrationError extends Error {
  override readonly name = "StoreMigrationError";
  constructor(
    readonly namespace: string,
    readonly version: number,
    reason: string,
  ) {
    super(`migration ${namespace}#${version} rejected: ${reason}`);
  }
}
