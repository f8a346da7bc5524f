"""The inference core of the p4m CNN (backend.nn.lattice.FrozenP4MCNN) against the eager P4MCNN it is built from.

The frozen core computes the same function with the same kernels on the same values (the expanded weights built
once, a padded buffer whose periodic halo is copied in instead of a circular F.pad per layer, in-place residual
additions, the lifting convolution in channels_last, batches split over threads), so in float64 the two agree to
rounding on any configuration, and the shipped float32 models give the same logits up to float32 rounding (in fact
bit for bit with oneDNN) and the same spins, from the same encoding draws.
"""
import copy
import itertools

import pytest
import torch
import torch.nn.functional as F

from backend.nn.lattice import P4MCNN, FrozenP4MCNN, P4MCNNConfig, _fill_halo
from backend.tasks.ising.model import VARIANTS, load_ising, spins_from_logits, with_frozen_core
from tests.shipped import shipped_or_skip


@pytest.mark.parametrize("pad, L", [(1, 3), (1, 8), (2, 5), (2, 4)])
def test_fill_halo_gives_the_circular_padding(pad, L):
    x = torch.randn(2, 3, L, L, dtype=torch.float64)
    S = torch.full((2, 3, L + 2 * pad, L + 2 * pad), float("nan"), dtype=torch.float64)
    S[..., pad : L + pad, pad : L + pad] = x
    assert torch.equal(_fill_halo(S, pad), F.pad(x, (pad,) * 4, mode="circular"))


CONFIGS = [  # (config, L): with and without bonds, several bond fields, one and three layers, a 5×5 kernel
    (P4MCNNConfig(site_in=2, bond_in=True, bond_channels=1, hidden=4, num_layers=3, kernel_size=3, out=1), 6),
    (P4MCNNConfig(site_in=3, bond_in=True, bond_channels=2, hidden=3, num_layers=2, kernel_size=5, out=2), 7),
    (P4MCNNConfig(site_in=1, bond_in=False, hidden=2, num_layers=1, kernel_size=3, out=1), 5),
    (P4MCNNConfig(site_in=12, bond_in=True, bond_channels=4, hidden=8, num_layers=4, kernel_size=3, out=1), 8),
]


@pytest.mark.parametrize("case, shared, threads",
                         list(itertools.product(range(len(CONFIGS)), [True, False], [1, 2, 3])))
def test_frozen_core_equals_the_eager_core_in_float64(case, shared, threads):
    """Same outputs to float64 rounding, for one Hamiltonian shared by the batch (its bond term computed once) and
    for distinct ones, whole or split over threads (5 samples: chunks of unequal sizes)."""
    config, L = CONFIGS[case]
    torch.manual_seed(case)
    net = P4MCNN(config).double().eval()
    for p in net.parameters():  # nonzero biases, so that their placement is checked too
        p.data.normal_(0, 0.5)
    B = 5
    sites = torch.randn(B, config.site_in, L, L, dtype=torch.float64)
    bonds = torch.randn(1 if shared else B, config.bond_channels, 2, L, L, dtype=torch.float64)
    bonds = bonds.expand(B, -1, -1, -1, -1)
    bonds = bonds if config.bond_in else None
    with torch.no_grad():
        expected = net(sites, bonds)
    frozen = FrozenP4MCNN(net, threads=threads)
    frozen.MIN_CHUNK_SITES = 1  # split these small batches too
    got = frozen(sites, bonds)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-12 * float(expected.abs().max()))


def test_frozen_core_copies_the_weights_and_keeps_the_net_unchanged():
    net = P4MCNN(CONFIGS[0][0]).double().eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    frozen = FrozenP4MCNN(net)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert next(frozen.parameters()) is next(net.parameters())  # the weights stay the net's parameters
    assert not any(name.startswith(("lift_", "block", "head_")) for name in frozen.state_dict())  # not saved twice


@pytest.mark.parametrize("variant", VARIANTS)
def test_shipped_models_give_the_same_spins_with_the_frozen_core(variant):
    """float32, the Lattice lab's largest case (64×64, K = 16), for a constant and a painted input, whole and split
    over two threads: the same encoding (the noise fields from the same generator; sympe's sampled elements, passed
    on, as the app does, instead of canonicalizing the K copies again), logits within the float32 rounding error of
    the eager model itself (measured against float64 on the same core inputs), hence the same spins wherever that
    error cannot decide the sign."""
    shipped_or_skip(f"ising/{variant}")
    L, K = 64, 16
    model = load_ising(variant).at_size(L).eval()
    core64 = copy.deepcopy(model.core).double()
    inputs = {}
    model.core.register_forward_pre_hook(lambda _, args: inputs.update(args=args))
    J = torch.full((1, 2, L, L), -1.0)
    J[0, 0] = 0.35
    h = torch.zeros(1, L, L)
    painted_J, painted_h = J.clone(), h.clone()
    painted_J[0, 1, 3, 5], painted_h[0, 10, 20] = 2.0, 1.5
    for Jt, ht in ((J, h), (painted_J, painted_h)):
        Jk, hk = Jt.expand(K, 2, L, L), ht.expand(K, L, L)
        with torch.inference_mode():
            eager = model(Jk, hk, generator=torch.Generator().manual_seed(3))
            exact = core64(*(x.double() for x in inputs["args"]))[:, 0]
        if eager.elements is not None:  # sympe: logits = z·core(...), z = ±1
            exact = exact * eager.elements.sign.double()[:, None, None]
        rounding = 4 * float((eager.logits.double() - exact).abs().max())
        decided = eager.logits.abs() > rounding
        for threads in (1, 2):
            with torch.inference_mode():
                got = with_frozen_core(model, threads)(Jk, hk, generator=torch.Generator().manual_seed(3),
                                                       elements=eager.elements)
            assert float((got.logits - eager.logits).abs().max()) <= rounding
            assert torch.equal(spins_from_logits(got.logits)[decided], spins_from_logits(eager.logits)[decided])
