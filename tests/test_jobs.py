"""The server's job manager (app.jobs): one job per owner, a server-wide limit with a first-come queue, cancel of a
queued and of a running job, a failing job that fails alone with one line, and owners that are gone; work in a process
of its own (``run_in_process``): its reports and result come back, and its exception, segfault or memory overrun
fail that job alone with one line."""
from __future__ import annotations

import threading
import time

import pytest

from app.jobs import Busy, JobManager, limit_from_environment, memory_limit_from_environment, run_in_process


def wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def blocking(release: threading.Event):
    """Work that runs until ``release`` is set or it is asked to stop; returns how it ended."""
    def work(job):
        while not release.is_set():
            if job.stop_requested():
                return "stopped early"
            time.sleep(0.005)
        return "finished"
    return work


def test_at_most_limit_jobs_run_and_the_rest_queue_in_order():
    jobs, release = JobManager(limit=2), threading.Event()
    a, b, c, d = (jobs.submit(o, blocking(release)) for o in "abcd")
    assert [j.state for j in (a, b, c, d)] == ["running", "running", "queued", "queued"]
    assert jobs.running() == 2 and jobs.queue_position(c) == 1 and jobs.queue_position(d) == 2
    release.set()
    wait(lambda: all(j.state == "done" for j in (a, b, c, d)))
    assert [j.result for j in (a, b, c, d)] == ["finished"] * 4 and jobs.running() == 0


def test_one_active_job_per_owner_and_a_new_one_after_it_ends():
    jobs, release = JobManager(limit=2), threading.Event()
    first = jobs.submit("me", blocking(release))
    with pytest.raises(Busy):
        jobs.submit("me", blocking(release))
    release.set()
    wait(lambda: first.state == "done")
    second = jobs.submit("me", lambda job: 42)
    wait(lambda: second.state == "done")
    assert jobs.job("me") is second and second.result == 42


def test_cancel_stops_a_running_job_and_frees_its_slot_for_the_queue():
    jobs, release = JobManager(limit=1), threading.Event()
    running = jobs.submit("a", blocking(release))
    queued = jobs.submit("b", blocking(release))
    assert queued.state == "queued"
    jobs.cancel("a")
    wait(lambda: running.state == "stopped")
    assert running.result == "stopped early"
    wait(lambda: queued.state == "running")
    jobs.cancel("b")
    wait(lambda: queued.state == "stopped")


def test_cancel_of_a_queued_job_removes_it_and_it_never_runs():
    jobs, release = JobManager(limit=1), threading.Event()
    ran = []
    jobs.submit("a", blocking(release))
    queued = jobs.submit("b", lambda job: ran.append(1))
    jobs.cancel("b")
    assert queued.state == "stopped" and jobs.queue_position(queued) is None
    release.set()
    time.sleep(0.1)
    assert ran == [] and queued.state == "stopped"


def test_a_failing_job_fails_alone_with_one_line():
    jobs, release = JobManager(limit=2), threading.Event()
    other = jobs.submit("a", blocking(release))

    def broken(job):
        raise RuntimeError("boom\nsecond line of the message")

    failed = jobs.submit("b", broken)
    wait(lambda: failed.state == "failed")
    assert failed.error == "RuntimeError: boom second line of the message"
    assert other.state == "running"
    release.set()
    wait(lambda: other.state == "done")
    assert jobs.submit("b", lambda job: "again").owner == "b"  # the owner can start over


def test_owners_that_are_gone_lose_their_jobs_and_the_limit_counts_a_forgotten_job_until_it_ends():
    jobs, release = JobManager(limit=1), threading.Event()
    gone = jobs.submit("gone", blocking(release))
    waiting = jobs.submit("here", blocking(release))
    assert jobs.reap(lambda owner: owner == "here") == ["gone"]
    assert jobs.job("gone") is None
    wait(lambda: gone.state == "stopped")  # it was asked to stop ...
    wait(lambda: waiting.state == "running")  # ... and only then the next one starts
    release.set()
    wait(lambda: waiting.state == "done")


