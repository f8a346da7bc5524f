"""Check that the backend runs on the selected accelerator and agrees with the CPU.

    SYMPE_DEVICE=cuda python scripts/device_check.py

For each check it prints the device result against the CPU result (float64, the same group elements and noise),
joint equivariance on the device, and the speed of a few training steps on both. Exit code 1 if any check fails.
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.device import device_description, select_device  # noqa: E402
from backend.equivariance import equivariance_error  # noqa: E402
from backend.groups import LatticeGroup, Permutation  # noqa: E402
from backend.nn.graph import EGNN, GraphTransformer  # noqa: E402
from backend.sympe import GraphEncoder  # noqa: E402
from backend.tasks.ising.data import mean_field_energy, sample_constant_hamiltonians  # noqa: E402
from backend.tasks.ising.model import IsingConfig, IsingModel  # noqa: E402
from backend.tasks.qm9.data import smiles_to_graph
from backend.tasks.qm9.evaluate import graphs_to_batch, small_eval_set
from backend.tasks.qm9.model import load_qm9_model, nll_terms, sample_molecules, training_loss


def main() -> int:
    device = select_device()
    print(f"device: {device} ({device_description(device)}), torch {torch.__version__}")
    failures = []

    def check(name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        if not ok:
            failures.append(name)

    # Ising model: same elements on CPU and device
    torch.manual_seed(0)
    model = IsingModel(IsingConfig(L=8, variant="sympe")).double()
    J, h = sample_constant_hamiltonians(32, 8, torch.Generator().manual_seed(0))
    elements = model.canonicalize(J, h).sample(torch.Generator().manual_seed(1))
    cpu = model(J, h, elements=elements).logits
    dev_model = IsingModel(IsingConfig(L=8, variant="sympe")).double().to(device)
    dev_model.load_state_dict(model.state_dict())
    dev = dev_model(J.to(device), h.to(device), elements=elements).logits
    check("ising sympe forward", dev.device.type == device.type and torch.allclose(dev.cpu(), cpu, atol=1e-10),
          f"max |device - cpu| = {(dev.cpu() - cpu).abs().max():.2e}")

    group = LatticeGroup(8, spin_flip=True)
    g = group.sample((32,), torch.Generator().manual_seed(2))
    Jg, hg = g.act_bonds(J).to(device), g.act_sites(h[:, None], odd=True)[:, 0].to(device)
    out_g = dev_model(Jg, hg, elements=g.compose(elements)).logits
    expected = g.act_sites(dev[:, None], odd=True)[:, 0]
    err = (out_g - expected).abs().max().item()
    check("ising joint equivariance on device", err < 1e-10, f"{err:.2e}")

    # Graph encoder + EGNN + transformer on the device
    n, B = 12, 16
    adj = torch.zeros(B, n, n, dtype=torch.float64)
    for i in range(n):
        adj[:, i, (i + 1) % n] = adj[:, (i + 1) % n, i] = 1
    mask = torch.ones(B, n, dtype=torch.bool)
    enc = GraphEncoder("sympe-edges", n, 8).double()
    elements = enc(adj, mask, generator=torch.Generator().manual_seed(3)).elements
    egnn = EGNN(8, 32, 16, num_layers=3).double()
    gt = GraphTransformer(8, 16, 32, 8, 4, num_layers=2).double()
    results = {}
    for where in ("cpu", device):
        e = enc.to(where)(adj.to(where), mask.to(where), elements=Permutation(elements.perm.to(where)))
        h_out, _ = egnn.to(where)(e.nodes, adj.to(where), mask.to(where))
        X, E, _ = gt.to(where)(e.nodes, e.edges, mask.to(where))
        results[str(where)] = (h_out.cpu(), X.cpu(), E.cpu())
    diff = max((a - b).abs().max().item() for a, b in zip(results["cpu"], results[str(device)]))
    check("graph encoder + EGNN + transformer", diff < 1e-9, f"max |device - cpu| = {diff:.2e}")

    p = Permutation.random(n, torch.Generator().manual_seed(4), batch=(B,)).perm.to(device)
    perm = Permutation(p)
    f = lambda a, m, el: egnn(enc(a, m, elements=Permutation(el)).nodes, a, m)[0]  # noqa: E731
    report = equivariance_error(f, [adj.to(device), mask.to(device), elements.perm.to(device)], perm,
                                [lambda g, a: g.act_edges(a), lambda g, m: g.act_nodes(m), lambda g, el: g.compose(Permutation(el)).perm],
                                lambda g, y: g.act_nodes(y))
    check("graph joint equivariance on device", report.max_abs_error < 1e-10, f"{report.max_abs_error:.2e}")

    # QM9 denoiser (shipped sympe-edges, float64): loss, likelihood bound and sampling from the same CPU generators
    cpu_model = load_qm9_model("sympe-edges").double()
    dev_model = copy.deepcopy(cpu_model).to(device)
    X, E, mask = graphs_to_batch([smiles_to_graph(s) for s in small_eval_set()[:32]])
    values = {}
    for where, m in (("cpu", cpu_model), ("device", dev_model)):
        Xw, Ew, mw = (t.to(m.alpha_bar.device) for t in (X, E, mask))
        loss, _ = training_loss(m, Xw, Ew, mw, torch.Generator().manual_seed(6))
        nll = nll_terms(m, Xw, Ew, mw, torch.Generator().manual_seed(7))["nll"]
        sample = sample_molecules(m, 16, torch.Generator().manual_seed(8), steps=20)
        values[where] = (loss.detach().cpu(), nll.cpu(), sample)
    diff = max((values["cpu"][k] - values["device"][k]).abs().max().item() for k in (0, 1))
    check("qm9 training loss and NLL bound", diff < 1e-9, f"max |device - cpu| = {diff:.2e}")
    same = all(torch.equal(getattr(values["cpu"][2], a), getattr(values["device"][2], a))
               for a in ("node_types", "edge_types", "num_nodes", "symmetric_steps"))
    check("qm9 sampling", same, "the same molecules from the same generator" if same else "different molecules")

    # Training speed: 50 steps of the Ising model (float32, batch 64) on CPU and on the device
    J, h = sample_constant_hamiltonians(64, 8, torch.Generator().manual_seed(5))
    J, h = J.float(), h.float()
    canonical = IsingModel(IsingConfig()).canonicalize(J, h)
    for where in ("cpu", device):
        torch.manual_seed(0)
        m = IsingModel(IsingConfig()).to(where)
        opt = torch.optim.Adam(m.parameters(), 1e-3)
        Jw, hw = J.to(where), h.to(where)
        gen = torch.Generator().manual_seed(0)
        for step in range(55):
            if step == 5:
                if str(where) != "cpu":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            loss = mean_field_energy(Jw, hw, m(Jw, hw, canonical=canonical, generator=gen).logits).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if str(where) != "cpu":
            torch.cuda.synchronize()
        print(f"     training step on {where}: {(time.perf_counter() - start) / 50 * 1e3:.1f} ms (final loss {loss.item():.3f})")
    print("all checks passed" if not failures else f"FAILED: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
