"""Running a benchmark script of benchmarks/ from a test: its printed lines and its JSON report."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_benchmark(script, argv, out_dir, timeout=900):
    """``python benchmarks/<script> *argv --json out_dir/report.json`` from the
    repository root; (stdout lines, the report), failing with its stderr's end."""
    out = os.path.join(out_dir, "report.json")
    done = subprocess.run([sys.executable, f"benchmarks/{script}", *argv, "--json", out], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out) as handle:
        return done.stdout.splitlines(), json.load(handle)
