"""The encoding kinds: lookup, the facts each one declares, and that the encoders behave as declared."""
import networkx as nx
import pytest
import torch

from backend.canonical import canonicalize_dense
from backend.encodings import ENCODINGS, FIXED, NOISE, NONE, SYMPE, Encoding, Features, encoding, names
from backend.groups import Permutation
from backend.sympe import GraphEncoder
from backend.tasks import TASKS


def test_lookup_by_name_and_refusal_names_the_choices():
    assert [encoding(n) for n in names()] == list(ENCODINGS)
    assert encoding(SYMPE) is SYMPE
    with pytest.raises(ValueError, match="choose from none, noise, sympe, fixed"):
        encoding("sympe-edges", (NONE, NOISE, SYMPE, FIXED))
    with pytest.raises(ValueError, match="unknown encoding 'sympe '"):
        encoding("sympe ")


def test_derived_facts_follow_the_mathematics():
    """Only SymPE is both symmetry-breaking and equivariant in distribution without spending randomness over the
    whole group; the baseline is exactly equivariant and cannot break symmetry; a fixed table is not equivariant."""
    facts = {e.name: (e.random, e.equivariance, e.breaks_symmetry) for e in ENCODINGS}
    assert facts == {
        "none": (False, "exact", False),
        "noise": (True, "in distribution", True),
        "sympe": (True, "in distribution", True),
        "sympe-edges": (True, "in distribution", True),
        "fixed": (False, "none", True),
    }


def test_a_deterministic_encoding_needs_one_pass_and_no_seed():
    for e in ENCODINGS:
        assert (e.passes(7), e.seed_read(123)) == ((7, 123) if e.random else (1, 0))


def test_inconsistent_kinds_are_refused():
    with pytest.raises(ValueError, match="only a learned table"):
        Encoding("x", "x", Features.NOISE, canonicalizes=True)
    with pytest.raises(ValueError, match="pair features"):
        Encoding("x", "x", Features.TABLE, pair_features=True)


def test_every_task_trains_the_baseline_and_sympe():
    for task in TASKS.values():
        assert NONE in task.encodings and any(e.canonicalizes for e in task.encodings), task.name
        assert task.variants == names(task.encodings)


@pytest.mark.parametrize("kind", ENCODINGS, ids=str)
def test_the_graph_encoder_behaves_as_its_kind_declares(kind):
    """On the 6-cycle: random kinds differ between two generators; canonicalizing kinds return their elements, each
    mapping the graph to its canonical form; the declared equivariance holds for a relabelling g, in float64."""
    A = torch.tensor(nx.to_numpy_array(nx.cycle_graph(6)), dtype=torch.float64)[None]
    mask = torch.ones(1, 6, dtype=torch.bool)
    torch.manual_seed(0)
    enc = GraphEncoder(kind, 8, 4).double()
    one = enc(A, mask, generator=torch.Generator().manual_seed(1))
    two = enc(A, mask, generator=torch.Generator().manual_seed(2))
    if not kind.breaks_symmetry:
        assert one.nodes is None
        return
    assert (not torch.equal(one.nodes, two.nodes)) == kind.random
    assert (one.elements is not None) == kind.canonicalizes
    g = Permutation(torch.tensor([[2, 0, 5, 1, 3, 4]]))
    gA = g.act_edges(A)
    if kind.canonicalizes:
        h = one.elements.perm[0]
        assert torch.equal(A[0][h][:, h], canonicalize_dense(A[0]).canonical_adjacency())
        moved = enc(gA, mask, elements=g.compose(one.elements))
        assert torch.allclose(moved.nodes, g.act_nodes(one.nodes), atol=1e-12)
    elif kind.equivariance == "none":
        moved = enc(gA, mask)
        assert not torch.allclose(moved.nodes, g.act_nodes(one.nodes))
