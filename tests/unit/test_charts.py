"""Heavy work (the /stats chart, the Excel export) runs in a process of its own (issue 14: off the event
loop, and off the GIL), and still runs, in a thread, when that process cannot run (bot.offload)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot import offload
from bot.charts import ChartData, draw
from bot.i18n import Translator

PNG = b"\x89PNG\r\n\x1a\n"

DATA = ChartData(
    weeks=["04/05", "11/05"],
    series=[("Đã tiếp nhận", "#4a90d9", [3, 1]), ("Đã giải quyết", "#3aa655", [0, 2])],
    localities=["Phường Thành Sen", "Xã Cẩm Trung"],
    on_time=[(1, 2), (3, 3)],
    title_weekly="Kiến nghị nhận được mỗi tuần",
    petitions="Kiến nghị",
    no_petitions="Không có kiến nghị",
    title_on_time="Đúng hạn theo địa bàn",
    no_deadline="Chưa có hạn nào",
)


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    offload.shutdown()
    yield
    offload.shutdown()


def _exit() -> None:
    os._exit(1)


async def test_the_chart_is_drawn_in_another_process() -> None:
    png = await draw(DATA)
    assert png.startswith(PNG) and len(png) > 10_000
    workers = offload.current_workers()
    assert workers and os.getpid() not in workers
    assert (await draw(DATA)).startswith(PNG)
    assert offload.current_workers() == workers  # the same process draws the next


async def test_a_broken_chart_process_falls_back_to_a_thread_and_is_replaced() -> None:
    broken = ProcessPoolExecutor(max_workers=1)
    with pytest.raises(BrokenProcessPool):  # its worker died
        broken.submit(_exit).result()
    offload._pool = broken
    png = await draw(DATA)  # drawn all the same, in a thread
    assert png.startswith(PNG)
    assert offload._pool is None  # the next chart starts a new process
    assert (await draw(DATA)).startswith(PNG)
    assert offload.current_workers()


def _fails(kind: type[Exception]) -> None:
    raise kind("the job's own error")


@pytest.mark.parametrize("kind", [RuntimeError, OSError, ValueError])
async def test_the_jobs_own_error_is_raised_and_keeps_the_process(kind: type[Exception]) -> None:
    """Not mistaken for a broken pool (RuntimeError and OSError are also what a pool raises): the job is
    not run again in a thread, and the process stays for the next job."""
    assert (await draw(DATA)).startswith(PNG)
    workers = offload.current_workers()
    with pytest.raises(kind, match="the job's own error"):
        await offload.run_heavy(_fails, kind)
    assert offload._pool is not None and offload.current_workers() == workers


def _language_of(gettext: object) -> str:
    return gettext("Petitions")  # type: ignore[operator]


async def test_a_translation_crosses_to_the_process_as_its_language() -> None:
    vi = Translator()("vi")
    assert await offload.run_heavy(_language_of, vi) == vi("Petitions") != "Petitions"
