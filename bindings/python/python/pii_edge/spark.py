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

__all__ = ["STATUS_SUFFIX", "rewrap", "reveal", "find_subject", "audit"]

#: Suffix of the per-value outcome column added for each processed column.
STATUS_SUFFIX = "__status"


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


def _map_columns(df: "DataFrame", columns: Sequence[str], make) -> "DataFrame":
    """Replace each of ``columns`` by ``op(values) -> (values, statuses)`` and add its status
    column; ``make()`` builds ``op`` once per task, on the executor."""
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
                values, status = op(arrays[name].to_pylist())
                arrays[name] = pa.array(values, type=pa.string())
                statuses[name + STATUS_SUFFIX] = pa.array(status, type=pa.string())
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
        return rewrapper.rewrap

    return _map_columns(df, columns, make)


def reveal(df: "DataFrame", columns: Sequence[str], private_keys: str) -> "DataFrame":
    """Open the envelopes of ``columns`` with the private keys in the file ``private_keys``:
    each value becomes its plaintext (a JSON string's text, other JSON values as JSON text),
    with ``<column>__status`` ``ok``, ``null`` or the error (the value becomes null). Run it only
    where the job may see the plaintext (an access request's export)."""
    from . import BatchOpener

    def make():
        return BatchOpener.from_file(_resolve(private_keys)).open

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

