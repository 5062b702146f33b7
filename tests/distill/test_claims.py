"""The claim sentences decide from the rows' numbers: a difference counts beyond the seeds' spread (at least a point),
both budgets are read, and a missing row says so instead of guessing."""
from distill.evaluation.claims import claim_lines, compare


def _row(acc: float, std: float = 0.0, fd: float = 3.0) -> dict:
    return {"accuracy": {"all": acc}, "accuracy_std_over_seeds": {"all": std}, "fd": fd}


def test_a_difference_counts_only_beyond_the_seeds_spread():
    results = {"a": _row(0.80, 0.03), "b": _row(0.76, 0.03), "c": _row(0.70, 0.01), "d": _row(0.705)}
    assert compare(results, "a", "b")[0] == 0  # 4 points, spread 4.2
    assert compare(results, "a", "c")[0] == 1
    assert compare(results, "c", "a")[0] == -1
    assert compare(results, "c", "d")[0] == 0  # 0.5 points: under the one-point floor
    assert compare(results, "a", "missing") is None
    assert "+4.0 points" in compare(results, "a", "b")[1]


def test_claims_read_both_budgets_and_name_what_is_missing():
    results = {"flash-3": _row(0.76, 0.02), "lcm-3": _row(0.50, 0.02), "flash-3-steps500": _row(0.77, 0.01),
               "lcm-3-steps500": _row(0.85, 0.01), "teacher-dpm25": _row(0.90, 0.005)}
    lines = claim_lines(results)
    lcm3 = next(line for line in lines if "Beats LCM at 3 steps" in line)
    assert "at equal compute holds" in lcm3 and "at equal steps does not hold (the reverse)" in lcm3
    teacher = next(line for line in lines if "≈ the teacher" in line)
    assert "does not hold at the budget" in teacher
    lcm1 = next(line for line in lines if "Beats LCM at 1 step" in line)
    assert lcm1.count("not measured yet") == 2 and "flash-1 or lcm-1 not run" in lcm1
