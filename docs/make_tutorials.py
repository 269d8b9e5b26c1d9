"""Run tutorials in their full mode and keep what they print and draw under docs/tutorials/.

    python docs/make_tutorials.py 09 10 11        # those tutorials
    python docs/make_tutorials.py --all           # every tutorial (hours on 2 cores: 13 trains ~55 min, 15 ~20 min)

Each tutorial ``tutorials/NN_name.py`` runs as ``python tutorials/NN_name.py --out
docs/tutorials/NN_name`` in its own interpreter (so one tutorial's Keras state never
leaks into the next); its standard output, with TensorFlow's and Keras's per-epoch
lines left out, goes to ``docs/tutorials/NN_name/output.txt`` beside the PNGs it
writes. Files a tutorial writes that are not PNGs (image folders, checkpoints) are
removed afterwards. ``docs/tutorials/README.md`` lists what each one printed.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIALS = os.path.join(ROOT, "tutorials")
OUT = os.path.join(ROOT, "docs", "tutorials")
# Keras's progress lines and TensorFlow's start-up messages: not the tutorial's figures.
NOISE = re.compile(r"^(Epoch \d+/\d+|\s*\d+/\d+ .*step|WARNING|I0000|E0000|W0000|.*cuda|.*absl)")


def tutorial_paths(numbers):
    """``tutorials/NN_*.py`` for each two-digit ``numbers`` entry (all when None)."""
    paths = sorted(glob.glob(os.path.join(TUTORIALS, "[0-9][0-9]_*.py")))
    if numbers is None:
        return paths
    by_number = {os.path.basename(p)[:2]: p for p in paths}
    unknown = [n for n in numbers if n.zfill(2) not in by_number]
    if unknown:
        raise SystemExit(f"no tutorial numbered {', '.join(unknown)}; there are {', '.join(sorted(by_number))}")
    return [by_number[n.zfill(2)] for n in numbers]


def figures_only(folder):
    """Remove everything under ``folder`` but PNG files and output.txt."""
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif not entry.endswith(".png") and entry != "output.txt":
            os.remove(path)


def run_tutorial(path):
    """Run one tutorial in full mode into its docs folder; returns (folder, seconds)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.join(OUT, stem)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    started = time.time()
    with tempfile.TemporaryFile("w+") as errors:
        printed, returncode = _stream([sys.executable, path, "--out", os.path.relpath(folder, ROOT)], env, errors)
        if returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{stem} failed (exit {returncode}):\n{errors.read()[-3000:]}")
    lines = [line for line in printed if not NOISE.match(line)]
    with open(os.path.join(folder, "output.txt"), "w") as handle:
        handle.write(f"$ python tutorials/{stem}.py --out docs/tutorials/{stem}\n" + "\n".join(lines) + "\n")
    figures_only(folder)
    return folder, time.time() - started


def _stream(command, env, errors):
    """Run ``command``, echoing each line it prints (indented, so long trainings
    show their epochs) and keeping them; standard error goes to the file ``errors``.
    Returns (printed lines, exit status)."""
    printed = []
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True) as proc:
        for line in proc.stdout:
            printed.append(line.rstrip("\n"))
            print(f"  | {printed[-1]}", flush=True)
    return printed, proc.returncode


def write_index():
    """docs/tutorials/README.md: each kept tutorial's output and figures."""
    parts = ["# Tutorial outputs\n", "Written by `python docs/make_tutorials.py`; each folder holds the full-mode "
             "output of `tutorials/<name>.py` and its figures.\n"]
    for folder in sorted(glob.glob(os.path.join(OUT, "[0-9][0-9]_*"))):
        stem = os.path.basename(folder)
        if not os.path.exists(os.path.join(folder, "output.txt")):  # still running elsewhere, or failed
            continue
        parts.append(f"\n## {stem}\n\n```\n{open(os.path.join(folder, 'output.txt')).read().rstrip()}\n```\n")
        parts += [f"\n![{name}]({stem}/{name})\n" for name in sorted(os.listdir(folder)) if name.endswith(".png")]
    with open(os.path.join(OUT, "README.md"), "w") as handle:
        handle.write("".join(parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="two-digit tutorial numbers (09 10 ...)")
    parser.add_argument("--all", action="store_true", help="every tutorial")
    args = parser.parse_args(argv)
    if not args.numbers and not args.all:
        parser.error("name tutorials by number or pass --all")
    for path in tutorial_paths(None if args.all else args.numbers):
        print(f"running {os.path.basename(path)} ...", flush=True)
        folder, seconds = run_tutorial(path)
        print(f"  {os.path.relpath(folder, ROOT)} in {seconds:.0f} s", flush=True)
    write_index()


if __name__ == "__main__":
    main()
