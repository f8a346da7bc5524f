"""The share of probability on the chosen node, averaged over the cycles."""
import torch

from backend.tasks.evaluation import evaluation_main

from .data import cycles
from .model import VARIANTS, load_toy


@torch.no_grad()
def small_eval(model) -> dict:
    adj, mask = cycles()
    return {"top_probability": round(float(model(adj, mask, torch.Generator().manual_seed(0)).softmax(-1).max(-1).values.mean()), 4)}


def evaluate(model) -> dict:
    return small_eval(model)


def markdown_table(results: dict[str, dict]) -> str:
    return "\n".join(f"| {v} | {r['top_probability']} |" for v, r in results.items())


def main(argv=None) -> int:
    return evaluation_main("tests.toy_task.evaluate", "toy", VARIANTS, lambda v, args: evaluate(load_toy(v)), markdown_table, argv)
