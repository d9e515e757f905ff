"""``python -m bot bench`` with tiny numbers: it runs end to end and prints every figure it promises.

Not a timed test: the figures are not judged, only that they are printed (and no step failed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELDS = (
    "updates_per_s",
    "p50_ms",
    "p99_ms",
    "cpu_ms_per_update",
    "redis_commands_per_update",
    "others_p99_ms_without_slow_user",
    "others_p99_ms_with_slow_user",
    "rss_mb_bot",
    "peer_updates_per_s",
    "ratio_updates_per_s",
    "ratio_p99",
    "ratio_cpu_per_update",
)


def test_bench_prints_its_figures(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "bench",
            "--citizens=3",
            "--hol-citizens=2",
            "--warmup=0",
            "--slow-seconds=0.2",
            "--offered-rate=20",
            "--duration=1",
            "--step-timeout=20",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in FIELDS:
        assert re.search(rf"^{name}: \d+(\.\d+)?", out, re.MULTILINE), f"{name} missing in:\n{out}"
    assert re.search(r"^offered_20: .* updates/s done, p50 .* ms, p99 .* ms", out, re.MULTILINE), out
    assert "failures: 0" in out, out + result.stderr
