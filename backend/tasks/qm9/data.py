"""QM9 as dense molecular graphs (heavy atoms only), read from the CSVs shipped in the ``qm9pack`` wheel.

Pipeline (nothing is downloaded):

1. ``read_qm9_smiles`` reads (QM9 Index, SMILES) from ``qm9pack/data/qm9_part{1,2,3}.csv`` with the stdlib ``csv``
   module (``qm9pack`` itself is never imported: its ``__init__`` needs ``pkg_resources``).
2. ``smiles_to_graph`` parses each SMILES with RDKit, kekulizes it (aromatic bonds become explicit single/double
   bonds), drops hydrogens and returns atom types (indices into ``ATOM_TYPES``) and bonds (u, v, order) with u < v.
   Formal charges are not represented: a zwitterion such as ``[NH3+]CC([O-])=O`` becomes the neutral graph of
   ``NCC(=O)O``.
3. ``graph_to_mol`` / ``graph_to_smiles`` go back: a nitrogen with four bonds (explicit valence 4) gets charge +1
   (the DiGress convention), then RDKit sanitizes; a graph is *valid* when it sanitizes and is connected.
4. ``load_qm9`` stacks the graphs into padded tensors (``N_MAX`` = 9 nodes), draws a seeded train/val/test split
   (``make_split``) and caches everything with ``torch.save`` under ``data_cache/qm9`` (or ``$SYMPE_CACHE_DIR``).
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from tqdm import tqdm

__all__ = [
    "ATOM_TYPES",
    "BOND_TYPES",
    "N_MAX",
    "PROCESSING_VERSION",
    "DEFAULT_CACHE_DIR",
    "QM9Graphs",
    "qm9_csv_paths",
    "read_qm9_smiles",
    "smiles_to_graph",
    "graph_to_mol",
    "graph_to_smiles",
    "dense_to_graph",
    "split_sizes",
    "make_split",
    "split_hash",
    "type_marginals",
    "load_qm9",
]

ATOM_TYPES = ("C", "N", "O", "F")
BOND_TYPES = ("none", "single", "double", "triple")  # index = bond order
N_MAX = 9
PROCESSING_VERSION = 1  # bump whenever the processing changes: it is part of the cache file name
DEFAULT_CACHE_DIR = "data_cache/qm9"
CSV_NAMES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
SPLITS = ("train", "val", "test")
REPO_ROOT = Path(__file__).resolve().parents[2]

Graph = tuple[list[int], list[tuple[int, int, int]]]


def _rdkit():
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem


# ----------------------------------------------------------------------------------------------------------------------
# Raw data


def qm9_csv_paths() -> list[Path]:
    """The three QM9 CSVs of the installed ``qm9pack`` wheel (without importing ``qm9pack``)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("QM9 needs the qm9pack wheel, which ships the QM9 table: pip install qm9pack==1.0.3 "
                           "(see requirements.txt)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    paths = [folder / name for name in CSV_NAMES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RuntimeError(f"the qm9pack installation lacks its QM9 CSVs: {', '.join(missing)}; reinstall qm9pack")
    return paths


def read_qm9_smiles(limit: int | None = None) -> list[tuple[int, str]]:
    """(QM9 Index, SMILES) of every molecule, ordered by Index. ``limit`` keeps the first ``limit`` rows (the parts
    hold consecutive Index ranges, so these are the lowest indices)."""
    csv.field_size_limit(sys.maxsize)
    rows: list[tuple[int, str]] = []
    for path in qm9_csv_paths():
        with open(path, newline="", encoding="utf-8") as f:
            for record in csv.DictReader(f):
                if limit is not None and len(rows) >= limit:
                    break
                rows.append((int(record["Index"]), record["SMILES"]))
        if limit is not None and len(rows) >= limit:
            break
    rows.sort(key=lambda r: r[0])
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# SMILES <-> graph


def smiles_to_graph(smiles: str) -> Graph | None:
    """Heavy-atom graph of a SMILES: (atom types as indices into ``ATOM_TYPES``, bonds (u, v, order) with u < v and
    order 1..3 after kekulization). Hydrogens are dropped and formal charges are ignored (QM9's few zwitterions map
    to their neutral graph). Returns None, never raising, for an unparsable SMILES, an atom outside C/N/O/F, a bond
    that is not single/double/triple after kekulization, more than ``N_MAX`` heavy atoms, or no heavy atom."""
    try:
        Chem = _rdkit()
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return None
        Chem.Kekulize(mol, clearAromaticFlags=True)
        heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() != 1]
        if not heavy or len(heavy) > N_MAX:
            return None
        position = {idx: k for k, idx in enumerate(heavy)}
        atoms = []
        for idx in heavy:
            symbol = mol.GetAtomWithIdx(idx).GetSymbol()
            if symbol not in ATOM_TYPES:
                return None
            atoms.append(ATOM_TYPES.index(symbol))
        orders = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}
        bonds = []
        for bond in mol.GetBonds():
            a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            if a not in position or b not in position:
                continue
            order = orders.get(bond.GetBondType())
            if order is None:
                return None
            u, v = sorted((position[a], position[b]))
            bonds.append((u, v, order))
        return atoms, sorted(bonds)
    except Exception:
        return None


