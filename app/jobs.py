"""Background jobs shared by the sessions of one server: at most one job per owner (a browser session), at most
``limit`` running at once (``SYMPE_TRAIN_JOBS``, default 2), the rest waiting in a first-come queue.

A job is a function ``work(job)`` run in its own daemon thread. It reports through ``job.progress`` (a dict it owns;
readers get a shallow copy under the lock) and must return soon after ``job.stop_requested()`` becomes true. Its
state moves queued → running → done | stopped | failed; a job stopped while queued never runs. An exception in
``work`` fails that job alone, with one line (``job.error``) and the traceback in the server log, never on a page.

Work that may crash the interpreter (a segfault in a native library) or exhaust memory runs in a process of its own:
``run_in_process(manager, job, target, *args)`` (spawn start method) calls ``target(reporter, job, *args)`` in the
child under an address-space limit (``resource.setrlimit(RLIMIT_AS)``, ``SYMPE_TRAIN_MEMORY_MB``, default 2048; the
Train page's jobs run within 1024);
``reporter.report`` and ``job.stop_requested`` cross the process boundary, and the child's return value (picklable)
comes back. Any death of the child fails that job alone with one line.

Owners that are gone: ``reap(alive)`` stops every job whose owner ``alive(owner)`` denies (the app passes the
Streamlit runtime's session check; ``start_reaper`` runs it every REAP_SECONDS), so a closed tab does not keep a
place in the limit. Finished jobs are dropped
when their owner submits the next one or is reaped, so the manager holds at most one job per live owner.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import multiprocessing.spawn
import os
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger("sympe.jobs")

DEFAULT_LIMIT = 2
LIMIT_VARIABLE = "SYMPE_TRAIN_JOBS"
ACTIVE = ("queued", "running")
REAP_SECONDS = 15.0
MEMORY_VARIABLE = "SYMPE_TRAIN_MEMORY_MB"
DEFAULT_MEMORY_MB = 2048
REPORT_SECONDS = 0.25  # a child sends a variant's running progress at most this often (state changes at once)
STOP_GRACE_SECONDS = 30.0  # after a stop request, a child that has not returned is terminated


def limit_from_environment() -> int:
    """The server-wide number of jobs that may run at once: ``SYMPE_TRAIN_JOBS`` (1–16), else 2."""
    raw = os.environ.get(LIMIT_VARIABLE, "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_LIMIT
    return min(16, max(1, value))


class Busy(Exception):
    """The owner already has a queued or running job."""


@dataclass(eq=False)
class Job:
    id: int
    owner: str
    work: Callable[["Job"], Any]
    state: str = "queued"
    error: str = ""
    result: Any = None
    progress: dict = field(default_factory=dict)
    submitted: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the work to return (the work itself may call it, e.g. when one of its parts failed)."""
        self._stop.set()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


