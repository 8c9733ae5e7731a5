#!/usr/bin/env python3
"""A stand-in origin for trying `pii-edge serve`: it prints every request it receives (what
your application would see behind the edge) and answers 200 with the same, as JSON.

    python3 examples/serve/echo_origin.py            # listens on 127.0.0.1:3000
    python3 examples/serve/echo_origin.py 127.0.0.1:4000

Standard library only. Not for production: it echoes what it gets.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        print(json.dumps(seen, indent=2), flush=True)
        out = json.dumps({"origin received": seen}, indent=2).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _echo

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:3000").rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Echo)
    print(f"echo origin on http://{host or '127.0.0.1'}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()
