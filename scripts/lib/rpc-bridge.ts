/**
 * Serves an in-process Hardhat network over JSON-RPC on 127.0.0.1, so keepers reach it the way they reach any
 * node (`http://127.0.0.1:<port>`), while the script that owns the network can still time-travel it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

interface RpcRequest {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

async function answer(provider: Eip1193Provider, req: RpcRequest): Promise<object> {
  const id = req.id ?? null;
  if (typeof req.method !== "string")
    return { jsonrpc: "2.0", id, error: { code: -32600, message: "invalid request" } };
  try {
    const result = await provider.request({ method: req.method, params: (req.params as unknown[]) ?? [] });
    return { jsonrpc: "2.0", id, result: result ?? null };
  } catch (err) {
    const e = err as { code?: number; message?: string; data?: unknown };
    return { jsonrpc: "2.0", id, error: { code: e.code ?? -32603, message: e.message ?? String(err), data: e.data } };
  }
}

export async function serveJsonRpc(
  provider: Eip1193Provider,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res
          .writeHead(400, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }));
        return;
      }
      const out = Array.isArray(body)
        ? await Promise.all(body.map((r) => answer(provider, r as RpcRequest)))
        : await answer(provider, body as RpcRequest);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? "0x" + v.toString(16) : v)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
