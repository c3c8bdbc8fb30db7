/**
 * Tunables of the Merkle tree builder, each once, with its unit and the reason for its default.
 */

/**
 * Below this many leaves the tree is built on the calling thread: starting a worker (which loads
 * the TypeScript loader and this module again) costs ~100-200 ms, more than hashing 10,000 leaves.
 */
export const MERKLE_PARALLEL_MIN_LEAVES = 16_384;

/**
 * A tree level with fewer internal nodes than this is hashed on the calling thread alone: a round
 * trip to a worker costs more than hashing ~1,000 nodes (≈3 µs each).
 */
export const MERKLE_PARALLEL_MIN_LEVEL_NODES = 4_096;

/**
 * Default number of extra hashing threads: all cores but the calling thread, which hashes a share
 * too. Capped because keccak work splits evenly and more threads than cores only adds switching.
 */
export const MERKLE_MAX_WORKERS = 8;

/**
 * Leaves per chunk claimed by a hashing thread: ~6 ms of work, small enough to balance two threads
 * within a few ms, large enough that claiming (one atomic add) costs nothing.
 */
export const MERKLE_LEAF_CHUNK = 1_024;

/** Internal nodes per chunk claimed by a hashing thread (~3 µs each, so ~6 ms a chunk). */
export const MERKLE_NODE_CHUNK = 2_048;
