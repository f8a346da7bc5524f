"""scripts/ising_validation_compare.py: its list of misses agrees with the validation metrics."""
from script_loader import load_script

from backend.tasks.ising.evaluate import validation_metrics
from backend.tasks.ising.model import load_ising


def _script():
    return load_script("ising_validation_compare")


def test_listed_misses_match_the_validation_metrics(capsys):
    model = load_ising("none")
    expected = validation_metrics(model, num=200)
    _script().list_misses("none", model, num=200)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == round(expected["count"] * (1 - expected["exact_rate"])) > 0
    # a constant output is 2-periodic: the unbroken model's misses are all wrong uniform states, never mixtures
    assert all(line.endswith("output 2-periodic") for line in lines)
    assert sum("antiferromagnet" in line for line in lines) == expected["per_phase"]["antiferromagnet"]["count"]


def test_usage_error_exits_2(capsys):
    assert _script().main(["no-colons"]) == 2
    assert "usage" in capsys.readouterr().err
    assert _script().main(["--search", "x", "none:none:"]) == 2
    assert "usage" in capsys.readouterr().err


def test_search_rows_never_miss_more_than_the_plain_row():
    """The model's own draws are the same with and without the search, and the search keeps them unless a proposal
    has a lower true energy, so per Hamiltonian it can only turn a miss into a hit (noise: every draw differs)."""
    from backend.tasks.ising.evaluate import validation_outcomes

    model = load_ising("noise")
    plain, searched = validation_outcomes(model, num=300), validation_outcomes(model, num=300, search=2)
    assert (searched.excess <= plain.excess + 1e-9).all()
    assert (searched.excess < plain.excess - 1e-9).any()
