/** One problem with the configuration: the field (dotted path) and what is wrong with it. */
export interface ConfigIssue {
  field: string;
  message: string;
  /** Where the bad value came from: the file, an environment variable or a flag. */
  source?: string;
}

/** The configuration cannot be used; the message lists every issue, one per line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "CONFIG_INVALID";
  constructor(readonly issues: ConfigIssue[]) {
    super(
      issues
        .map(
          (i) => `config: ${i.field === "" ? "(root)" : i.field}: ${i.message}${i.source ? ` (from ${i.source})` : ""}`,
        )
        .join("\n"),
    );
  }
}

/** The config file is missing or unreadable. */
export class ConfigFileError extends Error {
  override readonly name = "ConfigFileError";
  readonly code = "CONFIG_FILE";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`config file ${path}: ${reason}`);
  }
}

/** The chain key could not be obtained (missing password, wrong password, malformed key). */
export class SecretError extends Error {
  override readonly name = "SecretError";
  readonly code = "SECRET";
}