class JobManager:
    """Thread-safe; one instance per server (the app keeps it in ``st.cache_resource``)."""

    def __init__(self, limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError("the job limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}  # owner -> their latest job
        self._queue: list[Job] = []
        self._live: set[Job] = set()  # running threads, counted against the limit until they end (even if forgotten)
        self._ids = itertools.count(1)

    def submit(self, owner: str, work: Callable[[Job], Any]) -> Job:
        """Queue ``work`` for ``owner`` (it starts at once when fewer than ``limit`` jobs run). Raises Busy when the
        owner already has an active job."""
        with self._lock:
            current = self._jobs.get(owner)
            if current is not None and current.active:
                raise Busy("this session already has a training job; stop it first")
            job = Job(next(self._ids), owner, work)
            self._jobs[owner] = job
            self._queue.append(job)
            self._start_queued()
        return job

    def job(self, owner: str) -> Job | None:
        """The owner's latest job (active or finished), or None."""
        with self._lock:
            return self._jobs.get(owner)

    def progress(self, job: Job) -> dict:
        """A shallow copy of the job's progress, taken under the lock (the job updates it with ``report``)."""
        with self._lock:
            return dict(job.progress)

    def report(self, job: Job, **values: Any) -> None:
        """Set entries of the job's progress (called from the job's thread)."""
        with self._lock:
            job.progress.update(values)

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, None when the job is not waiting."""
        with self._lock:
            return self._queue.index(job) + 1 if job in self._queue else None

    def running(self) -> int:
        with self._lock:
            return self._running()

    def cancel(self, owner: str) -> None:
        """Ask the owner's job to stop: a queued job leaves the queue at once, a running one at its next check."""
        with self._lock:
            job = self._jobs.get(owner)
            if job is None or not job.active:
                return
            job.request_stop()
            if job in self._queue:
                self._queue.remove(job)
                job.state = "stopped"

    def forget(self, owner: str) -> None:
        """Cancel the owner's job and drop it."""
        self.cancel(owner)
        with self._lock:
            self._jobs.pop(owner, None)

    def reap(self, alive: Callable[[str], bool]) -> list[str]:
        """Forget the jobs of every owner that ``alive`` says is gone; returns those owners."""
        with self._lock:
            owners = list(self._jobs)
        gone = [o for o in owners if not alive(o)]
        for owner in gone:
            self.forget(owner)
        return gone

    def start_reaper(self, alive: Callable[[str], bool], every: float = REAP_SECONDS) -> threading.Thread:
        """A daemon thread that calls ``reap(alive)`` every ``every`` seconds, so that a closed session's job stops
        even when no other session polls."""
        def loop() -> None:
            while True:
                time.sleep(every)
                try:
                    self.reap(alive)
                except Exception:  # noqa: BLE001 - the reaper must outlive one failed check
                    log.exception("reaping the jobs failed")

        thread = threading.Thread(target=loop, name="sympe-job-reaper", daemon=True)
        thread.start()
        return thread

    # -- internals (called with the lock held) ------------------------------------------------------------------------
    def _running(self) -> int:
        return len(self._live)

    def _start_queued(self) -> None:
        while self._queue and self._running() < self.limit:
            job = self._queue.pop(0)
            job.state = "running"
            self._live.add(job)
            threading.Thread(target=self._run, args=(job,), name=f"sympe-job-{job.id}", daemon=True).start()

    def _run(self, job: Job) -> None:
        try:
            result = job.work(job)
        except BaseException as exc:  # noqa: BLE001 - any fault of the work fails this job only (and frees its slot)
            log.exception("job %s of %s failed", job.id, job.owner)
            state, error, result = "failed", one_line(exc), None
        else:
            state, error = ("stopped" if job.stop_requested() else "done"), ""
        with self._lock:
            job.state, job.error, job.result = state, error, result
            self._live.discard(job)
            self._start_queued()


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line (a ``ChildFailed``: its message, already such a line), at most ``limit``
    characters."""
    text = " ".join((str(exc) if isinstance(exc, ChildFailed) else f"{type(exc).__name__}: {exc}").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def memory_limit_from_environment() -> int:
    """The address-space limit of a job's process in bytes: ``SYMPE_TRAIN_MEMORY_MB`` (at least 512), else 2048 MB."""
    try:
        mb = int(os.environ.get(MEMORY_VARIABLE, ""))
    except ValueError:
        mb = DEFAULT_MEMORY_MB
    return max(512, mb) << 20


class ChildFailed(RuntimeError):
    """A job's process failed; the message is its one line (``one_line`` shows it without a type name)."""


class ProcessDied(ChildFailed):
    """A job's process ended without an answer (killed by a signal, or exited)."""


def run_in_process(manager: JobManager, job: Job, target: Callable, *args: Any, memory: int | None = None) -> Any:
    """``target(reporter, job, *args)`` in a spawned process with at most ``memory`` bytes of address space (default
    ``memory_limit_from_environment()``); returns its result. In the child ``reporter.report(job, **values)`` reaches
    ``manager.report`` here (running progress thinned to one message per key every REPORT_SECONDS) and
    ``job.stop_requested()`` follows this job's. Its exception is re-raised here as ``ChildFailed`` with its one line;
    a child killed by a signal or by its limit raises ``ProcessDied``. ``target`` and ``args`` must be picklable
    (``target`` a module-level function)."""
    ctx = multiprocessing.get_context("spawn")
    messages, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_child, args=(target, args, messages, stop, memory or memory_limit_from_environment()),
                        name=f"{CHILD_PREFIX}{job.id}", daemon=True)
    child.start()
    answer, asked = None, None
    try:
        while answer is None:
            if job.stop_requested() and asked is None:
                stop.set()
                asked = time.monotonic()
            if asked is not None and time.monotonic() - asked > STOP_GRACE_SECONDS:
                raise ProcessDied("the training process did not stop in time and was ended")
            try:
                kind, value = messages.get(timeout=0.1)
            except queue.Empty:
                if not child.is_alive():
                    try:
                        kind, value = messages.get(timeout=1.0)  # a last message still in the pipe
                    except queue.Empty:
                        raise ProcessDied(_death(child.exitcode)) from None
                else:
                    continue
            if kind == "report":
                manager.report(job, **value)
            else:
                answer = (kind, value)
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()
        messages.close()
    kind, value = answer
    if kind == "error":
        raise ChildFailed(value)
    return value


CHILD_PREFIX = "sympe-job-"


def _no_main_script(get_preparation_data: Callable[[str], dict]) -> Callable[[str], dict]:
    """``multiprocessing.spawn.get_preparation_data`` without the main script for our children: spawn re-runs the
    parent's ``__main__`` in the child, and under Streamlit that is the page being run (the whole app). Other
    processes are left as they were."""
    def prepare(name: str) -> dict:
        data = get_preparation_data(name)
        if name.startswith(CHILD_PREFIX):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    prepare.wrapped = get_preparation_data
    return prepare


if not hasattr(multiprocessing.spawn.get_preparation_data, "wrapped"):
    multiprocessing.spawn.get_preparation_data = _no_main_script(multiprocessing.spawn.get_preparation_data)


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the training process crashed ({name})" + (" or ran out of memory" if name == "SIGKILL" else "")
    return f"the training process exited with code {code} without an answer"


class _Reporter:
    """The child's side of ``JobManager.report``: the latest value per key goes to the parent, running ones thinned."""

    def __init__(self, messages):
        self.messages, self.sent = messages, {}

    def report(self, job, **values: Any) -> None:
        now = time.monotonic()
        for key, value in values.items():
            if getattr(value, "state", None) == "training" and now - self.sent.get(key, -1e9) < REPORT_SECONDS:
                continue
            self.sent[key] = now
            self.messages.put(("report", {key: value}))


class _ChildJob:
    """The child's side of a Job: ``stop_requested`` reads the parent's event; ``request_stop`` sets it."""

    def __init__(self, stop):
        self._stop = stop

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()


def _child(target: Callable, args: tuple, messages, stop, memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result = target(_Reporter(messages), _ChildJob(stop), *args)
    except BaseException as exc:  # noqa: BLE001 - the parent gets one line; the traceback goes to this log
        traceback.print_exc()
        messages.put(("error", one_line(exc)))
    else:
        messages.put(("result", result))
