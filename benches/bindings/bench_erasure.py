"""The Python figures of the erasure benchmark (erasure.sh, benches/README.md "Erasure"): per
field, opening the edge's envelope, rewrapping it to a subject key and opening the field at
rest with the pii-edge wheel; with the subject key cached, with an unwrap per field, and through
``SubjectKeys`` over a SQLite key store without cache (one SELECT and one unwrap per field).
Same timing method as the Rust figures: median over 15 rounds of at least 20 ms, µs per
operation. Prints one JSON line.

Usage: python bench_erasure.py AT_REST_VECTOR_JSON
"""

import json
import sys
import tempfile
from pathlib import Path

import pii_edge
from pii_edge.erasure import KeyRecord, SqliteKeyStore, SubjectKeys

from bench_reveal import median_us  # the same timing as the reveal benchmark


def main():
    v = json.loads(Path(sys.argv[1]).read_text())
    keys = pii_edge.PrivateKeyring.from_jwks(json.dumps(v["private_jwks"]))
    env, wrapped = v["envelope"], v["subject_key"]["wrapped"]
    key = pii_edge.SubjectKey.unwrap(keys, wrapped)
    field = pii_edge.rewrap(keys, env, key)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteKeyStore(f"{tmp}/keys.sqlite")
        store.create(KeyRecord(key.key_id, key.subject, key.created, wrapped, None))
        uncached = SubjectKeys(store, keys, "eu-central", cache_size=0)
        cached = SubjectKeys(store, keys, "eu-central")
        figures = {
            "impl": "python",
            "open_envelope_us": median_us(lambda: keys.open(env)),
            "rewrap_cached_us": median_us(lambda: pii_edge.rewrap(keys, env, key)),
            "rewrap_lookup_us": median_us(lambda: pii_edge.rewrap(keys, env, pii_edge.SubjectKey.unwrap(keys, wrapped))),
            "open_at_rest_cached_us": median_us(lambda: pii_edge.open_at_rest(key, field)),
            "open_at_rest_lookup_us": median_us(lambda: pii_edge.open_at_rest(pii_edge.SubjectKey.unwrap(keys, wrapped), field)),
            "subject_keys_open_sqlite_us": median_us(lambda: uncached.open(field)),
            "subject_keys_open_cached_us": median_us(lambda: cached.open(field)),
            "subject_keys_rewrap_cached_us": median_us(lambda: cached.rewrap(key.subject, env)),
            # Per-subject tokens (docs/at-rest.md §7), key cached.
            "token_cached_us": median_us(lambda: key.token("email", "alice@example.com", ["trim", "casefold"])),
            "rewrap_with_token_cached_us": median_us(
                lambda: pii_edge.rewrap_with_token(keys, env, key, "email", ["trim", "casefold"])
            ),
            "subject_keys_token_cached_us": median_us(
                lambda: cached.token(key.subject, "email", "alice@example.com", ["trim", "casefold"])
            ),
        }
        store.close()
    print(json.dumps({k: round(x, 2) if isinstance(x, float) else x for k, x in figures.items()}))


if __name__ == "__main__":
    main()
