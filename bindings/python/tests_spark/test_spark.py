"""pii_edge.spark on a real local Spark (local[2]) over the table `bulk_table` generated
(scripts/test-spark.sh): the rotation runbook of docs/bulk.md end to end, and the check of an
erasure (`verify_erased`) over rows stored at rest under subject keys beside the table.

PII_EDGE_BULK_DIR holds table.csv, the key files and expected.json. Every value that is opened
is checked against the generator's SHA-256 column inside Spark, so no plaintext reaches the
driver; the event log is then searched for the values' marker words and the keys' secrets.
"""

import base64
import glob
import json
import os
import secrets
import sys
import time

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

import pii_edge
from pii_edge import spark as pes

BULK = os.environ.get("PII_EDGE_BULK_DIR", "")
COLUMNS = ["email", "name"]
# Every sealed value holds "sealedcanary", every value in clear "clearcanary": neither may
# appear in the event log or the driver's output (scripts/test-spark.sh greps that).
MARKERS = [b"sealedcanary", b"Sealedcanary", b"clearcanary"]

pytestmark = pytest.mark.skipif(not BULK, reason="PII_EDGE_BULK_DIR not set (scripts/test-spark.sh)")


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(BULK, "expected.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def event_log(tmp_path_factory):
    return str(tmp_path_factory.mktemp("spark-events"))


@pytest.fixture(scope="module")
def spark(event_log):
    # The executors' Python workers: this interpreter (the venv with the wheel and pyarrow).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("pii-edge-bulk-test")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", "file://" + event_log)
        .config("spark.eventLog.compress", "false")  # searched below
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()


def table(spark):
    schema = StructType(
        [StructField("id", LongType(), False)]
        + [StructField(n, StringType(), True) for n in ("email", "name", "email_sha256", "name_sha256")]
    )
    return spark.read.csv(os.path.join(BULK, "table.csv"), header=True, schema=schema)


def audit_counts(spark, df):
    rows = pes.audit(df, COLUMNS).collect()
    return {(r["column"], r["class"], r["zone"] or "", r["policy"] or "", r["kids"] or "", r["detector"] or ""): r["count"] for r in rows}


def expected_counts(expected):
    out = {}
    for c in expected["counts"]:
        detector = "email" if c["class"] == "plaintext" else ""
        out[(c["column"], c["class"], c["zone"], c["policy"], c["kids"], detector)] = c["count"]
    return out


def path(name):
    return os.path.join(BULK, name)


def test_rotation_runbook(spark, expected, tmp_path, event_log):
    timings = {}
    df = table(spark)

    # 1. Audit before: counts match the generator's, the retired key is named.
    t = time.perf_counter()
    before = audit_counts(spark, df)
    timings["audit"] = time.perf_counter() - t
    assert before == expected_counts(expected)
    retired = expected["retired_kid_prefix"]
    assert any(retired in k[4] for k in before)

    # 2. Rewrap with the old and new private keys to the public keys (the newest of each
    #    region seals): only the fields sealed to the retired key change.
    t = time.perf_counter()
    rewrapped_dir = str(tmp_path / "rewrapped")
    pes.rewrap(df, COLUMNS, path("private-all.jwks"), path("public.jwks")).write.parquet(rewrapped_dir)
    timings["rewrap"] = time.perf_counter() - t
    rewrapped = spark.read.parquet(rewrapped_dir)
    statuses = {
        (r["c"], r["s"]): r["n"]
        for col in COLUMNS
        for r in rewrapped.groupBy(F.lit(col).alias("c"), F.col(col + pes.STATUS_SUFFIX).alias("s"))
        .agg(F.count("*").alias("n"))
        .collect()
    }
    exp = expected_counts(expected)
    for col in COLUMNS:
        old = sum(n for k, n in exp.items() if k[0] == col and k[1] == "envelope" and retired in k[4])
        envelopes = sum(n for k, n in exp.items() if k[0] == col and k[1] == "envelope")
        assert statuses.get((col, "rewrapped"), 0) == old > 0
        assert statuses.get((col, "current"), 0) == envelopes - old
    assert statuses.get(("email", "Malformed"), 0) == sum(n for k, n in exp.items() if k[:2] == ("email", "malformed"))
    assert statuses.get(("email", "plaintext"), 0) == sum(n for k, n in exp.items() if k[:2] == ("email", "plaintext"))
    assert statuses.get(("email", "null"), 0) == sum(n for k, n in exp.items() if k[:2] == ("email", "null"))

    # 3. Verify with the audit: no envelope names the retired key; everything else unchanged.
    after = audit_counts(spark, rewrapped)
    assert not any(retired in k[4] for k in after)
    by_zone = lambda counts: {  # noqa: E731
        (k[0], k[1], k[2], k[3]): sum(n for kk, n in counts.items() if kk[:4] == k[:4]) for k in counts
    }
    assert by_zone(after) == by_zone(before)

    # 4. Destroy the old key: open with the new keys alone. Every envelope opens to exactly
    #    the generator's value (compared by SHA-256 inside Spark).
    t = time.perf_counter()
    revealed = pes.reveal(rewrapped, COLUMNS, path("private-new.jwks"))
    checks = []
    for col in COLUMNS:
        ok = F.col(col + pes.STATUS_SUFFIX) == "ok"
        checks += [
            F.sum(ok.cast("long")).alias(col + "_ok"),
            F.sum((ok & (F.sha2(F.col(col), 256) != F.col(col + "_sha256"))).cast("long")).alias(col + "_wrong"),
        ]
    result = revealed.agg(*checks).collect()[0]
    timings["reveal"] = time.perf_counter() - t
    for col in COLUMNS:
        envelopes = sum(n for k, n in exp.items() if k[0] == col and k[1] == "envelope")
        assert result[col + "_ok"] == envelopes
        assert result[col + "_wrong"] == 0
    rows = expected["rows"]
    envelopes = sum(n for k, n in exp.items() if k[1] == "envelope")
    print(f"\nbulk table: {rows} rows, {envelopes} envelopes; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

    # 5. Nothing of a value, nothing of a key in the event log.
    spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()
    secrets_d = [k["d"].encode() for k in json.load(open(path("private-all.jwks")))["keys"]]
    files = [f for f in glob.glob(os.path.join(event_log, "**"), recursive=True) if os.path.isfile(f)]
    data = b"".join(open(name, "rb").read() for name in files)
    assert b"SparkListenerJobStart" in data and b"MapInArrow" in data, "no event log of the jobs"
    for word in MARKERS + secrets_d:
        assert word not in data, f"{word[:6]!r}... found in the event log"


def test_find_subject_and_token_audit(spark, tmp_path):
    def key(created):
        k = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        return {"kty": "oct", "domain": "email", "created": created, "k": k}

    keyfile = tmp_path / "tokens.jwks"
    keyfile.write_text(json.dumps({"keys": [key(100), key(200)]}))
    old, new = pii_edge.subject_tokens(str(keyfile), "email", "Ann@Example.com ", ["trim", "casefold"])[::-1]
    other = pii_edge.subject_tokens(str(keyfile), "email", "bob@example.com")[0]
    rows = [(1, old, None), (2, None, new), (3, other, other), (4, "plain", None)]
    df = spark.createDataFrame(rows, "id long, a string, b string")
    found = pes.find_subject(df, ["a", "b"], str(keyfile), "email", "ann@example.com", ["trim", "casefold"])
    assert sorted(r["id"] for r in found.collect()) == [1, 2]
    counts = {(r["column"], r["class"]): r["count"] for r in pes.audit(df, ["a", "b"]).collect()}
    assert counts == {("a", "token"): 2, ("a", "plaintext"): 1, ("a", "null"): 1,
                      ("b", "token"): 2, ("b", "null"): 2}


def test_verify_erased(spark, tmp_path, expected, event_log):
    """Crypto-shredding on Spark: the first 3,000 rows of the table are stored at rest under
    the keys of five subjects (SubjectKeys over SQLite), one of them is forgotten, and
    `verify_erased` over these rows next to the whole generated table proves that none of its
    fields opens and every other subject's still does; the offenders planted in its rows (an
    envelope never rewrapped, a value in clear) are exactly the ones it finds."""
    import csv

    from pii_edge.erasure import SqliteKeyStore, SubjectKeys

    store_path = str(tmp_path / "subject-keys.db")
    subjects = SubjectKeys(SqliteKeyStore(store_path), pii_edge.PrivateKeyring.from_file(path("private-all.jwks")), "eu")
    erased, n_rows, planted = "user-2", 3000, set()
    at_rest_rows, expect = [], {}
    csv.field_size_limit(1 << 20)
    with open(path("table.csv"), newline="") as f:
        for r in csv.DictReader(f):
            i = int(r["id"])
            if i >= n_rows:
                break
            subject = f"user-{i % 5}"
            row = {"id": i, "subject": subject}
            for col in COLUMNS:
                v = r[col] or None
                cls = pii_edge.classify([v])[0]
                mine = subject == erased
                if cls == "envelope" and not (mine and i % 50 == 2 and col == "name"):
                    v = subjects.rewrap(subject, v)
                    status = "Erased" if mine else "ok"
                elif cls == "envelope":  # a field the origin forgot to rewrap: still opens
                    status = "opens"
                    planted.add((i, col))
                elif cls == "plaintext" and mine:
                    status = "plaintext"
                    planted.add((i, col))
                else:
                    status = cls or "null"
                key = (col, mine, status)
                expect[key] = expect.get(key, 0) + 1
                row[col] = v
            at_rest_rows.append(row)
    assert planted, "the first rows hold no value to plant"
    done = subjects.forget(erased, by="test")
    assert done is not None

    schema = "id long, subject string, email string, name string"
    rest_df = spark.createDataFrame([(r["id"], r["subject"], r["email"], r["name"]) for r in at_rest_rows], schema)
    whole = table(spark).select(F.col("id") + 10_000_000, F.lit(None).cast("string"), "email", "name").toDF("id", "subject", "email", "name")
    df = rest_df.unionByName(whole)
    subject_rows = F.col("subject") == erased

    t = time.perf_counter()
    counts = {
        (r["column"], r["subject"], r["status"]): (r["count"], r["offender"])
        for r in pes.verify_erased(df, COLUMNS, erased, store_path, path("private-all.jwks"), subject_rows).collect()
    }
    elapsed = time.perf_counter() - t
    exp = expected_counts(expected)
    for col in COLUMNS:
        for cls in ("envelope", "plaintext", "malformed", "null"):
            n = sum(c for k, c in exp.items() if k[0] == col and k[1] == cls)
            if n:
                expect[(col, False, cls)] = expect.get((col, False, cls), 0) + n
    assert {k: v[0] for k, v in counts.items()} == expect
    offenders = {k: v[0] for k, v in counts.items() if v[1]}
    want = {}
    for _, col in planted:
        k = (col, True, "opens" if col == "name" else "plaintext")
        want[k] = want.get(k, 0) + 1
    assert offenders == want
    assert counts[("email", True, "Erased")][0] > 0 and counts[("email", False, "ok")][0] > 0

    # The offending rows themselves, with a verdict per column.
    found = pes.verify_erased(rest_df, COLUMNS, erased, store_path, path("private-all.jwks"), subject_rows, rows=True)
    assert set(found.columns) == {"id", "subject", "email", "name", "email__erasure", "name__erasure"}
    got = {r["id"]: (r["email__erasure"], r["name__erasure"]) for r in found.collect()}
    assert set(got) == {i for i, _ in planted}
    for i, col in planted:
        assert got[i][COLUMNS.index(col)] == ("opens" if col == "name" else "plaintext")
    print(f"\nverify_erased: {len(at_rest_rows)} rows at rest + the table in {elapsed:.1f} s")

    # Nothing of a value, nothing of a key in the event log (the key store's path is there).
    spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()
    files = [f for f in glob.glob(os.path.join(event_log, "**"), recursive=True) if os.path.isfile(f)]
    data = b"".join(open(name, "rb").read() for name in files)
    secrets_d = [k["d"].encode() for k in json.load(open(path("private-all.jwks")))["keys"]]
    for word in MARKERS + secrets_d:
        assert word not in data, f"{word[:6]!r}... found in the event log"
