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

/** Another keeper (a live process) holds the data dir's lock: two keepers must never share a data dir. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly code = "DATA_DIR_LOCKED";
  constructor(
    readonly dataDir: string,
    /** The holder's pid (-1 if unreadable). */
    readonly pid: number,
    readonly lockFile: string,
    /** Set when the holder runs on another host (a shared folder): its liveness cannot be checked from here. */
    readonly host?: string,
  ) {
    super(
      host === undefined
        ? `data dir ${dataDir} is in use by keeper pid ${pid}; stop it first`
        : `data dir ${dataDir} is in use by keeper pid ${pid} on host ${host}; stop it first ` +
            `(if that keeper is gone, remove ${lockFile})`,
    );
  }
}
