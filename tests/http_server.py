"""A small real HTTP server on 127.0.0.1 for download tests: serves files, honours Range, and
can cut a response short to imitate an interrupted download."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path


class FileServer:
    def __init__(self, files: dict[str, Path], cut_after: int | None = None):
        self.files = files
        self.cut_after = cut_after  # bytes sent before the connection is dropped (first request only)
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append({"path": name, "range": self.headers.get("Range")})
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name].read_bytes()
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    limit, server.cut_after = server.cut_after, None
                    self.wfile.write(body[:limit])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