def graph_to_mol(atom_types: Sequence[int], bonds: Sequence[tuple[int, int, int]]):
    """The sanitized RDKit molecule of a graph, or None when it is invalid. Bonds of order 0 are skipped; a
    nitrogen with explicit valence 4 gets formal charge +1 (DiGress convention); every other atom is neutral with
    implicit hydrogens. Valid means: at least one atom, atom types and bonds in range, no self-loop or repeated
    bond, RDKit sanitization succeeds, and the molecule is one connected fragment. Never raises."""
    try:
        Chem = _rdkit()
        atom_types = [int(t) for t in atom_types]
        n = len(atom_types)
        if n == 0 or any(not 0 <= t < len(ATOM_TYPES) for t in atom_types):
            return None
        mol = Chem.RWMol()
        for t in atom_types:
            mol.AddAtom(Chem.Atom(ATOM_TYPES[t]))
        bond_types = (None, Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)
        valence = [0] * n
        seen = set()
        for u, v, order in bonds:
            u, v, order = int(u), int(v), int(order)
            if not 0 <= order < len(BOND_TYPES) or not (0 <= u < n and 0 <= v < n):
                return None
            if order == 0:
                continue
            if u == v or (min(u, v), max(u, v)) in seen:
                return None
            seen.add((min(u, v), max(u, v)))
            mol.AddBond(u, v, bond_types[order])
            valence[u] += order
            valence[v] += order
        for i, t in enumerate(atom_types):
            if ATOM_TYPES[t] == "N" and valence[i] == 4:
                mol.GetAtomWithIdx(i).SetFormalCharge(1)
        mol = mol.GetMol()
        Chem.SanitizeMol(mol)
        if len(Chem.GetMolFrags(mol)) != 1:
            return None
        return mol
    except Exception:
        return None


def graph_to_smiles(atom_types: Sequence[int], bonds: Sequence[tuple[int, int, int]]) -> str | None:
    """Canonical RDKit SMILES of a valid graph (see ``graph_to_mol``: sanitizable and connected), else None."""
    mol = graph_to_mol(atom_types, bonds)
    if mol is None:
        return None
    try:
        return _rdkit().MolToSmiles(mol)
    except Exception:
        return None


def dense_to_graph(node_types: torch.Tensor, edge_types: torch.Tensor, num_nodes: int) -> Graph:
    """Graph of one dense row: the first ``num_nodes`` node types and the bonds (u, v, order) of the upper
    triangle of ``edge_types`` with order > 0."""
    n = int(num_nodes)
    atoms = [int(t) for t in node_types[:n].tolist()]
    upper = torch.triu(edge_types[:n, :n].to(torch.long), diagonal=1)
    bonds = [(int(u), int(v), int(upper[u, v])) for u, v in upper.nonzero().tolist()]
    return atoms, bonds


def _canonical_smiles(smiles: str) -> str:
    Chem = _rdkit()
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else smiles


