"""Time to first byte of a streamed answer, from a separate process, over raw sockets.

Usage: ``python bench/ttfb.py HOST PORT PATH KEY COUNT [anthropic]`` -> prints JSON {"p50_ms",
"p90_ms", "full_ms"}. With ``anthropic`` the request is an Anthropic Messages body (a conversion
when the route's provider speaks another style).
Time runs from sending the request to receiving the first ``data:`` of the body; "full" is the
median time to the end of the stream.
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import time


def one(host: str, port: int, path: str, key: str, anthropic: bool = False) -> tuple[float, float]:
    payload: dict[str, object] = {
        "model": "bench-model",
        "stream": True,
        "messages": [{"role": "user", "content": "stream please"}],
    }
    if anthropic:
        payload["max_tokens"] = 256
    body = json.dumps(payload)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()
    with socket.create_connection((host, port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        s.sendall(request)
        buf = b""
        first = None
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
            if first is None:
                _head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep and b"data:" in rest:
                    first = time.perf_counter() - started
        full = time.perf_counter() - started
    if first is None or (b"[DONE]" not in buf and b"message_stop" not in buf):
        raise RuntimeError(f"no complete stream from {host}:{port}{path}: {buf[:300]!r}")
    return first, full


def main() -> None:
    host, port, path, key, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    anthropic = len(sys.argv) > 6 and sys.argv[6] == "anthropic"
    for _ in range(20):
        one(host, port, path, key, anthropic)
    firsts, fulls = [], []
    for _ in range(count):
        f, full = one(host, port, path, key, anthropic)
        firsts.append(f)
        fulls.append(full)
    firsts.sort()
    print(
        json.dumps(
            {
                "p50_ms": statistics.median(firsts) * 1000,
                "p90_ms": firsts[int(len(firsts) * 0.9)] * 1000,
                "full_ms": statistics.median(fulls) * 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
