"""py-spy on a running gateway while a load runs; the top frames as text.

``bench/suite.py --profile`` calls this for scenarios (a) and (c). Sampling is
``--nonblocking`` (the target is not paused), at 250 Hz, of the thread holding the GIL only
(``--gil``), idle frames excluded; the summary lists
the frames that hold the most samples by self time and, for this project's code (``app/``),
by inclusive time.

Standalone: ``python bench/profile.py PID SECONDS OUT.txt`` samples any process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# only the thread holding the GIL: the Python work that serialises requests. Without it, threads
# waiting for the GIL (the usage writer, token counting in worker threads) are sampled as busy
# and hide where the event loop's time goes.
EXTRA: list[str] = ["--gil"]


def py_spy() -> str | None:
    """The py-spy binary; installed into this interpreter's environment when absent."""
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], capture_output=True, check=False)
    if done.returncode == 0 and local.exists():
        return str(local)
    return None


def record(spy: str, pid: int, raw: Path, seconds: int, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Sample ``pid`` for ``seconds`` while ``load()`` runs; raw collapsed stacks to ``raw``."""
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(load()))
    worker.start()
    subprocess.run(
        [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250", "--nonblocking",
         "--format", "raw", "--output", str(raw), *EXTRA],
        capture_output=True, check=False, timeout=seconds + 60,
    )  # fmt: skip
    worker.join()
    return result


def _frame(f: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file path relative to site-packages or the repo)``."""
    name, _, where = f.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarize(raw: Path, title: str, top: int = 25) -> str:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return f"{title}\n  (no samples: py-spy wrote nothing)"
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for f in set(frames):
            if "(app/" in f:
                inclusive[f] += count
    lines = [title, f"  {total} samples", "  by self time:"]
    for f, c in self_time.most_common(top):
        lines.append(f"    {100 * c / max(total, 1):5.1f}%  {f}")
    lines.append("  app/ functions by inclusive time:")
    for f, c in inclusive.most_common(top):
        lines.append(f"    {100 * c / max(total, 1):5.1f}%  {f}")
    return "\n".join(lines)


def main() -> None:
    pid, seconds, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    spy = py_spy()
    if spy is None:
        sys.exit("py-spy is not installed and could not be installed")
    raw = out.with_suffix(".raw")
    record(spy, pid, raw, seconds, dict)
    out.write_text(summarize(raw, f"pid {pid}, {seconds} s"))
    print(out.read_text())


if __name__ == "__main__":
    main()
