import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policies, PrivateKeyring, Receipt, ReceiptKeys, RevealOptions, Revealed, SubjectKeySource } from './index';

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
  /**
   * Strict opening: open the request and refuse one in which a location the policies encrypt
   * holds plaintext (422 `plaintext-found`) or that cannot be inspected (400 `uninspectable`).
   * The opened request is `req.piiEdgeRevealed`.
   */
  strict?: { keyring: PrivateKeyring; policies: Policies };
}

declare module 'node:http' {
  interface IncomingMessage {
    /** The raw body the receipt was verified against. */
    rawBody?: Buffer;
    /** The verified receipt. */
    piiEdgeReceipt?: Receipt;
    /** With `strict`: the request with every envelope opened. */
    piiEdgeRevealed?: Revealed;
  }
}

/** Express / Connect middleware: 403 problem+json for a request without a valid, fresh receipt. */
export function receiptMiddleware(
  options: ReceiptMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Opens every envelope of a request as it arrived (method, `originalUrl`, `rawHeaders`, the raw
 * body kept by `receiptMiddleware` or a Buffer from `express.raw()`). TypeError without a raw body.
 */
export function revealRequest(
  keyring: PrivateKeyring,
  req: IncomingMessage,
  options?: RevealOptions,
): Revealed;

/**
 * `revealRequest`, and the fields at rest (`pr1.`) of the request too, with their subject keys
 * from `subjectKeys` (`PrivateKeyring.revealAtRest`); rejects with Erased after `forget`.
 */
export function revealRequestAtRest(
  keyring: PrivateKeyring,
  req: IncomingMessage,
  options: RevealOptions & { subjectKeys: SubjectKeySource },
): Promise<Revealed>;
