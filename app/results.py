"""The Results page's headline for presenter mode: one chart of every experiment's headline percentage, the
equivariant baseline (``none``) beside SymPE (``sympe``), read from the manifest like the rest of the page."""
from __future__ import annotations

from backend import results as R

from . import models
from .figures import SpecFigure, grouped_bar_figure

HEADLINE_VARIANTS = ("none", "sympe")
CATEGORY_CHARS = 22  # a category label's line: four categories share the page's width


def headline_figures(manifest: dict) -> list[tuple[SpecFigure, str]]:
    """The headline chart as a one-element list of (figure, name) pairs for ``ui.story`` (empty when no experiment
    has a percentage for both variants). A category is an experiment's headline metric given in percent (its README
    label up to the "%"), e.g. "Ising ground states: exact ground states"."""
    categories, series = [], {models.label(v): [] for v in HEADLINE_VARIANTS}
    for row in R.headline_rows(manifest):
        metric, _, rest = row["metric"].partition("%")
        if not rest or any(row.get(v) is None for v in HEADLINE_VARIANTS):
            continue
        categories.append(f"{row['experiment']}: {metric.strip()}")
        for v in HEADLINE_VARIANTS:
            series[models.label(v)].append(float(row[v]))
    if not categories:
        return []
    return [(grouped_bar_figure(categories, series, y_title="%", title="Headline results: baseline vs SymPE",
                                category_chars=CATEGORY_CHARS, values=True), "headline")]
