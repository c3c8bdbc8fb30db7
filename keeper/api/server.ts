/**
 * The keeper's HTTP API (node:http, loopback by default): the dashboard (/), its live feed (/events,
 * server-sent events), JSON (/api/status, /api/peers, /api/tasks, /api/transfers, /api/epochs,
 * /api/rewards), Prometheus metrics (/metrics), /healthz, then any mounted routes (the proofs API:
 * /proofs/<epoch>/<account>, /epochs/<epoch>, /epochs/<epoch>/{rewards,tasks}.json). With a token (what `start` passes), also the operator's
 * write routes (operator.ts: publish, transfers, epoch close), from loopback only; without one, read-only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { DirectoryProofSource } from "../epochs/proofs/source.ts";
import type { Keeper } from "../keeper.ts";
import type { Logger } from "../logger.ts";
import { MAX_EVENT_CLIENTS, STATUS_PUSH_INTERVAL_MS, THROUGHPUT_WINDOW_MS } from "./constants.ts";
import { OperatorCounters } from "../operator-counters.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard.ts";
import { json, jsonError, SECURITY_HEADERS, send } from "./http.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { hostAllowed } from "./host.ts";
import { OperatorRoutes } from "./operator.ts";
import { proofsHandler, type RouteHandler } from "./proofs.ts";
import {
  healthView,
  dhtSize,
  epochsView,
  limitsView,
  peersView,
  rewardsView,
  tasksView,
  taskView,
  transfersView,
  type EpochSource,
  type StatusView,
} from "./snapshot.ts";

export interface ApiServerInit {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Published epochs (epoch.json, rewards.json, tasks.json): shown on the dashboard, served at /proofs and /epochs. */
  epochsDir?: string;
  /** On-chain epoch status (pending / claimable, tx hashes), when the chain module provides it. */
  epochSource?: EpochSource;
  /** Extra routes tried after ours (the proofs routes are added for `epochsDir` unless `routes` is given). */
  routes?: RouteHandler[];
  pushIntervalMs?: number;
  /** Bearer token of the write routes (POST /api/publish, /api/transfers, /api/epochs/close); none: read-only. */
  token?: string;
  /** Host names accepted besides the listen host and loopback names (api.allowedHosts; see host.ts). */
  allowedHosts?: string[];
  /** Directories POST /api/publish may read files from (api.publishDirs); none: publishing is refused. */
  publishDirs?: string[];
}

export interface ApiServerComponents {
  keeper: Keeper;
  logger: Logger;
  /** Hooks for the chain and epoch submission modules; fresh counters when absent. */
  counters?: OperatorCounters;
}

export class ApiServer {
  readonly counters: OperatorCounters;
  private readonly keeper: Keeper;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly routes: RouteHandler[];
  private readonly operator: OperatorRoutes | undefined;
  private readonly clients = new Set<ServerResponse>();
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private readonly startedAt = Date.now();
  private pushTimer: NodeJS.Timeout | undefined;

