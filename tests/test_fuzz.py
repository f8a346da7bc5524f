"""Fast property-based fuzzing: the strategies of tests/fuzz against every graph reader and every command.

The only outcomes allowed are the clean ones of ``fuzz.outcomes``: a result that keeps the contract (a graph
with the invariants of backend.graph_io, JSON on stdout) or a one-line refusal. ``make fuzz`` runs thousands
of the same inputs under time and memory limits, commands also as real processes.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fuzz.inputs import SEEDS, CliCase, FileArg, cli_cases, graph_files, point_cloud_files, valid_files, valid_point_clouds
from fuzz.outcomes import cli_in_process, parse_outcome, process_outcome, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.graph_io import FORMATS, parse_graph_bytes
from backend.pointcloud import PointCloudError, canonicalize_point_cloud
from backend.pointcloud_io import PointCloudInputError, parse_point_cloud

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("fmt", FORMATS)
@settings(FAST, max_examples=80)
@given(data=st.data())
def test_every_reader_survives_hostile_bytes(fmt: str, data: st.DataObject) -> None:
    with time_limit(30):
        outcome = parse_outcome(fmt, data.draw(graph_files(fmt)))
    assert outcome.kind in ("ok", "error"), outcome.detail


@pytest.mark.parametrize("fmt", FORMATS)
@settings(FAST, max_examples=20)
@given(data=st.data())
def test_every_reader_accepts_valid_files(fmt: str, data: st.DataObject) -> None:
    outcome = parse_outcome(fmt, data.draw(valid_files(fmt)))
    assert outcome.kind == "ok", outcome.detail


@pytest.mark.parametrize("fmt", FORMATS)
def test_seed_files_parse(fmt: str) -> None:
    g = parse_graph_bytes(SEEDS[fmt], fmt)
    assert g.n == 10 and len(g.edges) == 15


@pytest.mark.parametrize("fmt", ["xyz", "json"])
@settings(FAST, max_examples=80)
@given(data=st.data())
def test_the_point_cloud_reader_and_canonicalization_survive_hostile_bytes(fmt: str, data: st.DataObject) -> None:
    """A cloud is read and canonicalized, or refused in one line; nothing else happens."""
    with time_limit(30):
        try:
            cloud = parse_point_cloud(data.draw(point_cloud_files(fmt)), fmt, source="f")
            form = canonicalize_point_cloud(cloud.points, cloud.types)
            assert form.n == cloud.n
        except (PointCloudInputError, PointCloudError) as exc:
            assert "\n" not in str(exc) and str(exc)


@settings(FAST, max_examples=20)
@given(case=valid_point_clouds())
def test_the_point_cloud_reader_accepts_valid_files(case) -> None:
    suffix, data = case
    assert parse_point_cloud(data, suffix[1:]).n >= 2


@settings(FAST, max_examples=30)
@given(case=cli_cases())
def test_every_command_survives_hostile_command_lines(case) -> None:
    with tempfile.TemporaryDirectory() as tmp, time_limit(60):
        outcome = process_outcome(*cli_in_process(case.materialise(Path(tmp))))
    assert outcome.kind in ("ok", "error"), f"{outcome.detail}\n{outcome.stderr}"


REGRESSIONS = [  # faults the fuzzing found, each now a clean one-line refusal
    (("canon", "graph", FileArg("pipe.txt", "fifo")), "not a regular file"),  # blocked forever in open()
    (("predict", "graph-ae", "--graph", FileArg("pipe.gml", "fifo")), "not a regular file"),  # the same
    (("predict", "ising", "--couplings", FileArg("c.json", "unreadable")), "cannot be read"),  # OSError traceback
    (("predict", "ising", "--couplings", FileArg("c.npy", "fifo")), "is not a regular file"),  # said "does not exist"
    (("predict", "ising", "--couplings", "x" * 300 + ".json"), "File name too long"),  # OSError traceback
    (("predict", "ising", "--jx", "1", "--jy", "1", "--h", "0", "--L", "64", "--samples", "1000"),
     "at most 262,144"),  # about 10 GB: an allocator failure under a 3 GB limit
    (("canon", "graph", FileArg("x\x1b[2J.txt", "file", b"0 0\n")), "x\\x1b[2J.txt"),  # a raw escape sequence
    (("canon", "graph", "g.txt", "--bogus\x07"), "--bogus\\x07"),  # argparse echoes arguments as given
]


@pytest.mark.parametrize(("argv", "fragment"), REGRESSIONS)
def test_regressions_found_by_fuzzing(argv: tuple, fragment: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, time_limit(60):
        outcome = process_outcome(*cli_in_process(CliCase(argv).materialise(Path(tmp))))
    assert outcome.kind == "error" and fragment in outcome.detail, outcome
