"""Mixed precision by hardware: "auto" takes bf16 only where it runs natively."""

from distill.runs import accel


def test_auto_mixed_precision_takes_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(accel.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(accel, "_read_cpuinfo", lambda: "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert accel.resolve_mixed_precision("auto") == "no" and accel.cpu_model() == "AMD EPYC"
    for flag in ("avx512_bf16", "amx_bf16"):
        monkeypatch.setattr(accel, "_read_cpuinfo", lambda f=flag: f"flags\t\t: avx2 {f}\n")
        assert accel.resolve_mixed_precision("auto") == "bf16"
    assert accel.resolve_mixed_precision("no") == "no" and accel.resolve_mixed_precision("bf16") == "bf16"


def test_unknown_mixed_precision_is_refused():
    import pytest
    with pytest.raises(ValueError, match="'no', 'bf16' or 'auto'"):
        accel.make_accelerator("fp8")
