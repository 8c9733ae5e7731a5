// Type declarations of the pii-edge Node.js package (bindings/node). Every operation runs in
// pii-core (Rust) through the pii_edge_origin.node addon.

/** `[name, value]` pairs, a Node.js headers object (`req.headers`), `req.rawHeaders`, or a Map/Headers. */
export type HeadersInput =
  | Array<[string, string]>
  | string[]
  | Record<string, string | string[] | undefined>
  | Iterable<[string, string]>;

export type Body = Buffer | Uint8Array | string;
export type Kind = 'text' | 'string' | 'number' | 'bool' | 'null' | 'object' | 'array';

/** The receipt header's name. */
export const RECEIPT_HEADER: 'x-pii-edge-receipt';

/** Base class of every pii-edge error. Messages never carry a plaintext value or key material. */
export class PiiEdgeError extends Error {
  code?: string;
}
/** A key or key set was refused (named by position or kid). */
export class InvalidKeys extends PiiEdgeError {}
/** An envelope did not open; `location` is set when it was a value of a request. */
export class OpenError extends PiiEdgeError {
  location?: string;
}
export class Malformed extends OpenError {}
export class UnsupportedVersion extends OpenError {}
export class WrongZone extends OpenError {}
export class WrongPolicy extends OpenError {}
export class WrongLocation extends OpenError {}
export class NoKey extends OpenError {}
export class Tampered extends OpenError {}
/** Strict opening: `location` holds plaintext where the policy requires an envelope. */
export class PlaintextFound extends PiiEdgeError {
  location?: string;
}
/** Strict opening: the request cannot be inspected as the edge would. */
export class Uninspectable extends PiiEdgeError {}
export class LocationError extends PiiEdgeError {}
export class PolicyError extends PiiEdgeError {}
/**
 * No valid, fresh receipt. `code`: missing, repeated, malformed, unknown-key, bad-signature,
 * unsupported-version, expired, from-the-future, method, target, body, headers.
 */
export class ReceiptError extends PiiEdgeError {
  code: string;
}

/** Where a value is in a request: `json:$['user']['email']`, `header:x-national-id`, `query:email#1`. */
export class Location {
  /** Parses the text form; throws LocationError for any other spelling. */
  constructor(text: string);
  static parse(text: string): Location;
  static json(path: Array<string | number>): Location;
  static field(part: 'header' | 'query' | 'form' | 'cookie', name: string, index?: number): Location;
  readonly part: 'json' | 'header' | 'query' | 'form' | 'cookie';
  readonly name?: string;
  readonly index?: number;
  readonly path?: Array<string | number>;
  equals(other: unknown): boolean;
  /** The text form. */
  toString(): string;
  toJSON(): string;
}

/** Policy, zone and location a value was sealed for (authenticated inside the envelope). */
export interface Binding {
  readonly policy: string;
  readonly zone: string;
  readonly location: Location;
}

/** An opened value: `value` has its JSON type restored (a string for text). */
export class Opened {
  readonly value: unknown;
  readonly kind: Kind;
  readonly binding: Binding;
}

export interface RevealedField {
  readonly kind: Kind;
  readonly binding: Binding;
}

export interface RequestInput {
  method?: string;
  /** The path; may carry `?query` when `query` is absent. */
  path?: string;
  query?: string;
  headers?: HeadersInput;
  body?: Body;
}

export interface Revealed {
  method: string;
  path: string;
  query: string;
  headers: Array<[string, string]>;
  body: Buffer;
  fields: RevealedField[];
  readonly opened: number;
  /** The body parsed as JSON. */
  json(): unknown;
}

export interface RevealOptions {
  /** Every value must have been sealed by this policy. */
  policy?: string;
  /** Every value must have been sealed for this zone. */
  zone?: string;
  /** Refuse plaintext where these policies encrypt (PlaintextFound, Uninspectable). */
  strict?: Policies;
}

/** Policies compiled for strict opening. */
export class Policies {
  static fromFiles(paths: string | string[]): Policies;
  readonly names: string[];
}

