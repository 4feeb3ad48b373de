"""Background tasks the runtime starts with the event loop and stops at shutdown."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancels ``task`` and waits until it has stopped; ``gather`` collects the task's own
    cancellation without hiding one of the caller's."""
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
