import { createHash, createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from "node:crypto";

/** 32 random bytes, base64url: 256 bits, far past guessing. */
export function newSecretToken(prefix = ""): string {
  return prefix + randomBase64url(32);
}

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * `bytes` random bytes from the CSPRNG, base64url. Drawn from a pool refilled 4 KB at a time:
 * every survey page takes two of these, and one call to the generator per token cost ten times
 * what the pool does. Each byte is handed out once.
 */
export function randomBase64url(bytes: number): string {
  if (!(Number.isInteger(bytes) && bytes >= 1 && bytes <= POOL_BYTES)) throw new RangeError(`randomBase64url: ${bytes} bytes`);
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const text = pool.toString("base64url", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return text;
}

/**
 * Session ids and API tokens are high-entropy, so a plain SHA-256 is enough to make a stolen
 * database useless (no salt or slow hash needed, unlike passwords).
 */
export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** The last secrets' keys: building the key from the text is a fifth of an HMAC's cost. */
const keys = new Map<string, KeyObject>();
const KEYS_KEPT = 64;

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= KEYS_KEPT) keys.clear();
    key = createSecretKey(Buffer.from(secret, "utf8"));
    keys.set(secret, key);
  }
  return key;
}

export function hmac(secret: string, value: string): string {
  return createHmac("sha256", keyOf(secret)).update(value).digest("base64url");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
