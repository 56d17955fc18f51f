"""The benchmark script keeps running: ``benchmarks/run.py --smoke`` (tiny sizes, no peers).

Timings are never asserted here: the machines are shared and noisy. Only that the script exits 0,
prints every section's tables, and writes the same report to ``--output``.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")


def test_benchmark_smoke_mode_prints_every_table(tmp_path):
    report = tmp_path / "smoke.md"
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--smoke", "--output", str(report)],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    for heading in ("## A.", "## B.", "## C.", "## D.", "## G.", "## H."):
        assert heading in text, heading
    for header in ("| contender | time / call (median) |", "| version | n | contender |",
                   "| N | symdiff decorate + first call (median) |", "| target (A) |", "| target (D) |",
                   "| target (H) |"):
        assert header in text, header
    # the floors are checked against the closed forms and timed
    assert "| hand-written `math` derivative (floor) |" in text
    floor_rows = [line for line in text.splitlines() if "(floor)" in line]
    assert floor_rows and all("FAILED" not in line for line in floor_rows)
    # peers are never needed in smoke mode
    assert "skipped (--smoke)" in text
    assert report.read_text().startswith(text)
    # a hand-written tail after the marker survives a rerun
    report.write_text(report.read_text() + "\nhand-written diagnosis\n")
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--smoke", "--sections", "A", "--output", str(report)],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = report.read_text()
    assert kept.startswith(proc.stdout) and kept.endswith("\nhand-written diagnosis\n")
