/**
 * Typed failures of paid demand. A voucher that is forged or names another channel is the consumer's fault
 * (`penalise`); one that is merely not higher than the best already held is not (two sessions of one channel may
 * deliver their vouchers out of order).
 */
export type PaymentErrorCode =
  | "ERR_INVALID_VOUCHER"
  | "ERR_STALE_VOUCHER"
  | "ERR_PAYMENT_REQUIRED"
  | "ERR_TOO_MANY_VOUCHERS"
  | "ERR_ACCOUNT_MISMATCH";

export abstract class PaymentError extends Error {
  abstract readonly code: PaymentErrorCode;
  abstract readonly penalise: boolean;
}

/** The voucher does not decode, is not signed by its consumer for this vault, or names another channel. */
export class InvalidVoucherError extends PaymentError {
  override readonly name = "InvalidVoucherError";
  readonly code = "ERR_INVALID_VOUCHER" as const;
  readonly penalise = true;
  constructor(reason: string) {
    super(`invalid voucher: ${reason}`);
  }
}

/** The voucher's cumulative amount is not above the highest one held for its channel. */
export class StaleVoucherError extends PaymentError {
  override readonly name = "StaleVoucherError";
  readonly code = "ERR_STALE_VOUCHER" as const;
  readonly penalise = false;
  constructor(
    readonly cumulativeAmount: bigint,
    readonly highest: bigint,
  ) {
    super(`voucher of ${cumulativeAmount} is not above the ${highest} already held for its channel`);
  }
}

/** The consumer owes more than the unpaid allowance (or its deposit does not cover its voucher). */
export class PaymentRequiredError extends PaymentError {
  override readonly name = "PaymentRequiredError";
  readonly code = "ERR_PAYMENT_REQUIRED" as const;
  readonly penalise = false;
  constructor(reason: string) {
    super(`payment required: ${reason}`);
  }
}

/** The consumer sent more voucher frames than parts it was sent plus the slack (each frame costs a recovery). */
export class TooManyVouchersError extends PaymentError {
  override readonly name = "TooManyVouchersError";
  readonly code = "ERR_TOO_MANY_VOUCHERS" as const;
  readonly penalise = true;
  constructor(
    readonly frames: number,
    readonly parts: number,
  ) {
    super(`too many vouchers: ${frames} voucher frames for ${parts} parts sent`);
  }
}

/**
 * The provider's Welcome names a payment account other than the reward account of its signed peer record: paying it
 * would pay a channel the provider's credit is not counted on (or someone else).
 */
export class PaymentAccountMismatchError extends PaymentError {
  override readonly name = "PaymentAccountMismatchError";
  readonly code = "ERR_ACCOUNT_MISMATCH" as const;
  readonly penalise = true;
  constructor(
    readonly provider: string,
    readonly welcomed: string,
    readonly recorded: string | undefined,
  ) {
    super(
      `provider ${provider} asks to be paid on ${welcomed}, its signed record names ` +
        `${recorded ?? "no reward account (no valid record)"}`,
    );
  }
}