def test_progress_reports_are_copies():
    jobs = JobManager(limit=1)
    seen = threading.Event()

    def work(job):
        jobs.report(job, step=1)
        seen.wait(5)
        jobs.report(job, step=2)

    job = jobs.submit("a", work)
    wait(lambda: jobs.progress(job).get("step") == 1)
    snapshot = jobs.progress(job)
    seen.set()
    wait(lambda: job.state == "done")
    assert snapshot == {"step": 1} and jobs.progress(job) == {"step": 2}


@pytest.mark.parametrize("raw, limit", [(None, 2), ("3", 3), ("0", 1), ("100", 16), ("many", 2)])
def test_the_limit_comes_from_the_environment_bounded(raw, limit, monkeypatch):
    if raw is None:
        monkeypatch.delenv("SYMPE_TRAIN_JOBS", raising=False)
    else:
        monkeypatch.setenv("SYMPE_TRAIN_JOBS", raw)
    assert limit_from_environment() == limit


def test_the_reaper_stops_a_gone_owners_job_without_any_poll():
    jobs, release = JobManager(limit=1), threading.Event()
    job = jobs.submit("closed tab", blocking(release))
    jobs.start_reaper(lambda owner: False, every=0.05)
    wait(lambda: job.state == "stopped")
    assert job.result == "stopped early" and jobs.job("closed tab") is None and jobs.running() == 0


# ---- work in a process of its own (module-level targets: the spawned child imports this module) -----------------------
def counting(reporter, job, n):
    for k in range(n):
        reporter.report(job, step=k)
    return {"steps": n}


def failing(reporter, job):
    raise ValueError("bad knobs")


def segfault(reporter, job):
    import ctypes

    ctypes.string_at(0)  # reads address 0: SIGSEGV


def hungry(reporter, job):
    return len(bytearray(4 << 30))  # 4 GiB, over the test's 1 GiB limit


def looping(reporter, job):
    while not job.stop_requested():
        time.sleep(0.01)
    return "stopped early"


def in_process(jobs: JobManager, owner: str, target, *args, memory: int | None = None):
    return jobs.submit(owner, lambda job: run_in_process(jobs, job, target, *args, memory=memory))


def test_a_process_job_reports_its_progress_and_returns_its_result():
    jobs = JobManager(limit=1)
    job = in_process(jobs, "a", counting, 5)
    wait(lambda: not job.active, 60)
    assert job.state == "done" and job.result == {"steps": 5} and jobs.progress(job) == {"step": 4}


@pytest.mark.parametrize("target, line", [
    (failing, "ValueError: bad knobs"),
    (segfault, "the training process crashed (SIGSEGV)"),
    (hungry, "MemoryError"),
])
def test_a_crash_of_a_process_job_fails_it_alone_with_one_line(target, line):
    jobs = JobManager(limit=1)
    job = in_process(jobs, "a", target, memory=1 << 30)
    wait(lambda: not job.active, 60)
    assert job.state == "failed" and job.error.startswith(line) and "\n" not in job.error
    after = in_process(jobs, "b", counting, 2)  # the server and its slot are fine
    wait(lambda: not after.active, 60)
    assert after.state == "done" and after.result == {"steps": 2}


def test_a_process_job_stops_when_asked():
    jobs = JobManager(limit=1)
    job = in_process(jobs, "a", looping)
    time.sleep(0.5)
    jobs.cancel("a")
    wait(lambda: not job.active, 60)
    assert job.state == "stopped" and job.result == "stopped early"


@pytest.mark.parametrize("raw, mb", [("", 2048), ("4096", 4096), ("100", 512), ("lots", 2048)])
def test_the_memory_limit_comes_from_the_environment_bounded(raw, mb, monkeypatch):
    monkeypatch.setenv("SYMPE_TRAIN_MEMORY_MB", raw)
    assert memory_limit_from_environment() == mb << 20
