"""The toy task's tables, from manifest entries only."""
from backend.results import Chart, ordered

HEADLINE = [(lambda m: "probability on the chosen node", lambda m: m["top_probability"])]
TABLES: dict = {}


def summary_rows(entries: dict[str, dict]) -> list[dict]:
    return [{"variant": v, "probability on the chosen node": e["small_eval"]["top_probability"]} for v, e in ordered(entries)]


def chart(entries: dict[str, dict]) -> Chart | None:
    rows = summary_rows(entries)
    return Chart(["cycles"], {r["variant"]: [r["probability on the chosen node"]] for r in rows},
                 "probability on the chosen node", "Choosing a node of a cycle")
