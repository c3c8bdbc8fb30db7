/** Response helpers shared by the API's routes: JSON bodies, no caching, the same security headers everywhere. */
import type { ServerResponse } from "node:http";

export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
};

export function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...SECURITY_HEADERS,
  });
  res.end(head ? undefined : body);
}

export const json = (res: ServerResponse, status: number, body: unknown, head = false): void =>
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), head);

/** `{ error: { code, message, field? } }`, the shape of every API error. */
export function jsonError(res: ServerResponse, status: number, code: string, message: string, field?: string): void {
  json(res, status, { error: { code, message, ...(field !== undefined && { field }) } });
}