/** The private X25519 keys of one region. */
export class PrivateKeyring {
  static fromJwks(text: string): PrivateKeyring;
  static fromFile(path: string): PrivateKeyring;
  readonly zones: string[];
  open(envelope: string): Opened;
  openExpecting(envelope: string, policy: string, zone: string, location: Location | string): Opened;
  reveal(request: RequestInput, options?: RevealOptions): Revealed;
  /** `reveal`, and fields at rest (`pr1.`) too, with their keys from `subjectKeys`; rejects with Erased after `forget`. */
  revealAtRest(request: RequestInput, options: RevealOptions & { subjectKeys: SubjectKeySource }): Promise<Revealed>;
  revealBody(body: Body, options?: RevealOptions & { contentType?: string }): Revealed;
}

/** The edge's public receipt keys (Ed25519 JWK or JWK Set). */
export class ReceiptKeys {
  static fromJwks(text: string): ReceiptKeys;
  static fromFile(path: string): ReceiptKeys;
  readonly kids: string[];
}

/** What the edge checked on a request. */
export interface Receipt {
  kid: string;
  issuedAt: number;
  requestId?: string;
  policy?: string;
  zone?: string;
  locations: string[];
  moreLocations: number;
  boundHeaders: string[];
  bodyBound: boolean;
}

/**
 * Verifies the edge's receipt on a request as the origin received it (docs/receipt.md):
 * `path` is the raw request target (`req.originalUrl`), `body` the raw body bytes.
 * Throws ReceiptError (with `code`).
 */
export function verifyReceipt(
  method: string,
  path: string,
  headers: HeadersInput,
  body: Body | undefined,
  keys: ReceiptKeys,
  maxAge?: number,
  options?: { now?: number },
): Receipt;

/** Header pairs from any accepted headers input. */
export function headerPairs(headers: HeadersInput): Array<[string, string]>;

/** Whether `text` has the form of an envelope (`pe<version>.` + base64url): syntax only, opens nothing. */
export function isEnvelope(text: string): boolean;

// --- erasure (docs/erasure.md, docs/at-rest.md) ---

/** The data subject was erased: the key of this field is destroyed, for good. */
export class Erased extends OpenError {}
/** The field at rest names another subject key than the one given. */
export class WrongKey extends OpenError {}
/** A subject id must be 1 to 255 bytes of UTF-8 without control characters. */
export class InvalidSubject extends PiiEdgeError {}
/** A token domain must be 1 to 64 bytes of a-z, 0-9 and -, parts joined by single dots. */
export class InvalidDomain extends PiiEdgeError {}
/** The value cannot be normalized with the steps given (not text, no digit, not an e-mail). */
export class Untokenizable extends PiiEdgeError {}

/** Normalization steps of a token (docs/policy.md, "normalize"). */
export type NormalizeStep = 'trim' | 'fullwidth' | 'casefold' | 'digits' | 'email-domain' | 'email-subaddress';

/** One data subject's 256-bit key, unwrapped in memory. */
export class SubjectKey {
  static generate(subject: string, created?: number): SubjectKey;
  static unwrap(keys: PrivateKeyring, wrapped: string): SubjectKey;
  wrap(keys: PrivateKeyring, zone: string): string;
  /** The per-subject token `ts1.<domain>.…` of `value` (docs/at-rest.md §7). */
  token(domain: string, value: string | Uint8Array, normalize?: NormalizeStep[]): string;
  readonly subject: string;
  readonly keyId: string;
  readonly created: number;
}

/** Signs erasure receipts with an Ed25519 private JWK. */
export class ErasureSigner {
  static fromJwk(text: string): ErasureSigner;
  readonly publicJwk: string;
  sign(by: string, subject: string, keyId: string, erasedAt?: number): string;
}

export interface VerifiedErasure {
  by: string;
  subject: string;
  keyId: string;
  erasedAt: number;
  signedBy: string;
}

export function rewrap(keys: PrivateKeyring, envelope: string, key: SubjectKey): string;
/** `rewrap` and the per-subject token of the same value: `[field, token]`. */
export function rewrapWithToken(keys: PrivateKeyring, envelope: string, key: SubjectKey, domain: string, normalize?: NormalizeStep[]): [string, string];
export function openAtRest(key: SubjectKey, text: string): Opened;
export function atRestHeader(text: string): [string, string];
export function isAtRest(value: unknown): boolean;
export function verifyErasure(receipt: string, keys: ReceiptKeys): VerifiedErasure;

