"""Issue 19's reliability table, re-measured: run every case of
tests/reliability/cases.py (the table the tests run) and classify each outcome as
the issue did.

    /work/venv/bin/python tools/reliability_table.py [-k TEXT] [--markdown PATH]

Categories, worst first:
  unsafe   code ran, or a file outside the run directory was read, changed or deleted
  lost     work lost or mixed (a resume that loses or mixes epochs, a stale model)
  hang     over the case's time limit
  crash    a traceback
  silent   exit 0 with a wrong result, or a bad input accepted
  unclear  an error that does not name the bad value
  clear    exit != 0 with a message naming the bad value
  fine     a valid input handled correctly (cases that are not errors)
A case keeps the worst category its outcome shows. ``clear``/``fine`` lines with
remarks (another exit status than the case expects, a file written outside the
run directory) are marked ``*`` and the remark is printed. ``harness`` means the
case could not be set up.
"""

import argparse
import importlib.util
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_FILE = os.path.join(REPO, "tests", "reliability", "cases.py")


def load_cases():
    """tests/reliability/cases.py as the module ``reliability_cases``."""
    spec = importlib.util.spec_from_file_location("reliability_cases", CASES_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reliability_cases"] = module
    spec.loader.exec_module(module)
    return module


def classify(cases, case, outcome):
    """``(category, note)`` of one outcome: the worst problem's category, else
    ``clear``/``fine`` (with ``*`` when there are remarks); the note lists every
    problem, worst first, or is the output's last line when there is none."""
    order = [cases.HARNESS] + list(cases.CATEGORIES) + [cases.REMARK]
    ranked = sorted(outcome.problems, key=lambda problem: order.index(problem.kind))
    note = "; ".join(problem.text for problem in ranked) or cases.last_line(outcome.output)
    if ranked and ranked[0].kind != cases.REMARK:
        return ranked[0].kind, note
    return ("fine" if case.expect == "ok" else "clear") + ("*" if ranked else ""), note


def run_all(cases, selected, work):
    """``[(case, outcome, category, note)]`` of ``selected``, each case in its own
    folder under ``work``, after training the tiny run once."""
    tiny_run = cases.train_tiny_run(os.path.join(work, "tiny_run"))
    rows = []
    for index, case in enumerate(selected):
        folder = os.path.join(work, f"case{index:02d}")
        os.makedirs(folder)
        outcome = cases.run_case(case, folder, tiny_run)
        category, note = classify(cases, case, outcome)
        rows.append((case, outcome, category, note))
        print(f"[{index + 1}/{len(selected)}] {category:<8} {case.name} ({outcome.seconds:.1f} s)", file=sys.stderr,
              flush=True)
        _clear_keras()
    return rows


def _clear_keras():
    import keras

    keras.backend.clear_session()


def counts(cases, rows):
    """``[(category, filed count, now count)]`` in the order of the categories."""
    names = list(cases.CATEGORIES) + [cases.HARNESS]
    filed = {name: sum(case.filed == name for case, *_ in rows) for name in names}
    now = {name: sum(category.rstrip("*") == name for _, _, category, _ in rows) for name in names}
    return [(name, filed[name], now[name]) for name in names if filed[name] or now[name] or name in cases.CATEGORIES]


def text_table(cases, rows):
    """The counts and one line per case, as plain text."""
    lines = ["category  filed  now"]
    lines += [f"{name:<8}  {filed:>5}  {now:>3}" for name, filed, now in counts(cases, rows)]
    lines += [f"{'total':<8}  {len(rows):>5}  {len(rows):>3}", ""]
    width = max(len(case.name) for case, *_ in rows) + 2
    lines.append(f"{'case':<{width}}{'filed':<9}{'now':<9}{'exit':>5}{'s':>7}  note")
    for case, outcome, category, note in rows:
        name = case.name + (" +" if case.added else "")
        lines.append(f"{name:<{width}}{case.filed:<9}{category:<9}{_code(outcome):>5}{outcome.seconds:>7.1f}  {note}")
    lines.append("")
    lines.append("+ added by the sweep (a neighbour of an issue case, or a control)")
    return "\n".join(lines)


def markdown_table(cases, rows):
    """The same tables as markdown."""
    lines = ["# Reliability sweep (issue 19), re-measured", "",
             "Cases: tests/reliability/cases.py; run with `python tools/reliability_table.py`.", "",
             "| category | filed | now |", "|---|---:|---:|"]
    lines += [f"| {name} | {filed} | {now} |" for name, filed, now in counts(cases, rows)]
    lines += [f"| total | {len(rows)} | {len(rows)} |", "",
              "| case | filed | now | exit | s | note |", "|---|---|---|---:|---:|---|"]
    for case, outcome, category, note in rows:
        name = case.name + (" (added)" if case.added else "")
        lines.append(f"| {_cell(name)} | {case.filed} | {category} | {_code(outcome)} | {outcome.seconds:.1f} | {_cell(note)} |")
    return "\n".join(lines) + "\n"


def _code(outcome):
    return "-" if outcome.code is None else str(outcome.code)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def main(argv=None):
    """Run the sweep, print the table, optionally write it as markdown; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", default=None, help="only the cases whose name contains TEXT")
    parser.add_argument("--markdown", default=None, metavar="PATH", help="also write the table as markdown to PATH")
    args = parser.parse_args(argv)
    cases = load_cases()
    selected = [c for c in cases.CASES if not args.select or args.select.lower() in c.name.lower()]
    if not selected:
        parser.error(f"no case name contains {args.select!r}")
    with tempfile.TemporaryDirectory(prefix="kcc-reliability-") as work:
        rows = run_all(cases, selected, work)
    print(text_table(cases, rows))
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(markdown_table(cases, rows))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