# ----------------------------------------------------------------------------------------------------------------------
# Dataset


def split_sizes(m: int) -> tuple[int, int, int]:
    """(train, val, test) sizes for ``m`` molecules: test = m // 10, train = min(100 000, round(0.75 m)), val the
    rest."""
    test = m // 10
    train = min(100_000, round(0.75 * m))
    return train, m - train - test, test


def make_split(m: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded split of range(m): a ``torch.randperm`` cut into train, val, test (in that order, sizes from
    ``split_sizes``); each part sorted, as long tensors."""
    perm = torch.randperm(m, generator=torch.Generator().manual_seed(seed))
    train, val, _ = split_sizes(m)
    parts = (perm[:train], perm[train:train + val], perm[train + val:])
    return {name: torch.sort(part).values.to(torch.long) for name, part in zip(SPLITS, parts)}


def split_hash(split: dict[str, torch.Tensor]) -> str:
    """sha256 hex digest of the int64 bytes of the train, val and test index tensors, in that order."""
    digest = hashlib.sha256()
    for name in SPLITS:
        digest.update(split[name].to(torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass
class QM9Graphs:
    """QM9 molecules as padded dense graphs.

    Attributes:
        node_types: (M, N_MAX) long, indices into ``ATOM_TYPES``; padding is 0.
        edge_types: (M, N_MAX, N_MAX) long bond orders (indices into ``BOND_TYPES``), symmetric, zero diagonal,
            zero on padding.
        num_nodes: (M,) long, heavy atoms per molecule (1..N_MAX).
        smiles: canonical SMILES of each molecule's graph (``graph_to_smiles`` of the parsed graph, so charged
            molecules appear in their neutral-graph form); when that graph is invalid, the RDKit canonical SMILES of
            the original QM9 string instead.
        qm9_index: (M,) long, the QM9 Index of each row.
        split: "train", "val", "test" -> sorted long row indices into this dataset (a partition of range(M)).
        split_hash: ``split_hash(split)``.
        skipped: QM9 molecules that ``smiles_to_graph`` dropped.
    """

    node_types: torch.Tensor
    edge_types: torch.Tensor
    num_nodes: torch.Tensor
    smiles: list[str]
    qm9_index: torch.Tensor
    split: dict[str, torch.Tensor]
    split_hash: str
    skipped: int

    def __len__(self) -> int:
        return int(self.num_nodes.shape[0])

    def tensors(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(node_types, edge_types, num_nodes) of the split ``name``."""
        idx = self.split[name]
        return self.node_types[idx], self.edge_types[idx], self.num_nodes[idx]

    def graph(self, row: int) -> Graph:
        """(atom types, bonds) of one row, as ``smiles_to_graph`` returns them."""
        return dense_to_graph(self.node_types[row], self.edge_types[row], int(self.num_nodes[row]))

    def train_smiles(self) -> set[str]:
        """The set of canonical SMILES of the training split (for novelty)."""
        return {self.smiles[i] for i in self.split["train"].tolist()}