/** One subject key as a key store holds it (docs/erasure.md §4). */
export interface KeyRecord {
  keyId: string;
  subject: string;
  /** Unix seconds. */
  created: number;
  /** `psk1.` text; null once erased. */
  wrapped: string | null;
  /** Unix seconds of the erasure; null while the key lives. */
  erasedAt: number | null;
}

/** Where `revealAtRest` gets the key a field at rest names (`SubjectKeys` is one). */
export interface SubjectKeySource {
  keyById(subject: string, keyId: string): SubjectKey | Promise<SubjectKey>;
}

/** The four operations of a key store, synchronous or returning promises. */
export interface KeyStore {
  live(subject: string): KeyRecord | null | Promise<KeyRecord | null>;
  get(keyId: string): KeyRecord | null | Promise<KeyRecord | null>;
  /** Store a new live key; when the subject already has one, keep it and return it. */
  create(record: KeyRecord): KeyRecord | Promise<KeyRecord>;
  /** Erase the subject's live key; the erased record, or null when it had none. */
  destroy(subject: string, erasedAt: number): KeyRecord | null | Promise<KeyRecord | null>;
}

/** A synchronous SQLite handle: better-sqlite3's `Database` or node:sqlite's `DatabaseSync`. */
export interface SqliteDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): { get(...args: unknown[]): unknown; run(...args: unknown[]): unknown };
}

/** The key store's table and index (the same as Python's `pii_edge.erasure.SCHEMA`). */
export const SCHEMA: string[];

/** Subject keys in a SQLite database (docs/decisions/0009); turns on `secure_delete`. */
export class SqliteKeyStore implements KeyStore {
  constructor(db: SqliteDatabase);
  live(subject: string): KeyRecord | null;
  get(keyId: string): KeyRecord | null;
  create(record: KeyRecord): KeyRecord;
  destroy(subject: string, erasedAt: number): KeyRecord | null;
}

/** What `PostgresKeyStore` needs of a node-postgres `Pool` or `Client` (`pg` is not a dependency). */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/**
 * Subject keys in PostgreSQL over the application's node-postgres `Pool` or `Client`
 * (docs/decisions/0009): the table and SQL of Python's `PostgresKeyStore`, so both languages
 * share one key store. The table is created on first use; `ready` settles once it exists.
 */
export class PostgresKeyStore implements KeyStore {
  constructor(pool: PostgresPool);
  readonly pool: PostgresPool;
  /** Settles when the table exists; rejects with the database's error (await it at startup). */
  readonly ready: Promise<void>;
  live(subject: string): Promise<KeyRecord | null>;
  get(keyId: string): Promise<KeyRecord | null>;
  create(record: KeyRecord): Promise<KeyRecord>;
  destroy(subject: string, erasedAt: number): Promise<KeyRecord | null>;
  /** `VACUUM` the table: reclaims old row versions that still hold erased keys (wrapped). */
  vacuum(): Promise<void>;
}

export interface Forgotten {
  subject: string;
  keyId: string;
  erasedAt: number;
  /** The signed erasure receipt, when the SubjectKeys has a signer. */
  receipt: string | null;
}

/** Rewrap, open, tokenize and forget with subject keys kept in a store (Python's `SubjectKeys`). */
export class SubjectKeys {
  constructor(store: KeyStore, keys: PrivateKeyring, zone: string, options?: { signer?: ErasureSigner; cacheSize?: number; cacheSeconds?: number });
  keyFor(subject: string): Promise<SubjectKey>;
  rewrap(subject: string, envelope: string): Promise<string>;
  rewrapWithToken(subject: string, envelope: string, domain: string, normalize?: NormalizeStep[]): Promise<[string, string]>;
  /** null when the subject has no live key: nothing stored can match. */
  token(subject: string, domain: string, value: string | Uint8Array, normalize?: NormalizeStep[]): Promise<string | null>;
  keyOf(text: string): Promise<SubjectKey>;
  /** Throws Erased when the key was destroyed, NoKey when the store has no record of it. */
  keyById(subject: string, keyId: string): Promise<SubjectKey>;
  /** Opens `pr1.` (with the subject's key; Erased after forget) and `pe2.`. */
  open(text: string): Promise<Opened>;
  forget(subject: string, by: string, now?: number): Promise<Forgotten | null>;
}
