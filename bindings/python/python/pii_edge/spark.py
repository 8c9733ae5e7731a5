"""Bulk operations on stored values with Apache Spark: rewrap (key rotation, moving zones),
reveal, find a subject's rows by token, and audit a table. See ``docs/bulk.md``.

Every function takes a DataFrame and column names and returns a DataFrame. The work runs in
the executors through ``DataFrame.mapInArrow`` (Arrow batches, no per-row conversion) and the
package's Rust batch API (``pii_edge.Rewrapper``, ``pii_edge.BatchOpener``, ``pii_edge.audit``),
which releases the GIL and answers per value: a value that does not open is a status in the
``<column>__status`` column, never a failed job.

Keys reach the executors as **file paths**, read by each executor when its task starts (put
them there with ``--files``, a mounted secret, or ``SparkFiles``; ``docs/bulk.md``): the key
material is never in the Spark plan, a broadcast variable, a log or an error message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["STATUS_SUFFIX", "ERASURE_SUFFIX", "on_arrow", "rewrap", "reveal", "find_subject", "audit", "verify_erased"]

#: Suffix of the per-value outcome column added for each processed column.
STATUS_SUFFIX = "__status"
#: Suffix of the per-value verdict column of ``verify_erased(..., rows=True)``.
ERASURE_SUFFIX = "__erasure"
#: The temporary column that carries ``subject_rows`` into the executors.
_SUBJECT_ROW = "__pii_edge_subject_row"


def _resolve(path: str) -> str:
    """A key file's path on this executor: as given if it exists, else the file of that name
    shipped with ``--files`` / ``SparkContext.addFile``."""
    import os

    if os.path.exists(path):
        return path
    try:
        from pyspark import SparkFiles

        shipped = SparkFiles.get(os.path.basename(path))
        if os.path.exists(shipped):
            return shipped
    except Exception:  # noqa: BLE001 - not in a Spark task, or no SparkFiles: keep the path
        pass
    return path


def _string_columns(df: "DataFrame", columns: Sequence[str]) -> None:
    from pyspark.sql.types import StringType

    if isinstance(columns, str):
        raise TypeError("columns must be a list of column names, not one string")
    for name in columns:
        if name not in df.columns:
            raise ValueError(f"no column `{name}` in the DataFrame")
        if not isinstance(df.schema[name].dataType, StringType):
            raise TypeError(f"column `{name}` is {df.schema[name].dataType.simpleString()}, not string")


def _with_status(df: "DataFrame", columns: Sequence[str]):
    from pyspark.sql.types import StringType, StructField, StructType

    fields = list(df.schema.fields)
    for name in columns:
        fields.append(StructField(name + STATUS_SUFFIX, StringType(), False))
    return StructType(fields)


def on_arrow(method, array: "pa.Array"):
    """Run a ``*_buffers`` method of the native batch API (``BatchOpener.open_buffers``,
    ``Rewrapper.rewrap_buffers``) over a pyarrow string array: returns ``(values, statuses)``,
    two pyarrow string arrays, with no Python object per value on the way (the buffers go to
    the native call as they are)."""
    import pyarrow as pa

    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    elif not pa.types.is_string(array.type):
        raise TypeError(f"a string array is needed, not {array.type}")
    n = len(array)
    validity, offsets, data = array.buffers()
    valid, offs, out, codes, names = method(
        None if validity is None or array.null_count == 0 else validity.to_pybytes(),
        offsets.to_pybytes() if offsets is not None else (0).to_bytes(4, "little"),
        data.to_pybytes() if data is not None else b"",
        array.offset,
        n,
    )
    values = pa.Array.from_buffers(
        pa.string(), n, [pa.py_buffer(valid), pa.py_buffer(offs), pa.py_buffer(out)]
    )
    indices = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(codes)])
    statuses = pa.DictionaryArray.from_arrays(indices, pa.array(names, type=pa.string()))
    return values, statuses.cast(pa.string())


def _map_columns(df: "DataFrame", columns: Sequence[str], make) -> "DataFrame":
    """Replace each of ``columns`` by ``on_arrow(op, values) -> (values, statuses)`` and add
    its status column; ``make()`` builds ``op`` (a ``*_buffers`` method) once per task, on the
    executor."""
    _string_columns(df, columns)
    # A status column of an earlier step (rewrap, then reveal) is replaced.
    df = df.drop(*[n + STATUS_SUFFIX for n in columns if n + STATUS_SUFFIX in df.columns])
    schema = _with_status(df, columns)
    columns = list(columns)

    def run(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        import pyarrow as pa

        op = make()
        for batch in batches:
            arrays = {name: batch.column(name) for name in batch.schema.names}
            statuses = {}
            for name in columns:
                arrays[name], statuses[name + STATUS_SUFFIX] = on_arrow(op, arrays[name])
            names = list(batch.schema.names) + list(statuses)
            yield pa.RecordBatch.from_arrays(
                [arrays[n] for n in batch.schema.names] + list(statuses.values()), names=names
            )

    return df.mapInArrow(run, schema)


def rewrap(
    df: "DataFrame",
    columns: Sequence[str],
    private_keys: str,
    public_keys: str,
    zone: Optional[str] = None,
) -> "DataFrame":
    """Rewrap the envelopes of ``columns`` to the public keys in the file ``public_keys``.

    Each value opens with the private keys in the file ``private_keys`` (read on each
    executor) and is sealed again, inside the native call, to the newest key of each region of
    its zone (a rotation) or of ``zone`` (a move). Each column gets ``<column>__status``:
    ``rewrapped``, ``current`` (already sealed to the target keys), ``plaintext``, ``token``,
    ``null``, or the error (``Malformed``, ``NoKey``, ``Tampered``, ``NoTargetKey``, ...). A
    value that is not rewrapped stays as it was. Every column of one row is rewrapped by one ``Rewrapper``, so fields that shared a
    wrap share the new one.
    """
    from . import Rewrapper

    def make():
        rewrapper = Rewrapper.from_files(_resolve(private_keys), _resolve(public_keys), zone)
        return rewrapper.rewrap_buffers

    return _map_columns(df, columns, make)


def reveal(df: "DataFrame", columns: Sequence[str], private_keys: str) -> "DataFrame":
    """Open the envelopes of ``columns`` with the private keys in the file ``private_keys``:
    each value becomes its plaintext (a JSON string's text, other JSON values as JSON text),
    with ``<column>__status`` ``ok``, ``null`` or the error (the value becomes null). Run it only
    where the job may see the plaintext (an access request's export)."""
    from . import BatchOpener

    def make():
        return BatchOpener.from_file(_resolve(private_keys)).open_buffers

    return _map_columns(df, columns, make)


def find_subject(
    df: "DataFrame",
    columns: Sequence[str],
    token_keys: str,
    domain: str,
    value: str,
    normalize: Optional[Sequence[str]] = None,
) -> "DataFrame":
    """The rows in which one of ``columns`` holds the token of ``value`` in token domain
    ``domain`` under any key of the domain in the file ``token_keys`` (a rotated domain has
    several). The tokens are computed on the driver; only they (not ``value``, not a key) go
    into the plan. ``normalize`` is the tokenize rule's ``normalize`` list."""
    from pyspark.sql import functions as F

    from . import subject_tokens

    _string_columns(df, columns)
    tokens = subject_tokens(token_keys, domain, value, list(normalize or []))
    condition = None
    for name in columns:
        c = F.col(name).isin(tokens)
        condition = c if condition is None else (condition | c)
    return df.filter(condition)


def audit(df: "DataFrame", columns: Sequence[str]) -> "DataFrame":
    """Count the values of ``columns`` without a key: a DataFrame of ``column``, ``class``
    (``envelope``, ``token``, ``plaintext``, ``malformed``, ``null``), ``zone``, ``policy``,
    ``kids`` (the recipients' key id prefixes, sorted, joined by ``,``), ``detector`` (for
    plaintext: the ``pii-edge scan`` detector that recognises it, e.g. ``email``) and
    ``count``. No value leaves the executors; an envelope's header is read, not opened."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    _string_columns(df, columns)
    columns = list(columns)
    schema = StructType(
        [StructField(n, StringType(), n not in ("column", "class")) for n in
         ("column", "class", "zone", "policy", "kids", "detector")]
        + [StructField("count", LongType(), False)]
    )

    def run(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        import pyarrow as pa

        from . import audit as audit_values

        for batch in batches:
            rows: list = []
            for name in columns:
                for row in audit_values(batch.column(name).to_pylist(), name):
                    rows.append((name,) + tuple(row))
            cols = list(zip(*rows)) if rows else [()] * 7
            yield pa.RecordBatch.from_arrays(
                [pa.array(list(c), type=pa.string()) for c in cols[:6]]
                + [pa.array(list(cols[6]), type=pa.int64())],
                names=[f.name for f in schema.fields],
            )

    keys = ["column", "class", "zone", "policy", "kids", "detector"]
    return (
        df.select(*columns)
        .mapInArrow(run, schema)
        .groupBy(*keys)
        .agg(F.sum("count").alias("count"))
    )



def _key_store(path: str):
    """The key store at ``path`` on this executor: a SQLite database file, or a file holding
    a PostgreSQL connection string (a mounted secret). Raises ``FileNotFoundError`` naming
    the path; the connection string never appears in an error of this module."""
    import os

    from .erasure import PostgresKeyStore, SqliteKeyStore

    path = _resolve(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no key store at {path}")
    with open(path, "rb") as f:
        head = f.read(16)
    if head == b"SQLite format 3\x00":
        return SqliteKeyStore(path)
    with open(path, encoding="utf-8") as f:
        conninfo = f.read().strip()
    return PostgresKeyStore(conninfo)


def _erasure_verdicts(subject: str, key_store: str, private_keys: str):
    """On the executor: ``verdicts(values, rows) -> (statuses, of_subject, offenders)`` over
    one ``ErasureCheck``, looking subject keys up in the store the first time a field names
    them; ``verdicts.close()`` closes the store."""
    from . import ErasureCheck

    check = ErasureCheck.from_file(_resolve(private_keys), subject)
    store = _key_store(key_store)

    def verdicts(values, rows):
        for key_id in check.unknown_key_ids(values):
            record = store.get(key_id)
            if record is None:
                check.set_key(key_id, None, False)
            else:
                check.set_key(key_id, record.wrapped, record.erased_at is not None)
        return check.check(values, rows)

    verdicts.close = store.close
    return verdicts


def verify_erased(
    df: "DataFrame",
    columns: Sequence[str],
    subject: str,
    key_store: str,
    private_keys: str,
    subject_rows=None,
    rows: bool = False,
) -> "DataFrame":
    """Check that the erasure (``forget``, docs/erasure.md) of data subject ``subject`` holds in
    ``columns``: no value of the subject still opens, and every other subject's fields at
    rest (``pr1.``) still do.

    A field at rest names its subject in its header; its key is looked up in the key store at
    ``key_store`` (a SQLite file, or a file holding a PostgreSQL connection string: a path
    read on each executor, like the region's private keys in the file ``private_keys``). An
    edge envelope (``pe2.``) names no subject: ``subject_rows`` (a boolean Spark ``Column``,
    e.g. ``F.col("user_id") == "user-42"`` or a token column's ``isin(tokens)``) marks the
    subject's rows, whose envelopes are opened with the region's keys: one that opens is an
    offender (it was never rewrapped under the subject's key). Envelopes of other rows are
    not opened.

    Returns counts: ``column``, ``subject`` (the value is the subject's), ``status``
    (``Erased``, ``opens``, ``ok``, ``envelope``, ``plaintext``, ``token``, ``null``, or why a
    value did not open: ``NoKey``, ``Tampered``, ...), ``offender`` and ``count``; the erasure
    holds when no row has ``offender`` true. An offender is a value of the subject that opens
    or is in clear, or another subject's field at rest that does not open (not ``Erased``).
    With ``rows=True``, returns the offending rows instead: ``df``'s columns with a
    ``<column>__erasure`` verdict each. Nothing opened leaves the executors.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

    _string_columns(df, columns)
    columns = list(columns)
    marked = df.withColumn(
        _SUBJECT_ROW,
        F.lit(False) if subject_rows is None else F.coalesce(subject_rows, F.lit(False)),
    )

    def batch_verdicts(batch, verdicts):
        flags = batch.column(_SUBJECT_ROW).to_pylist()
        return {name: verdicts(batch.column(name).to_pylist(), flags) for name in columns}

    if rows:
        names = list(df.columns)  # not `df` itself: the closure goes to the executors
        schema = StructType(
            list(df.schema.fields)
            + [StructField(n + ERASURE_SUFFIX, StringType(), False) for n in columns]
        )

        out_names = list(schema.names)

        def offending(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
            verdicts = _erasure_verdicts(subject, key_store, private_keys)
            try:
                yield from offending_batches(batches, verdicts)
            finally:
                verdicts.close()

        def offending_batches(batches, verdicts):
            import pyarrow as pa

            for batch in batches:
                found = batch_verdicts(batch, verdicts)
                keep = [any(found[n][2][i] for n in columns) for i in range(batch.num_rows)]
                mask = pa.array(keep, type=pa.bool_())
                arrays = [batch.column(n).filter(mask) for n in names]
                arrays += [pa.array(found[n][0], type=pa.string()).filter(mask) for n in columns]
                yield pa.RecordBatch.from_arrays(arrays, names=out_names)

        return marked.mapInArrow(offending, schema)

    schema = StructType(
        [
            StructField("column", StringType(), False),
            StructField("subject", BooleanType(), False),
            StructField("status", StringType(), False),
            StructField("offender", BooleanType(), False),
            StructField("count", LongType(), False),
        ]
    )

    count_names = list(schema.names)

    def counts(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        verdicts = _erasure_verdicts(subject, key_store, private_keys)
        try:
            yield from count_batches(batches, verdicts)
        finally:
            verdicts.close()

    def count_batches(batches, verdicts):
        from collections import Counter

        import pyarrow as pa

        for batch in batches:
            found = batch_verdicts(batch, verdicts)
            tally = Counter()
            for name in columns:
                statuses, mine, offenders = found[name]
                tally.update(zip([name] * len(statuses), mine, statuses, offenders))
            keys = list(tally)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([k[0] for k in keys], type=pa.string()),
                    pa.array([k[1] for k in keys], type=pa.bool_()),
                    pa.array([k[2] for k in keys], type=pa.string()),
                    pa.array([k[3] for k in keys], type=pa.bool_()),
                    pa.array([tally[k] for k in keys], type=pa.int64()),
                ],
                names=count_names,
            )

    return (
        marked.select(_SUBJECT_ROW, *columns)
        .mapInArrow(counts, schema)
        .groupBy("column", "subject", "status", "offender")
        .agg(F.sum("count").alias("count"))
    )