def type_marginals(graphs: QM9Graphs, split: str = "train") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(node-type marginal (4,), edge-type marginal (4,), size distribution (N_MAX + 1,), index = node count) of a
    split, float64, each summing to 1. Node types count real nodes only; edge types count every unordered pair
    i < j of real nodes of each graph, an absent bond as type 0."""
    node_types, edge_types, num_nodes = graphs.tensors(split)
    real = torch.arange(N_MAX) < num_nodes[:, None]
    nodes = torch.bincount(node_types[real], minlength=len(ATOM_TYPES)).to(torch.float64)
    pairs = real[:, :, None] & real[:, None, :] & torch.ones(N_MAX, N_MAX, dtype=torch.bool).triu(1)
    edges = torch.bincount(edge_types[pairs], minlength=len(BOND_TYPES)).to(torch.float64)
    sizes = torch.bincount(num_nodes, minlength=N_MAX + 1).to(torch.float64)
    return nodes / nodes.sum(), edges / edges.sum(), sizes / sizes.sum()


# ----------------------------------------------------------------------------------------------------------------------
# Processing and cache


def _resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    path = Path(cache_dir if cache_dir is not None else os.environ.get("SYMPE_CACHE_DIR") or DEFAULT_CACHE_DIR)
    return path if path.is_absolute() else REPO_ROOT / path


def _csv_sizes() -> dict[str, int]:
    return {p.name: p.stat().st_size for p in qm9_csv_paths()}


def _process(limit: int | None, progress: bool) -> dict:
    rows = read_qm9_smiles(limit)
    node_rows, num_nodes, qm9_index, smiles, edge_entries = [], [], [], [], []
    skipped = 0
    for index, raw in tqdm(rows, desc="QM9", unit="mol", disable=not progress):
        graph = smiles_to_graph(raw)
        if graph is None:
            skipped += 1
            continue
        atoms, bonds = graph
        row = len(num_nodes)
        node_rows.append(atoms + [0] * (N_MAX - len(atoms)))
        num_nodes.append(len(atoms))
        qm9_index.append(index)
        smiles.append(graph_to_smiles(atoms, bonds) or _canonical_smiles(raw))
        edge_entries.extend((row, u, v, order) for u, v, order in bonds)
    m = len(num_nodes)
    edge_types = torch.zeros(m, N_MAX, N_MAX, dtype=torch.uint8)
    if edge_entries:
        b, u, v, order = torch.tensor(edge_entries, dtype=torch.long).unbind(1)
        edge_types[b, u, v] = order.to(torch.uint8)
        edge_types[b, v, u] = order.to(torch.uint8)
    return {
        "node_types": torch.tensor(node_rows, dtype=torch.uint8).reshape(m, N_MAX),
        "edge_types": edge_types,
        "num_nodes": torch.tensor(num_nodes, dtype=torch.uint8),
        "qm9_index": torch.tensor(qm9_index, dtype=torch.long),
        "smiles": smiles,
        "skipped": skipped,
    }


def _load_cache(path: Path, expected: dict) -> dict | None:
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, weights_only=True)
    except Exception:
        return None
    if not isinstance(payload, dict) or any(payload.get(k) != v for k, v in expected.items()):
        return None
    return payload


def load_qm9(cache_dir: str | Path | None = None, limit: int | None = None, seed: int = 0,
             progress: bool = True) -> QM9Graphs:
    """QM9 as ``QM9Graphs`` with the split ``make_split(M, seed)``.

    The first call parses the molecules (tqdm bar unless ``progress`` is False) and writes
    ``qm9_v{PROCESSING_VERSION}_limit-{limit or 'all'}_seed-{seed}.pt`` atomically into the cache folder; later
    calls load it (``weights_only=True``) without reprocessing, unless the file is unreadable or records another
    processing version, limit, seed or other qm9pack CSV sizes. ``cache_dir`` None means ``$SYMPE_CACHE_DIR`` or
    else ``DEFAULT_CACHE_DIR``; a relative folder is relative to the repository root.
    """
    folder = _resolve_cache_dir(cache_dir)
    path = folder / f"qm9_v{PROCESSING_VERSION}_limit-{limit if limit is not None else 'all'}_seed-{seed}.pt"
    expected = {"version": PROCESSING_VERSION, "limit": limit, "seed": seed, "csv_sizes": _csv_sizes()}
    payload = _load_cache(path, expected)
    if payload is None:
        payload = _process(limit, progress)
        payload["split"] = make_split(len(payload["num_nodes"]), seed)
        payload.update(expected)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            torch.save(payload, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    split = {name: payload["split"][name].to(torch.long) for name in SPLITS}
    return QM9Graphs(
        node_types=payload["node_types"].to(torch.long),
        edge_types=payload["edge_types"].to(torch.long),
        num_nodes=payload["num_nodes"].to(torch.long),
        smiles=list(payload["smiles"]),
        qm9_index=payload["qm9_index"].to(torch.long),
        split=split,
        split_hash=split_hash(split),
        skipped=int(payload["skipped"]),
    )
