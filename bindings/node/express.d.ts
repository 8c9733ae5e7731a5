import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Receipt, ReceiptKeys } from './index';

export interface ReceiptMiddlewareOptions {
  keys: ReceiptKeys;
  /** Oldest receipt accepted, seconds (default 300). */
  maxAge?: number;
  /** Paths served without a receipt (exact match, e.g. '/healthz'). */
  exemptPaths?: string[];
  /** Largest body read, bytes (413 above; default 10 MiB). */
  maxBody?: number;
  /** Parse JSON and form bodies into `req.body` (default true). */
  parseBody?: boolean;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** The raw body the receipt was verified against. */
    rawBody?: Buffer;
    /** The verified receipt. */
    piiEdgeReceipt?: Receipt;
  }
}

/** Express / Connect middleware: 403 problem+json for a request without a valid, fresh receipt. */
export function receiptMiddleware(
  options: ReceiptMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
