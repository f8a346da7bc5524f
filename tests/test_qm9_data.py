"""QM9 data: SMILES <-> graph round trips (charged molecules map to their neutral graph, N with four bonds comes
back as N+), strict validity, rejected inputs, and ``load_qm9`` on the first 300 molecules (tensor invariants, the
seeded split, the cache, the marginals against a brute-force count). The full dataset is never processed here."""
from __future__ import annotations

import hashlib
import itertools

import pytest
import torch
from rdkit import Chem

from backend.tasks.qm9 import data as qm9_data
from backend.tasks.qm9.data import (
    ATOM_TYPES,
    BOND_TYPES,
    N_MAX,
    dense_to_graph,
    graph_to_mol,
    graph_to_smiles,
    load_qm9,
    make_split,
    smiles_to_graph,
    split_sizes,
    type_marginals,
)

LIMIT = 300


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> qm9_data.QM9Graphs:
    return load_qm9(cache_dir=tmp_path_factory.mktemp("qm9"), limit=LIMIT, progress=False)


# ----------------------------------------------------------------------------------------------------------------------
# SMILES <-> graph


def test_benzene_kekulized_round_trip():
    atoms, bonds = smiles_to_graph("c1ccccc1")
    assert atoms == [ATOM_TYPES.index("C")] * 6
    assert len(bonds) == 6 and all(u < v for u, v, _ in bonds)
    assert sorted(order for _, _, order in bonds) == [1, 1, 1, 2, 2, 2]
    for i in range(6):  # every carbon has one single and one double bond
        assert sorted(o for u, v, o in bonds if i in (u, v)) == [1, 2]
    assert graph_to_smiles(atoms, bonds) == "c1ccccc1"


@pytest.mark.parametrize("smiles", ["CC(=O)N", "C#N", "OC1COC1", "FC(F)(F)C#N", "c1cc[nH]c1", "O=C1C=CC(=O)N1", "C"])
def test_neutral_round_trip(smiles):
    graph = smiles_to_graph(smiles)
    assert graph is not None
    assert graph_to_smiles(*graph) == canonical(smiles)


@pytest.mark.parametrize("charged, neutral", [
    ("C[NH3+]", "CN"),                                   # N with one bond: neutral amine
    ("[NH3+]CC([O-])=O", "NCC(=O)O"),                    # QM9 zwitterion -> neutral amino acid
    ("C[NH+]1CC2(CC12)C([O-])=O", "CN1CC2(C(=O)O)CC12"),  # a QM9 zwitterion
    ("C[N+](C)(C)C", "C[N+](C)(C)C"),                    # four bonds: the N+ convention restores the charge
    ("C[N+]#[C-]", "C[N+]#C"),                           # isocyanide: N+ kept, C- becomes a CH
])
def test_charged_molecules_map_to_their_neutral_graph(charged, neutral):
    atoms, bonds = smiles_to_graph(charged)
    assert graph_to_smiles(*smiles_to_graph(neutral)) == graph_to_smiles(atoms, bonds)
    assert graph_to_smiles(atoms, bonds) == canonical(neutral)
    assert Chem.GetFormalCharge(graph_to_mol(atoms, bonds)) == Chem.GetFormalCharge(Chem.MolFromSmiles(neutral))


@pytest.mark.parametrize("atoms, bonds", [
    ([0] * 6, [(0, k, 1) for k in range(1, 6)]),   # carbon with five single bonds
    ([0, 0, 2], [(0, 1, 1)]),                      # two fragments (ethane + water)
    ([0, 0], []),                                   # two lone carbons
    ([2, 0, 0, 0], [(0, 1, 1), (0, 2, 1), (0, 3, 1)]),  # oxygen with three bonds
    ([3, 0], [(0, 1, 2)]),                         # F=C
    ([1, 0], [(0, 1, 3), (0, 1, 1)]),              # repeated pair
    ([0], [(0, 0, 1)]),                            # self-loop
    ([], []),                                       # no atom
    ([4], []),                                      # atom type out of range
    ([0, 0], [(0, 2, 1)]),                         # node out of range
    ([0, 0], [(0, 1, 4)]),                         # bond order out of range
])
def test_invalid_graphs_give_none(atoms, bonds):
    assert graph_to_mol(atoms, bonds) is None
    assert graph_to_smiles(atoms, bonds) is None


