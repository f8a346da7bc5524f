"""``python -m backend predict ising``: good input gives JSON, bad input one line and exit code 2."""
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from backend.checkpoints import read_manifest

pytestmark = pytest.mark.skipif("ising/sympe" not in read_manifest(), reason="Ising weights are not shipped")


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "backend", "predict", "ising", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_constant_input():
    rc, out, err = run("--jx", "-1", "--jy", "-1", "--h", "0", "--samples", "4", "--seed", "3")
    assert rc == 0, err
    data = json.loads(out)
    assert data["L"] == 8 and len(data["samples"]) == 4 and len(data["elements"]) == 4
    for s in data["samples"]:
        grid = np.array(s["spins"])
        assert grid.shape == (8, 8) and set(np.unique(grid)) <= {-1, 1}
        assert s["energy"] >= data["exact_ground_energy"] - 1e-9
    assert data["input"]["phase"] == "antiferromagnet"


def test_search_never_returns_a_higher_energy_than_the_same_draw_without_it():
    args = ("--jx", "0.812", "--jy", "-0.535", "--h", "1.089", "--samples", "6", "--seed", "1")  # near a phase boundary
    plain, searched = (json.loads(run(*args, "--search", k)[1]) for k in ("0", "4"))
    assert plain["search"] == 0 and searched["search"] == 4
    assert plain["elements"] == searched["elements"]
    for a, b in zip(plain["samples"], searched["samples"]):
        assert b["energy"] <= a["energy"] + 1e-9
        assert b["energy"] >= searched["exact_ground_energy"] - 1e-9


def test_varying_input_from_json_and_npy(tmp_path):
    L = 6
    rng = np.random.default_rng(0)
    fields = rng.choice([-1.0, 1.0], size=(3, L, L))
    (tmp_path / "c.json").write_text(json.dumps({"jx": fields[0].tolist(), "jy": fields[1].tolist(), "h": 0.1}))
    np.save(tmp_path / "c.npy", fields)
    for name in ("c.json", "c.npy"):
        rc, out, err = run("--couplings", str(tmp_path / name), "--variant", "none")
        assert rc == 0, err
        data = json.loads(out)
        assert data["L"] == L and data["exact_ground_energy"] is None and "annealing_reference_energy" in data


@pytest.mark.parametrize(
    "args",
    [
        ("--jx", "abc", "--jy", "1", "--h", "0"),
        ("--jx", "nan", "--jy", "1", "--h", "0"),
        ("--jx", "inf", "--jy", "1", "--h", "0"),
        ("--jx", "1", "--jy", "1"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--L", "7"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--L", "100000"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--L", "x"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--samples", "0"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--search", "-1"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--search", "x"),
        ("--jx", "1", "--jy", "1", "--h", "0", "--variant", "bogus"),
        ("--couplings", "/nonexistent.json"),
    ],
)
def test_bad_values_give_one_line_and_exit_2(args):
    rc, out, err = run(*args)
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "content, name",
    [
        ('{"jx": [[1, 2], [3]], "jy": 1, "h": 0}', "ragged.json"),
        ('{"jx": 1, "jy": 1}', "missing.json"),
        ('{"jx": [[1, 1, 1], [1, 1, 1], [1, 1, 1]], "jy": 1, "h": 0}', "odd.json"),
        ('{"jx": [[1, NaN], [1, 1]], "jy": 1, "h": 0}', "nan.json"),
        ("not json", "broken.json"),
        ("[1, 2, 3]", "list.json"),
    ],
)
def test_bad_couplings_files(tmp_path, content, name):
    path = tmp_path / name
    path.write_text(content)
    rc, out, err = run("--couplings", str(path))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_npy_shape(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((2, 4, 4)))
    rc, _, err = run("--couplings", str(tmp_path / "bad.npy"))
    assert rc == 2 and "shape" in err


def _npy_with_header(shape) -> bytes:
    header = np.lib.format.header_data_from_array_1_0(np.zeros((3, 4, 4)))
    header["shape"] = shape
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue() + bytes(3 * 4 * 4 * 8)


def _npz_bytes() -> bytes:
    stream = io.BytesIO()
    np.savez(stream, a=np.zeros((3, 4, 4)))
    return stream.getvalue()


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("huge_int.json", b'{"jx": 1' + b"0" * 400 + b', "jy": 1, "h": 0}', "cannot be read"),
        ("deep.json", b'{"jx": ' + b"[" * 100_000 + b"]" * 100_000 + b', "jy": 1, "h": 0}', "nested too deeply"),
        ("empty.npy", b"", "not a NumPy .npy file"),
        ("renamed.npy", _npz_bytes(), "not a NumPy .npy file"),
        ("claims_huge.npy", _npy_with_header((3, 100_000, 100_000)), "more data than the file holds"),
    ],
)
def test_hostile_couplings_files_are_refused_before_any_allocation(tmp_path, name, content, says):
    (tmp_path / name).write_bytes(content)
    rc, out, err = run("--couplings", str(tmp_path / name))
    assert rc == 2 and out == "" and says in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
