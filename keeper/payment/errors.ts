/**
 * Typed failures of paid demand. A voucher that is forged or names another channel is the consumer's fault
 * (`penalise`); one that is merely not higher than the best already held is not (two sessions of one channel may
 * deliver their vouchers out of order).
 */
export type PaymentErrorCode = "ERR_INVALID_VOUCHER" | "ERR_STALE_VOUCHER" | "ERR_PAYMENT_REQUIRED";

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
