"""Loss: the negative log of the largest choice probability (lowest when the model commits to one node)."""

from backend.tasks.trainer import Trainable, training_main

from .data import cycles
from .evaluate import small_eval
from .model import VARIANTS, ToyConfig, ToyModel


class ToyTraining(Trainable):
    name = "toy"
    module = "tests.toy_task.train"
    variants = VARIANTS

    def build(self, model_config, data):
        return ToyModel(model_config)

    def training_data(self, model_config, seed):
        return cycles()

    def size(self, data):
        return len(data[0])

    def loss(self, model, data, indices, generator, device, step, steps):
        adj, mask = data[0][indices], data[1][indices]
        return -model(adj, mask, generator).log_softmax(-1).max(-1).values.mean(), {}

    def record(self, model, data):
        return {"data": {"graphs": len(data[0])}, "small_eval": small_eval(model)}


def main(argv=None) -> int:
    return training_main(ToyTraining, ToyConfig, argv)
