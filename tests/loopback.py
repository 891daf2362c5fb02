"""A real HTTP server on 127.0.0.1 that stands in for YouTube, CVDF and model hubs in tests.

It serves files from a directory with HTTP Range support (ffmpeg and yt-dlp seek with it) and
scripted misbehaviour chosen by the first path segment:

    /files/<path>                  the file (200 / 206 with Range), HEAD supported
    /status/<code>/<path>          always answers <code>
    /flaky/<code>/<n>/<path>       answers <code> to the first <n> requests for <path>, then the file
    /hang/<seconds>/<path>         sends headers, then stalls <seconds> before closing with no body
    /truncate/<fraction>/<path>    announces the full length, sends only <fraction> of it, closes

Every request is logged (method, path, status, Range header, bytes sent, time) for assertions.
``rewrites`` maps a request path to the path it is served as (``{"/v/<id>": "/flaky/429/1/<id>.mp4"}``),
so one URL template can reach every endpoint; ``send_buffer_bytes`` shrinks the socket send buffer
so that ``bytes_sent`` measures what the client read rather than what the kernel buffered.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class LoggedRequest:
    method: str
    path: str
    status: int
    range: str | None
    bytes_sent: int
    at: float = field(default_factory=time.time)  # when the response ended


class LoopbackServer:
    def __init__(self, directory: str | os.PathLike, *, send_buffer_bytes: int | None = None):
        self.directory = Path(directory)
        self.rewrites: dict[str, str] = {}
        self.send_buffer_bytes = send_buffer_bytes
        self.requests: list[LoggedRequest] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def count(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def requests_matching(self, pattern: str) -> list[LoggedRequest]:
        regex = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if regex.search(r.path)]

    def bytes_sent(self, pattern: str = "") -> int:
        return sum(r.bytes_sent for r in self.requests_matching(pattern))


def _make_handler(server: LoopbackServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def setup(self) -> None:
            super().setup()
            if server.send_buffer_bytes:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, server.send_buffer_bytes)

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        def _dispatch(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            path = server.rewrites.get(path, path)
            parts = path.lstrip("/").split("/")
            try:
                kind = parts[0]
                if kind == "files":
                    return self._file("/".join(parts[1:]), head)
                if kind == "status":
                    return self._status(int(parts[1]))
                if kind == "flaky":
                    code, times, rest = int(parts[1]), int(parts[2]), "/".join(parts[3:])
                    if server.count(path) <= times:
                        return self._status(code)
                    return self._file(rest, head)
                if kind == "hang":
                    return self._hang(float(parts[1]), "/".join(parts[2:]))
                if kind == "truncate":
                    return self._file("/".join(parts[2:]), head, fraction=float(parts[1]))
                return self._status(404)
            except (BrokenPipeError, ConnectionResetError):
                return None

        def _status(self, code: int) -> None:
            body = f"status {code}\n".encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            if code == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            server.log(LoggedRequest(self.command, self.path, code, self.headers.get("Range"), len(body)))

        def _file(self, relpath: str, head: bool, fraction: float = 1.0) -> None:
            target = (server.directory / relpath).resolve()
            if server.directory.resolve() not in target.parents or not target.is_file():
                return self._status(404)
            size = target.stat().st_size
            start, end, status = 0, size - 1, 200
            range_header = self.headers.get("Range")
            match = re.match(r"bytes=(\d*)-(\d*)$", range_header or "")
            if match and size:
                first, last = match.groups()
                if first:
                    start = int(first)
                    end = min(int(last), size - 1) if last else size - 1
                else:  # suffix range: the last N bytes
                    start = max(0, size - int(last))
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    server.log(LoggedRequest(self.command, self.path, 416, range_header, 0))
                    return None
                status = 206
            length = end - start + 1
            self.send_response(status)
            self.send_header("Content-Type", _content_type(target))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            sent = 0
            if not head:
                limit = int(length * fraction) if fraction < 1.0 else length
                with open(target, "rb") as handle:
                    handle.seek(start)
                    while sent < limit:
                        chunk = handle.read(min(65536, limit - sent))
                        if not chunk:
                            break
                        try:
                            self.wfile.write(chunk)
                        except (BrokenPipeError, ConnectionResetError):
                            break
                        sent += len(chunk)
                if fraction < 1.0:
                    self.close_connection = True
            server.log(LoggedRequest(self.command, self.path, status, range_header, sent))
            return None

        def _hang(self, seconds: float, relpath: str) -> None:
            target = server.directory / relpath
            size = target.stat().st_size if target.is_file() else 1_000_000
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(0.05)
            self.close_connection = True
            server.log(LoggedRequest(self.command, self.path, 200, self.headers.get("Range"), 0))

    return Handler


def _content_type(path: Path) -> str:
    return {
        ".mp4": "video/mp4",
        ".csv": "text/csv",
        ".json": "application/json",
        ".txt": "text/plain",
        ".gz": "application/gzip",
        ".tgz": "application/gzip",
        ".rar": "application/vnd.rar",
        ".pt": "application/octet-stream",
        ".pth": "application/octet-stream",
    }.get(path.suffix, "application/octet-stream")
