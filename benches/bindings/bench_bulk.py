"""Bulk throughput, one thread (fields per second per core): the batch API (`BatchOpener.open`,
`Rewrapper.rewrap` over lists; `open_buffers`, `rewrap_buffers` over a pyarrow array, as
`pii_edge.spark` calls them) against a plain Python loop over the package (`PrivateKeyring.open` per
value) and the pure-Python opener of docs/interop/open_vectors.py, on tables written by the
pii-core example `bulk_table`: (a) 8 fields share one wrap (four rows of a request, two
envelope columns), (b) every field has its own wrap. See benches/README.md, "Bulk operations".

    python benches/bindings/bench_bulk.py SHARED_DIR OWN_DIR [FIELDS]

Each measurement opens (or rewraps) the same FIELDS envelopes of the table's `name` column;
the best of three passes is reported. Time is this process's CPU time (one thread: the batch
calls release the GIL but run on the calling thread), so a shared, loaded machine slows the
figures less than wall time would; it is CPU seconds per core, not a latency.
"""

import csv
import json
import sys
import time
from pathlib import Path

import pii_edge

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "interop"))
from open_vectors import open_envelope  # noqa: E402  (the spec-only opener)


def column(folder: Path, n: int):
    """The first `n` envelopes of the table, row by row (`email` then `name`), as a Spark task
    meets them: the fields of one request next to each other."""
    out = []
    with open(folder / "table.csv", newline="") as f:
        for r in csv.DictReader(f):
            out += [v for v in (r["email"], r["name"]) if pii_edge.classify([v]) == ["envelope"]]
            if len(out) >= n:
                return out[:n]
    return out


def best(fn, values, passes=3):
    times = []
    for _ in range(passes):
        t = time.process_time()
        fn(values)
        times.append(time.process_time() - t)
    return len(values) / min(times)


def main() -> int:
    shared, own = Path(sys.argv[1]), Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    results = []
    for label, folder in (("(a) 8 fields per wrap", shared), ("(b) one wrap per field", own)):
        values = column(folder, n)
        private = str(folder / "private-all.jwks")
        keyring = pii_edge.PrivateKeyring.from_file(private)
        jwks = json.loads((folder / "private-all.jwks").read_text())["keys"]

        def batch_open(vs):
            _, status = pii_edge.BatchOpener(keyring).open(vs)
            assert status.count("ok") == len(vs), set(status)

        arrow = None
        try:  # the Arrow form: needs pyarrow and a wheel that has it
            import pyarrow as pa

            from pii_edge.spark import on_arrow

            if hasattr(pii_edge.BatchOpener, "open_buffers"):
                arrow = pa.array(values, type=pa.string())
        except ImportError:
            pass

        def arrow_open(array):
            _, status = on_arrow(pii_edge.BatchOpener(keyring).open_buffers, array)
            assert status.to_pylist().count("ok") == len(array), set(status.to_pylist())

        def arrow_rewrap(array):
            job = pii_edge.Rewrapper.from_files(private, str(folder / "public-next.jwks"))
            _, status = on_arrow(job.rewrap_buffers, array)
            assert status.to_pylist().count("rewrapped") == len(array)

        def loop_open(vs):
            out = []
            for v in vs:
                try:
                    out.append(keyring.open(v).value)
                except pii_edge.OpenError:
                    out.append(None)
            assert None not in out

        def pure_open(vs):
            for v in vs:
                open_envelope(v, jwks)

        def batch_rewrap(vs):
            job = pii_edge.Rewrapper.from_files(private, str(folder / "public-next.jwks"))
            _, status = job.rewrap(vs)
            assert status.count("rewrapped") == len(vs), set(status)

        pure_n = max(200, n // 20)  # the pure-Python opener is slow: a sample
        row = {
            "table": label,
            "fields": n,
            "open: batch": best(batch_open, values),
            "open: Python loop": best(loop_open, values),
            "open: pure Python": best(pure_open, values[:pure_n], passes=1),
            "rewrap: batch": best(batch_rewrap, values),
        }
        if arrow is not None:  # the Arrow form pii_edge.spark uses (not in older wheels)
            row["open: batch, Arrow"] = best(arrow_open, arrow)
            row["rewrap: batch, Arrow"] = best(arrow_rewrap, arrow)
        results.append(row)
        print(json.dumps(row), flush=True)
    print()
    print("| table | open: batch, Arrow | open: batch | open: Python loop | open: pure Python (docs/interop) "
          "| rewrap: batch, Arrow | rewrap: batch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cells = [r.get(k) for k in ("open: batch, Arrow", "open: batch", "open: Python loop",
                                    "open: pure Python", "rewrap: batch, Arrow", "rewrap: batch")]
        print(f"| {r['table']} | " + " | ".join("" if c is None else f"{c:,.0f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