def test_order_zero_bonds_are_skipped():
    assert graph_to_smiles([0, 0, 2], [(0, 1, 1), (1, 2, 1), (0, 2, 0)]) == "CCO"


def test_graph_to_smiles_never_raises_on_random_graphs():
    gen = torch.Generator().manual_seed(0)
    results = []
    for _ in range(200):
        n = int(torch.randint(1, N_MAX + 1, (1,), generator=gen))
        atoms = torch.randint(0, len(ATOM_TYPES), (n,), generator=gen).tolist()
        bonds = [(u, v, int(torch.randint(0, len(BOND_TYPES), (1,), generator=gen)))
                 for u, v in itertools.combinations(range(n), 2)]
        results.append(graph_to_smiles(atoms, bonds))
    assert any(r is None for r in results)


@pytest.mark.parametrize("smiles", ["[Na+].[Cl-]", "CCCCCCCCCC", "C1=CC=CS1", "", "not a smiles", "C=N=C",
                                    "[H][H]", "CCl"])
def test_smiles_to_graph_rejects(smiles):
    assert smiles_to_graph(smiles) is None


def test_smiles_to_graph_drops_hydrogens():
    assert smiles_to_graph("[H]C([H])([H])O[H]") == smiles_to_graph("CO") == ([0, 2], [(0, 1, 1)])
    assert smiles_to_graph("C" * N_MAX) is not None


# ----------------------------------------------------------------------------------------------------------------------
# Split


@pytest.mark.parametrize("m", [0, 1, 2, 3, 10, 300, 130_831, 200_000])
def test_split_sizes(m):
    train, val, test = split_sizes(m)
    assert min(train, val, test) >= 0 and train + val + test == m
    assert test == m // 10 and train == min(100_000, round(0.75 * m))


def test_make_split_partitions():
    split = make_split(1000, seed=3)
    assert [len(split[k]) for k in ("train", "val", "test")] == list(split_sizes(1000))
    assert torch.equal(torch.sort(torch.cat(list(split.values()))).values, torch.arange(1000))
    assert all(torch.equal(p, torch.sort(p).values) and p.dtype == torch.long for p in split.values())
    assert all(torch.equal(split[k], make_split(1000, seed=3)[k]) for k in split)


# ----------------------------------------------------------------------------------------------------------------------
# load_qm9


def test_load_shapes_and_invariants(small):
    m = len(small)
    assert m + small.skipped == LIMIT and m > 0
    assert small.node_types.shape == (m, N_MAX) and small.node_types.dtype == torch.long
    assert small.edge_types.shape == (m, N_MAX, N_MAX) and small.edge_types.dtype == torch.long
    assert small.num_nodes.shape == (m,) and small.qm9_index.shape == (m,) and len(small.smiles) == m
    assert bool((small.num_nodes >= 1).all()) and bool((small.num_nodes <= N_MAX).all())
    assert torch.equal(small.qm9_index, torch.sort(small.qm9_index).values)
    assert torch.equal(small.edge_types, small.edge_types.transpose(1, 2))
    assert not small.edge_types.diagonal(dim1=1, dim2=2).any()
    assert int(small.node_types.max()) < len(ATOM_TYPES) and int(small.edge_types.max()) < len(BOND_TYPES)
    real = torch.arange(N_MAX) < small.num_nodes[:, None]
    assert not small.node_types[~real].any()
    pair = real[:, :, None] & real[:, None, :]
    assert not small.edge_types[~pair].any()
    assert small.smiles[0] == "C" and int(small.qm9_index[0]) == 1


