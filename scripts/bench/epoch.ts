/**
 * `npm run bench:epoch` — Merkle tree building (ours vs OpenZeppelin's StandardMerkleTree in the same run, 100k
 * and 1M leaves, peak RSS) and the close of an epoch with 10,000 contributors on a local chain.
 * One JSON object per line.
 */
import { benchMerkle } from "./epoch-merkle.ts";
import { benchEpochClose } from "./lib/epoch-close.ts";
import { printMetrics } from "./lib/metrics.ts";

printMetrics(await benchMerkle());
printMetrics(await benchEpochClose());
process.exit(0);
