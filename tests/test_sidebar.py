"""The shared sidebar's seed: set by the URL, the widget or "sample again", and kept across page switches and
across reruns that reach the server without the widget's state."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def fresh_app(**query) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in query.items()})
    return at.run()


def test_the_url_seed_is_the_session_seed_and_survives_page_switches():
    at = fresh_app(seed=4321)
    assert at.number_input(key="seed").value == 4321
    for page in ("lattice_lab", "theory", "home"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception
        assert at.number_input(key="seed").value == 4321
        assert at.query_params.get("seed") in ("4321", ["4321"])


def test_a_user_change_of_the_seed_is_kept_including_back_to_the_default():
    at = fresh_app(seed=12)
    at.number_input(key="seed").set_value(99).run()
    at.switch_page("app_pages/theory.py").run()
    assert at.number_input(key="seed").value == 99
    at.number_input(key="seed").set_value(0).run()
    at.switch_page("app_pages/home.py").run()
    assert at.number_input(key="seed").value == 0


def test_sample_again_moves_to_the_next_seed():
    at = fresh_app(seed=7)
    at.button(key="home_resample").click().run()
    assert at.number_input(key="seed").value == 8


def test_a_rerun_without_the_widget_state_does_not_reset_the_seed():
    """What a page switch racing a running script leaves on the server: the widget at its default (0) although
    the user never changed it, and no seed in the URL. The committed seed restores both."""
    at = fresh_app(seed=3000)
    at.session_state["seed"] = 0
    at.query_params.pop("seed", None)
    at.switch_page("app_pages/lattice_lab.py").run()
    assert not at.exception
    assert at.number_input(key="seed").value == 3000
    assert at.query_params.get("seed") in ("3000", ["3000"])
