"""Heavy work (the /stats chart, the Excel export) in a process of its own, not in the bot's.

A chart or a workbook takes hundreds of milliseconds of CPU. On the event loop it would stop every other
user; in a thread it would still hold the GIL most of that time (other users' p99 went from 9 ms to
2.4 s with a /stats chart in the same process: issue 14). ``run_heavy`` runs a function in a pool of one
process, started on first use (forkserver: a clean child, not a fork of a process with an event loop and
threads) and kept for the next job; the arguments and the result cross by pickle, so they are plain data.
If that process cannot run (it died: a broken pool), the job runs in a thread instead — slower for
others, never missing — and the next job starts a new process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from bot.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None


def _heavy_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    return _pool


async def run_heavy(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the heavy-work process (in a thread if that process cannot run). What the
    job itself raises is raised here, as from a direct call: only a pool that cannot take or finish the
    job (a dead process, a pool shut down meanwhile, no process can start) means the thread."""
    pool = _heavy_pool()
    try:
        job = asyncio.get_running_loop().run_in_executor(pool, function, *args)
    except (BrokenProcessPool, RuntimeError, OSError) as exc:  # (RuntimeError: shut down meanwhile)
        return await _in_a_thread(pool, exc, function, *args)
    try:
        return await job
    except BrokenProcessPool as exc:  # the process died during the job
        return await _in_a_thread(pool, exc, function, *args)


async def _in_a_thread(
    pool: ProcessPoolExecutor, exc: BaseException, function: Callable[..., T], *args: Any
) -> T:
    global _pool
    log.warning("offload.process_failed", error=repr(exc))
    if _pool is pool:  # (not one a concurrent job already replaced)
        _pool = None  # the next job starts a new process
        pool.shutdown(wait=False, cancel_futures=True)
    return await asyncio.to_thread(function, *args)


def shutdown() -> None:
    """Stop the heavy-work process (at the end of the bot's run); a later job starts a new one."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def current_workers() -> set[int]:
    """The pids of the heavy-work process(es) now running (for tests and health)."""
    return set(_pool._processes or {}) if _pool is not None else set()
