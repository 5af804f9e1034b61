"""pytest glue for e2e/run.sh: one result line per test, in the format e2e/lib/reporter.mjs uses

    PASS python: <test> (<ms> ms)
    FAIL python: <test> (<ms> ms)
         <why, indented>

written to the file named by E2E_RESULTS (or to standard output), so run.sh can count them.
"""

import os
import sys

_results = os.environ.get('E2E_RESULTS')


def _emit(line: str) -> None:
    if _results:
        with open(_results, 'a', encoding='utf-8') as f:
            f.write(line + '\n')
    else:
        sys.stdout.write(line + '\n')


def pytest_runtest_logreport(report):  # noqa: ANN001 (pytest hook)
    # A test is reported once: at its call, or at setup/teardown if that is where it failed.
    failed_outside_call = report.when in ('setup', 'teardown') and report.failed
    if report.when != 'call' and not failed_outside_call:
        return
    name = report.nodeid.split('::', 1)[-1]
    ms = round(report.duration * 1000)
    if report.passed:
        _emit(f'PASS python: {name} ({ms} ms)')
        return
    if report.skipped:
        _emit(f'FAIL python: {name} ({ms} ms)\n     skipped: a test that cannot run is not a pass')
        return
    where = '' if report.when == 'call' else f' (in {report.when})'
    why = getattr(report.longrepr, 'reprcrash', None)
    text = why.message if why is not None else str(report.longrepr)
    lines = text.strip().splitlines()[:12]
    _emit(f'FAIL python: {name}{where} ({ms} ms)\n' + '\n'.join(f'     {line}' for line in lines))
