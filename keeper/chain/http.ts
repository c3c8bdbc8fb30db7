/**
 * The chain client's HTTP transport (an ethers `FetchGetUrlFunc`): every JSON-RPC request of one Chain goes
 * through one keep-alive agent holding at most `maxSockets` sockets — requests beyond that wait for a free
 * socket instead of opening another — with a deadline on the whole request (the wait for a socket included),
 * after which the request is destroyed and its socket with it, and a cap on the response body.
 *
 * Why not ethers' own Node transport: on a timeout it rejects but leaves the request and its socket open until
 * the node answers (its abort signal is handed to `http.request` under an option name Node ignores), and it uses
 * the global agent, which has no socket limit. Against a slow RPC node every retry then opened one more socket:
 * ~480 in a soak (issue 13).
 */
import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";

import { makeError, type FetchCancelSignal, type FetchRequest, type GetUrlResponse } from "ethers";

import { RPC_IDLE_SOCKET_MS, RPC_MAX_RESPONSE_BYTES, RPC_MAX_SOCKETS } from "./constants.ts";

export interface RpcTransportInit {
  /** Sockets open at once to the node, in use or idle (default RPC_MAX_SOCKETS). */
  maxSockets?: number;
  /** A response body above this is refused (default RPC_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
  /** An idle keep-alive socket is closed after this (default RPC_IDLE_SOCKET_MS). */
  idleSocketMs?: number;
}

export class RpcTransport {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly maxResponseBytes: number;
  readonly maxSockets: number;

  constructor(init: RpcTransportInit = {}) {
    this.maxSockets = init.maxSockets ?? RPC_MAX_SOCKETS;
    if (!Number.isInteger(this.maxSockets) || this.maxSockets < 1)
      throw new RangeError(`maxSockets must be an integer ≥ 1, got ${this.maxSockets}`);
    this.maxResponseBytes = init.maxResponseBytes ?? RPC_MAX_RESPONSE_BYTES;
    const options = {
      keepAlive: true,
      // maxTotalSockets bounds the sum over hosts too: one RPC URL is one host, but a redirect could add another.
      maxSockets: this.maxSockets,
      maxTotalSockets: this.maxSockets,
      maxFreeSockets: this.maxSockets,
      timeout: init.idleSocketMs ?? RPC_IDLE_SOCKET_MS,
    };
    this.agents = { http: new http.Agent(options), https: new https.Agent(options) };
  }

  /** Sockets open now (in use and idle), over both agents. */
  openSockets(): number {
    let n = 0;
    for (const agent of [this.agents.http, this.agents.https]) {
      for (const list of [agent.sockets, agent.freeSockets]) for (const s of Object.values(list)) n += s?.length ?? 0;
    }
    return n;
  }

  /** Requests waiting for a socket. */
  waiting(): number {
    let n = 0;
    for (const agent of [this.agents.http, this.agents.https])
      for (const q of Object.values(agent.requests)) n += q?.length ?? 0;
    return n;
  }

  /** Closes every socket; requests still in flight fail. */
  destroy(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** The ethers transport: set it as a FetchRequest's `getUrlFunc`. */
  readonly getUrl = (req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> => {
    const url = new URL(req.url);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:")
      return Promise.reject(makeError(`unsupported protocol ${url.protocol}`, "UNSUPPORTED_OPERATION"));
    if (signal?.cancelled) return Promise.reject(makeError("request cancelled before sending", "CANCELLED"));
    return new Promise<GetUrlResponse>((resolve, reject) => {
      const request = (secure ? https : http).request(url, {
        method: req.method,
        headers: { ...req.headers },
        agent: secure ? this.agents.https : this.agents.http,
      });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        // Destroying the request closes its socket (a socket with an unread response cannot be reused) or, when it
        // still waits for one, takes it out of the agent's queue.
        request.destroy();
        reject(err);
      };
      // The whole request, the wait for a socket included: a caller's deadline is not extended by the queue.
      const deadline = setTimeout(() => fail(makeError("request timeout", "TIMEOUT")), req.timeout);
      signal?.addListener(() => fail(makeError("request cancelled", "CANCELLED")));
      request.on("error", (err) => fail(err));
      request.on("response", (resp) => {
        const chunks: Buffer[] = [];
        let size = 0;
        resp.on("data", (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > this.maxResponseBytes)
            fail(makeError(`response above ${this.maxResponseBytes} bytes`, "SERVER_ERROR"));
          else chunks.push(chunk);
        });
        resp.on("error", (err) => fail(err));
        resp.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(resp.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
          let body: Uint8Array | null = size === 0 ? null : new Uint8Array(Buffer.concat(chunks, size));
          // ethers asks for gzip; the cap holds for what it inflates to as well.
          if (body !== null && headers["content-encoding"] === "gzip") {
            try {
              body = new Uint8Array(gunzipSync(body, { maxOutputLength: this.maxResponseBytes }));
            } catch (err) {
              reject(makeError("bad response data", "SERVER_ERROR", { info: { error: err } }));
              return;
            }
          }
          resolve({ statusCode: resp.statusCode ?? 0, statusMessage: resp.statusMessage ?? "", headers, body });
        });
      });
      if (req.body !== null) request.write(req.body);
      request.end();
    });
  };
}
