"""The paper's claims, one sentence each, decided from the measured rows: holds, does not hold, or holds only under a
stated condition, with the numbers. A difference counts when it exceeds the seeds' spread of the two rows together
(their standard deviations over seeds, added in quadrature), and never less than one point."""
from __future__ import annotations

import math

from .experiments import EQUAL_STEPS

MIN_MARGIN = 0.01  # one accuracy point: below it two rows are the same on 350 prompts × seeds


def _acc(r: dict) -> tuple[float, float]:
    return r["accuracy"]["all"], r.get("accuracy_std_over_seeds", {}).get("all", 0.0)


def compare(results: dict[str, dict | None], a: str, b: str) -> tuple[int, str] | None:
    """(sign, numbers) for "a is better than b": +1 a is better, −1 b is, 0 within the spread; None if either row is
    missing. numbers reads "a 75.6 ± 2.5% vs b 58.1% (+17.5 points; FD 2.57 vs 2.69)"."""
    ra, rb = results.get(a), results.get(b)
    if ra is None or rb is None:
        return None
    (xa, sa), (xb, sb) = _acc(ra), _acc(rb)
    d, margin = xa - xb, max(math.hypot(sa, sb), MIN_MARGIN)
    sign = 1 if d > margin else -1 if d < -margin else 0

    def pct(x: float, s: float) -> str:
        return f"{100 * x:.1f}" + (f" ± {100 * s:.1f}" if s else "") + "%"
    return sign, (f"{a} {pct(xa, sa)} vs {b} {pct(xb, sb)} ({100 * d:+.1f} points, margin {100 * margin:.1f}; "
                  f"FD {ra['fd']:.2f} vs {rb['fd']:.2f})")


def _verdict(found: tuple[int, str] | None, missing: str) -> str:
    if found is None:
        return f"not measured yet ({missing} not run)"
    sign, numbers = found
    return {1: "holds", 0: "does not hold measurably (within the spread)", -1: "does not hold (the reverse)"}[sign] + \
        f": {numbers}"


def _at_both(results: dict[str, dict | None], a: str, b: str) -> str:
    """The comparison at equal compute and at equal steps (the rows' -steps twins)."""
    twin = f"-steps{EQUAL_STEPS}"
    return (f"at equal compute {_verdict(compare(results, a, b), f'{a} or {b}')}; at equal steps "
            f"{_verdict(compare(results, a + twin, b + twin), f'{a}{twin} or {b}{twin}')}")


def claim_lines(results: dict[str, dict | None]) -> list[str]:
    lines = []
    teacher = compare(results, "flash-3", "teacher-dpm25")
    if teacher is None:
        lines.append("- **3 steps ≈ the teacher**: not measured yet (flash-3 or teacher-dpm25 not run).")
    else:
        sign, numbers = teacher
        shipped = compare(results, "shipped-flash-3", "teacher-dpm25")
        lines.append(f"- **3 steps ≈ the teacher**: {'holds' if sign >= 0 else 'does not hold at the budget'}: "
                     f"{numbers}" + ("" if shipped is None else f"; the app's 3-step student, trained longer: "
                                     f"{'holds' if shipped[0] >= 0 else 'does not hold'}: {shipped[1]}") + ".")
    for k in (1, 2, 3):
        lines.append(f"- **Beats LCM at {k} step{'s' if k > 1 else ''}**: "
                     + _at_both(results, f"flash-{k}", f"lcm-{k}") + ".")
    for other, name in (("progressive-4", "progressive distillation (4 steps)"), ("add-4", "ADD-style (4 steps)")):
        lines.append(f"- **Beats {name} with 3 steps**: " + _at_both(results, "flash-3", other) + ".")
    for ablation, part in (("flash-3-no-backward", "Backward distillation"), ("flash-3-no-srl", "SRL"),
                           ("flash-3-no-nc", "Noise correction (trained without it)"),
                           ("flash-3-no-disc", "The discriminator"),
                           ("flash-3-paper-gamma", "The resolution-aware γ (against the paper's γ)")):
        lines.append(f"- **{part} helps**: " + _at_both(results, "flash-3", ablation) + ".")
    lines.append("- **Noise correction helps at sampling (same weights)**: "
                 + _verdict(compare(results, "flash-3", "flash-3-sampled-no-nc"), "flash-3-sampled-no-nc") + ".")
    return lines
