"""scripts/device_check.py: on the CPU it compares the CPU with itself, so every check must pass exactly; this keeps
the script runnable for the next GPU machine."""
from script_loader import load_script


def test_every_check_passes_on_the_cpu(monkeypatch, capsys):
    monkeypatch.setenv("SYMPE_DEVICE", "cpu")
    assert load_script("device_check").main() == 0
    out = capsys.readouterr().out
    checks = [line for line in out.splitlines() if line.startswith(("ok", "FAIL"))]
    assert len(checks) == 6 and all(line.startswith("ok") for line in checks)
    assert "qm9 sampling: the same molecules" in out
