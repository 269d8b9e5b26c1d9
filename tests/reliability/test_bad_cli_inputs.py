"""Issue 19's reliability sweep: every case of tests/reliability/cases.py run from
the outside (``kcc ARGV`` in-process, a subprocess where a signal or a concurrent
run needs one): the exit status, a message naming the bad value, no traceback,
nothing written outside the run directory, and the case's own checks."""

import pytest


def test_bad_cli_input(case, cases, tiny_run, tmp_path):
    outcome = cases.run_case(case, tmp_path, tiny_run)
    if outcome.problems:
        problems = "\n".join(f"  [{p.kind}] {p.text}" for p in outcome.problems)
        pytest.fail(f"{case.name} (filed: {case.filed}), exit {outcome.code} after {outcome.seconds:.1f} s:\n"
                    f"{problems}\n--- output (end) ---\n{outcome.output[-2000:]}", pytrace=False)


def test_every_category_has_a_case_and_every_error_case_a_message(cases):
    filed = {case.filed for case in cases.CASES}
    assert filed == set(cases.CATEGORIES) - {"clear", "fine"}
    for case in cases.CASES:
        assert case.expect in ("error", "ok"), case.name
        assert case.expect == "ok" or case.message, f"{case.name}: an error case must say what its message names"
        assert bool(case.argv) != bool(case.call), f"{case.name}: argv or call, not both"
