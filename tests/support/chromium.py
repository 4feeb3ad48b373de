"""Headless Chromium (Debian's ``chromium`` package) driven over the DevTools protocol.

The browser starts with ``--remote-debugging-port=0`` and a throwaway profile; the port it picked
is read from ``DevToolsActivePort`` and the first page target is driven through aiohttp's
websocket client: navigate, evaluate JavaScript, read cookies, take a screenshot. Nothing beyond
loopback is contacted.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import stop

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            msg = json.loads(await asyncio.wait_for(self._ws.receive_str(), 30))
            if msg.get("id") == call_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self._events.append(msg)

    async def _wait_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        for i, ev in enumerate(self._events):
            if ev.get("method") == name:
                return self._events.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            msg = json.loads(await asyncio.wait_for(self._ws.receive_str(), max(left, 0.01)))
            if msg.get("method") == name:
                return msg
            self._events.append(msg)

    async def goto(self, url: str) -> int:
        """Load ``url``; the main document's HTTP status."""
        self._events.clear()
        await self.send("Page.navigate", url=url)
        return await self._loaded()

    async def _loaded(self) -> int:
        status = 0
        while True:
            ev = await self._wait_event("Network.responseReceived")
            if ev["params"].get("type") == "Document":
                status = int(ev["params"]["response"]["status"])
                break
        await self._wait_event("Page.loadEventFired")
        return status

    async def submit(self, script: str) -> int:
        """Run ``script`` (which submits a form) and wait for the page it leads to."""
        self._events.clear()
        await self.evaluate(script)
        return await self._loaded()

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def cookies(self, url: str) -> list[dict[str, Any]]:
        result = await self.send("Network.getCookies", urls=[url])
        cookies: list[dict[str, Any]] = result["cookies"]
        return cookies

    async def screenshot(self, path: Path) -> bytes:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        data = base64.b64decode(shot["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data


@asynccontextmanager
async def headless_chromium(width: int = 1400, height: int = 1000) -> AsyncIterator[Page]:
    binary = chromium_binary()
    if binary is None:
        raise RuntimeError("no Chromium found: apt-get install chromium (scripts/test installs it)")
    profile = Path(tempfile.mkdtemp(prefix="frugal-chromium-"))
    log = (profile.parent / f"{profile.name}.log").open("wb")  # a pipe nobody reads could fill up
    args = [
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
    try:
        port = await _devtools_port(profile, proc, Path(log.name))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as r:
                targets = await r.json()
            page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with http.ws_connect(page_ws, max_msg_size=64 * 2**20) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                await page.send("Network.enable")
                await page.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield page
    finally:
        stop(proc)
        log.close()
        Path(log.name).unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)


async def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], log: Path) -> int:
    marker = profile / "DevToolsActivePort"
    for _ in range(300):  # 30 s
        if proc.poll() is not None:
            err = log.read_text(errors="replace")
            raise RuntimeError(f"chromium exited with {proc.returncode}: {err[-2000:]}")
        if marker.exists():
            first = marker.read_text().splitlines()[:1]
            if first and first[0].isdigit():
                return int(first[0])
        await asyncio.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port within 30 s")
