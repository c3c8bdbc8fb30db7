/**
 * `npm run bench:network` — routing selection, task-manager assignment throughput, libp2p dial latency between
 * two processes, DHT lookups in 20- and 50-node loopback networks, signed-record put/get success.
 * One JSON object per line.
 */
import { printMetrics } from "./lib/metrics.ts";
import { benchP2p } from "./lib/p2p.ts";
import { benchRouting } from "./lib/routing.ts";

printMetrics(await benchRouting());
printMetrics(await benchP2p());
process.exit(0);
