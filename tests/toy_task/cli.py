"""``python -m backend predict toy --variant V``: the choice probabilities on the 6-cycle."""
import torch

from backend.options import bounded

from .data import cycles
from .model import VARIANTS, load_toy


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("toy", help="choose a node of the 6-cycle")
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    p.set_defaults(handler=run)


def run(args) -> dict:
    adj, mask = cycles()
    with torch.no_grad():
        probs = load_toy(args.variant)(adj[-1:], mask[-1:], torch.Generator().manual_seed(args.seed)).softmax(-1)
    return {"variant": args.variant, "probabilities": [round(p, 4) for p in probs[0].tolist()]}