  constructor(
    components: ApiServerComponents,
    private readonly init: ApiServerInit = {},
  ) {
    this.keeper = components.keeper;
    this.log = components.logger.child("api");
    this.counters = components.counters ?? components.keeper.operatorCounters ?? new OperatorCounters();
    this.routes =
      init.routes ??
      (init.epochsDir !== undefined ? [proofsHandler(new DirectoryProofSource(init.epochsDir), this.log)] : []);
    this.operator =
      init.token !== undefined
        ? new OperatorRoutes(this.keeper, init.token, this.log, { publishDirs: init.publishDirs ?? [] })
        : undefined;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.throttled("api request failed", "warn", "api request failed", { path: req.url, error: err as Error });
        if (!res.headersSent) json(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
        else res.destroy();
      });
    });
  }

  /** http://host:port of the running server. */
  get url(): string {
    const a = this.server.address() as AddressInfo | null;
    if (a === null) throw new Error("api server not listening");
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.init.port ?? 0, this.init.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.pushTimer = setInterval(() => void this.push(), this.init.pushIntervalMs ?? STATUS_PUSH_INTERVAL_MS);
    this.pushTimer.unref();
    this.log.info("api listening", { url: this.url });
  }

  async stop(): Promise<void> {
    if (this.pushTimer !== undefined) clearInterval(this.pushTimer);
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Served + fetched bytes per second over the last THROUGHPUT_WINDOW_MS. */
  private throughput(bytes: number): number {
    const now = Date.now();
    this.samples.push({ t: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1]!.t >= THROUGHPUT_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }

  async status(): Promise<StatusView> {
    const k = this.keeper;
    const transfers = transfersView(k);
    const epochs = await epochsView(k, this.init.epochsDir, this.init.epochSource ?? k.epochSource);
    return {
      peerId: k.peerId.toString(),
      addresses: k.addresses,
      epoch: k.epoch,
      startedAt: this.startedAt,
      now: Date.now(),
      rewardAddress: k.config.rewardAddress,
      capabilities: [...k.config.capabilities],
      dht: { routingTableSize: dhtSize(k) },
      connections: k.node.getConnections().length,
      peers: peersView(k),
      tasks: tasksView(k),
      transfers: { ...transfers, throughputBps: this.throughput(transfers.bytesServed + transfers.bytesFetched) },
      epochs,
      rewards: await rewardsView(k, this.init.epochsDir, epochs),
      counters: this.counters.snapshot(),
      chain: k.chainStatus(),
      refusals: k.execution.refusals(),
      audits: k.audits.stats(),
      limits: limitsView(k),
      health: { ...k.health.metrics },
      healthMembers: k.health.counts(),
      directory: { ...k.discovery.exchangeStats },
    };
  }

  private async push(): Promise<void> {
    if (this.clients.size === 0) return;
    let data: string;
    try {
      data = JSON.stringify(await this.status());
    } catch (err) {
      this.log.debug("status push skipped", { error: err as Error });
      return;
    }
    for (const c of this.clients) c.write(`event: status\ndata: ${data}\n\n`);
  }

  private async events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.clients.size >= MAX_EVENT_CLIENTS)
      return json(res, 503, { error: { code: "BUSY", message: "too many event clients" } });
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
      ...SECURITY_HEADERS,
    });
    res.write(`retry: 2000\nevent: status\ndata: ${JSON.stringify(await this.status())}\n\n`);
    this.clients.add(res);
    req.on("close", () => this.clients.delete(res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const policy = {
      listenHost: this.init.host ?? "127.0.0.1",
      port: () => (this.server.address() as AddressInfo).port,
      allowedHosts: this.init.allowedHosts,
    };
    if (!hostAllowed(req.headers.host, policy)) {
      this.log.throttled("host refused", "warn", "request refused: Host not served here", {
        host: String(req.headers.host ?? "").slice(0, 100),
      });
      return jsonError(
        res,
        421,
        "HOST_NOT_ALLOWED",
        "this keeper's API does not answer to that Host (add the name to api.allowedHosts)",
      );
    }
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      return jsonError(res, 400, "BAD_REQUEST", "malformed request target");
    }
    const head = req.method === "HEAD";
    if (req.method === "POST" && this.operator !== undefined && (await this.operator.handle(req, res, path))) return;
    if (req.method !== "GET" && !head) {
      res.setHeader("allow", "GET, HEAD");
      return jsonError(res, 405, "METHOD_NOT_ALLOWED", "read-only route: use GET");
    }
    const k = this.keeper;
    switch (path) {
      case "/":
      case "/index.html":
        return send(res, 200, "text/html; charset=utf-8", DASHBOARD_HTML, head);
      case "/dashboard.js":
        return send(res, 200, "text/javascript; charset=utf-8", DASHBOARD_JS, head);
      case "/dashboard.css":
        return send(res, 200, "text/css; charset=utf-8", DASHBOARD_CSS, head);
      case "/healthz":
        // The process answers: 200. What is wrong outside it (the chain) is said, never hidden, in the body.
        return json(res, 200, healthView(this.keeper.chainStatus()), head);
      case "/events":
        return this.events(req, res);
      case "/metrics":
        return send(res, 200, METRICS_CONTENT_TYPE, renderMetrics(await this.status()), head);
      case "/api/status":
        return json(res, 200, await this.status(), head);
      case "/api/peers":
        return json(res, 200, { peers: peersView(k), dht: { routingTableSize: dhtSize(k) } }, head);
      case "/api/tasks":
        return json(res, 200, { ...tasksView(k), transfers: transfersView(k) }, head);
      case "/api/transfers":
        return json(res, 200, transfersView(k), head);
      case "/api/epochs": {
        const epochs = await epochsView(k, this.init.epochsDir, this.init.epochSource ?? k.epochSource);
        return json(res, 200, { epoch: k.epoch, epochs }, head);
      }
      case "/api/rewards": {
        const epochs = await epochsView(k, this.init.epochsDir, this.init.epochSource ?? k.epochSource);
        return json(
          res,
          200,
          { account: k.config.rewardAddress, rewards: await rewardsView(k, this.init.epochsDir, epochs) },
          head,
        );
      }
    }
    const task = /^\/api\/tasks\/([^/]+)$/.exec(path);
    if (task !== null) {
      const view = taskView(k, task[1]!);
      return view === undefined
        ? jsonError(res, 404, "TASK_UNKNOWN", `no task ${task[1]}`)
        : json(res, 200, view, head);
    }
    for (const route of this.routes) if (await route(req, res)) return;
    json(res, 404, { error: { code: "NOT_FOUND", message: `no route ${path}` } });
  }
}

/** Factory in the keeper's composition style: `apiServer(init)(components)`. */
export function apiServer(init: ApiServerInit = {}): (components: ApiServerComponents) => ApiServer {
  return (components) => new ApiServer(components, init);
}
