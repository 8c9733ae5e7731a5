#!/usr/bin/env python3
"""Cold start and peak RSS of the pii-edge edge function (issue 7, item 5).

- bootstrap: the `bootstrap` binary (lambda_runtime) against a minimal Lambda Runtime API
  emulator served here on 127.0.0.1. Time from spawning the process to the emulator receiving
  the response to the first event; peak RSS is the process's VmHWM read from /proc just after
  that response (the process is then killed).
- node packages: `node` loading a package's index.js and handling one event (process start to
  the result written to a pipe), the variants in round robin; peak RSS from `/usr/bin/time -v` ("Maximum resident set
  size"), or VmHWM when `time` is missing. `node -e 0` is measured too: the floor of any Node.js
  function.

Only the standard library; talks to loopback only; every run is bounded in time.

    coldstart.py --event EVENT.json [--bootstrap PATH] [--node-package NAME=DIR ...]
                 [--runs N] [--out FILE]
"""
import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"


class Emulator(http.server.ThreadingHTTPServer):
    """Serves one event per bootstrap process: next -> event, response -> records the time."""

    daemon_threads = True

    def __init__(self, event: bytes):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.served = threading.Event()
        self.answered = threading.Event()
        self.answer_time = 0.0
        self.answer = b""

    def handle_error(self, request, client_address):
        pass  # a killed process resets its held connection: expected


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server
        if self.path.endswith("/runtime/invocation/next") and not srv.served.is_set():
            srv.served.set()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 5000))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:pii-edge:1",
            )
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700")
            self.send_header("Content-Length", str(len(srv.event)))
            self.end_headers()
            self.wfile.write(srv.event)
        else:
            # Second `next`: hold it (the run is over; the process is killed).
            srv.answered.wait(5)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_POST(self):
        srv = self.server
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if "/response" in self.path or "/error" in self.path:
            srv.answer_time = time.perf_counter()
            srv.answer = body
            srv.answered.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def vm_hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def bootstrap_runs(path: str, event: bytes, runs: int):
    times, rss, answer = [], [], b""
    for _ in range(runs):
        # A fresh emulator (and port) per run: a killed process's pending `next` must not take
        # the event meant for the next process.
        emu = Emulator(event)
        threading.Thread(target=emu.serve_forever, daemon=True).start()
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{emu.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": "pii-edge-bench",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/us-east-1.pii-edge-bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[1]0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": "/var/task",
        }
        try:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [path], env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                if not emu.answered.wait(10):
                    raise RuntimeError("bootstrap did not answer within 10 s")
                times.append((emu.answer_time - t0) * 1000)
                rss.append(vm_hwm_kib(proc.pid))
                answer = emu.answer
            finally:
                proc.kill()
                proc.wait(5)
        finally:
            emu.answered.set()  # release a held `next`
            emu.shutdown()
            emu.server_close()
    return times, rss, answer


NODE_SCRIPT = r"""
const fs = require('fs');
const fd = Number(process.argv[1]);
const h = require(process.argv[2]).handler;
const ev = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
Promise.resolve(h(ev)).then((r) => { fs.writeSync(fd, JSON.stringify(r) + '\n'); });
"""


def node_once(index_js, event_path, time_bin):
    """One `node` process loading index_js and handling one event (None: `node -e 0` that
    answers at once); the result comes back on a pipe. Returns (ms, peak RSS KiB, answer)."""
    r, w = os.pipe()
    if index_js is None:
        cmd = ["node", "-e", "require('fs').writeSync(Number(process.argv[1]), 'null\\n')", str(w)]
    else:
        cmd = ["node", "-e", NODE_SCRIPT, str(w), os.path.abspath(index_js), os.path.abspath(event_path)]
    if time_bin:
        cmd = [time_bin, "-v"] + cmd
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, pass_fds=(w,),
    )
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        line = pipe.readline()
    t1 = time.perf_counter()
    _, err = proc.communicate(timeout=30)
    if not line:
        raise RuntimeError(f"{cmd[-3:]} gave no result: {err.decode()[-500:]}")
    kib = 0
    for l in err.decode(errors="replace").splitlines():
        if "Maximum resident set size" in l:
            kib = int(l.rsplit(":", 1)[1])
    return (t1 - t0) * 1000, kib, line


def node_runs(variants, event_path, runs: int, time_bin):
    """Round robin over the variants, so that load changes hit them alike."""
    out = {name: ([], [], b"") for name, _ in variants}
    for _ in range(runs):
        for name, index_js in variants:
            ms, kib, line = node_once(index_js, event_path, time_bin)
            t, r, _ = out[name]
            t.append(ms)
            r.append(kib)
            out[name] = (t, r, line)
    return out


def summary(times, rss):
    times = sorted(times)
    q = lambda p: times[round((len(times) - 1) * p)]
    return {
        "runs": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p10_ms": round(q(0.1), 2),
        "p90_ms": round(q(0.9), 2),
        "peak_rss_mib": round(max(rss) / 1024, 1) if rss and max(rss) else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--event", required=True)
    ap.add_argument("--bootstrap")
    ap.add_argument("--node-package", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out")
    a = ap.parse_args()
    event = open(a.event, "rb").read()
    time_bin = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    results = {}
    if a.bootstrap:
        t, r, ans = bootstrap_runs(a.bootstrap, event, a.runs)
        results["bootstrap"] = summary(t, r) | {"answer_bytes": len(ans), "rss_from": "VmHWM"}
    if shutil.which("node"):
        variants = [("node -e 0", None)] + [
            (spec.split("=", 1)[0], os.path.join(spec.split("=", 1)[1], "index.js"))
            for spec in a.node_package
        ]
        for name, (t, r, ans) in node_runs(variants, a.event, a.runs, time_bin).items():
            results[name] = summary(t, r) | {"rss_from": "time -v"}
            if name != "node -e 0":
                results[name]["answer_bytes"] = len(ans)
    text = json.dumps(results, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