def test_split_partitions_dataset(small):
    m = len(small)
    sizes = [len(small.split[k]) for k in ("train", "val", "test")]
    assert sizes == list(split_sizes(m))
    assert torch.equal(torch.sort(torch.cat([small.split[k] for k in ("train", "val", "test")])).values,
                       torch.arange(m))
    digest = hashlib.sha256(b"".join(small.split[k].to(torch.int64).numpy().tobytes()
                                     for k in ("train", "val", "test"))).hexdigest()
    assert small.split_hash == digest
    nodes, edges, sizes_ = small.tensors("val")
    assert nodes.shape == (sizes[1], N_MAX) and edges.shape == (sizes[1], N_MAX, N_MAX) and sizes_.shape == (sizes[1],)
    assert small.train_smiles() == {small.smiles[i] for i in small.split["train"].tolist()}


def test_load_is_deterministic_and_cached(small, tmp_path, monkeypatch):
    first = load_qm9(cache_dir=tmp_path, limit=LIMIT, progress=False)
    assert first.split_hash == small.split_hash
    assert torch.equal(first.edge_types, small.edge_types) and first.smiles == small.smiles
    assert len(list(tmp_path.glob("*.pt"))) == 1 and not list(tmp_path.glob("*.tmp"))

    def boom(smiles):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(qm9_data, "smiles_to_graph", boom)
    second = load_qm9(cache_dir=tmp_path, limit=LIMIT, progress=False)
    assert second.split_hash == first.split_hash and torch.equal(second.node_types, first.node_types)
    with pytest.raises(AssertionError, match="cache"):  # another seed is another cache file
        load_qm9(cache_dir=tmp_path, limit=LIMIT, seed=1, progress=False)


def test_stale_cache_is_reprocessed(tmp_path, monkeypatch):
    load_qm9(cache_dir=tmp_path, limit=20, progress=False)
    monkeypatch.setattr(qm9_data, "_csv_sizes", lambda: {"qm9_part1.csv": 1})
    calls = []
    real = qm9_data.smiles_to_graph
    monkeypatch.setattr(qm9_data, "smiles_to_graph", lambda s: calls.append(s) or real(s))
    assert len(load_qm9(cache_dir=tmp_path, limit=20, progress=False)) == 20
    assert len(calls) == 20


def test_seed_changes_split(small, tmp_path):
    other = load_qm9(cache_dir=tmp_path, limit=LIMIT, seed=1, progress=False)
    assert other.split_hash != small.split_hash
    assert torch.equal(other.node_types, small.node_types)
    assert [len(other.split[k]) for k in ("train", "val", "test")] == list(split_sizes(len(other)))


def test_cache_dir_env_var_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMPE_CACHE_DIR", str(tmp_path / "env"))
    assert len(load_qm9(limit=5, progress=False)) == 5
    assert len(list((tmp_path / "env").glob("qm9_v*_limit-5_seed-0.pt"))) == 1
    assert qm9_data._resolve_cache_dir("data_cache/qm9") == qm9_data.REPO_ROOT / "data_cache" / "qm9"


def test_type_marginals_match_brute_force(small):
    node_m, edge_m, size_m = type_marginals(small, "train")
    nodes = [0] * len(ATOM_TYPES)
    edges = [0] * len(BOND_TYPES)
    sizes = [0] * (N_MAX + 1)
    for row in small.split["train"].tolist():
        atoms, bonds = small.graph(row)
        order = {(u, v): o for u, v, o in bonds}
        for t in atoms:
            nodes[t] += 1
        for u, v in itertools.combinations(range(len(atoms)), 2):
            edges[order.get((u, v), 0)] += 1
        sizes[len(atoms)] += 1
    for got, counts in ((node_m, nodes), (edge_m, edges), (size_m, sizes)):
        assert got.dtype == torch.float64 and abs(float(got.sum()) - 1) < 1e-12
        expected = torch.tensor(counts, dtype=torch.float64)
        torch.testing.assert_close(got, expected / expected.sum())


def test_dataset_graphs_round_trip(small):
    # measured on the first 300 QM9 molecules: every graph is valid and reproduces its stored SMILES
    rebuilt = [graph_to_smiles(*small.graph(i)) for i in range(len(small))]
    assert sum(s is not None for s in rebuilt) == len(small)
    assert rebuilt == small.smiles
    for i in range(len(small)):
        assert dense_to_graph(small.node_types[i], small.edge_types[i], small.num_nodes[i]) == small.graph(i)
