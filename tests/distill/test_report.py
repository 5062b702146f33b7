"""The committed RESULTS.md tables are exactly what the report writer makes of the committed per-row eval JSONs
(the report reproduces byte for byte from cached evals)."""
import json
import pathlib

import pytest

from distill.evaluation.claims import claim_lines
from distill.evaluation.experiments import ROWS
from distill.evaluation.report import few_step_table, table1, table3

ROOT = pathlib.Path(__file__).resolve().parents[2]
# the archives (reports/archive/) were written by the report code of their day and stay as they are
REPORTS = [("reports/teacher-13921/eval", "reports/teacher-13921/RESULTS.md")]


@pytest.mark.parametrize("eval_dir,report", REPORTS)
def test_tables_reproduce_from_the_cached_evals(eval_dir, report):
    results = {}
    for row in ROWS:
        path = ROOT / eval_dir / f"{row.name}.json"
        results[row.name] = json.loads(path.read_text()) if path.exists() else None
    assert any(results.values()), f"no cached evals in {eval_dir}"
    text = (ROOT / report).read_text()
    for table in (table1(results), table3(results), few_step_table(results), claim_lines(results)):
        assert "\n".join(table) in text
