/**
 * Failures of epoch tree building and publication. One class per failure, each with the fields a
 * caller needs to report or fix the offending input.
 */

/** A tree needs at least one leaf: StandardMerkleTree has no root for an empty set either. */
export class MerkleEmptyTreeError extends Error {
  override readonly name = "MerkleEmptyTreeError";
  constructor() {
    super("cannot build a Merkle tree without leaves");
  }
}

/** The leaf encoding names a type the fast encoder does not handle (dynamic, signed, bool, …). */
export class MerkleUnsupportedTypeError extends Error {
  override readonly name = "MerkleUnsupportedTypeError";
  constructor(
    readonly type: string,
    readonly position: number,
  ) {
    super(
      `unsupported leaf type "${type}" at position ${position}: only uint8..uint256, address and bytes1..bytes32 are encoded`,
    );
  }
}

/** A value does not have as many fields as the leaf encoding has types. */
export class MerkleLeafArityError extends Error {
  override readonly name = "MerkleLeafArityError";
  constructor(
    readonly valueIndex: number,
    readonly expected: number,
    readonly actual: number | undefined,
  ) {
    super(
      actual === undefined
        ? `leaf ${valueIndex} is not an array of ${expected} fields`
        : `leaf ${valueIndex} has ${actual} fields, the encoding has ${expected}`,
    );
  }
}

/** One field of a value cannot be encoded as its type (wrong kind, bad hex, out of range). */
export class MerkleLeafValueError extends Error {
  override readonly name = "MerkleLeafValueError";
  constructor(
    readonly valueIndex: number,
    readonly field: number,
    readonly type: string,
    readonly reason: string,
  ) {
    super(`leaf ${valueIndex} field ${field} (${type}): ${reason}`);
  }
}

/** A proof or leaf hash was asked for a value index the tree does not have. */
export class MerkleIndexError extends Error {
  override readonly name = "MerkleIndexError";
  constructor(
    readonly valueIndex: number,
    readonly size: number,
  ) {
    super(`value index ${valueIndex} is out of range for a tree of ${size} leaves`);
  }
}

/** A hashing worker thread failed or exited before finishing its share. */
export class MerkleWorkerError extends Error {
  override readonly name = "MerkleWorkerError";
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`merkle worker failed: ${reason}`, options);
  }
}
