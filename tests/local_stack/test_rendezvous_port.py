"""The machine-wide rendezvous port of local mode's jobs of several instances: a second job
waits for it and says which job holds it."""

from __future__ import annotations

import os
import threading

from local_stack.emulator.training import rendezvous_port


def test_a_job_waiting_for_the_port_is_told_which_job_holds_it():
    held, release = threading.Event(), threading.Event()
    told: list[str] = []

    def first_job() -> None:
        with rendezvous_port(True, lambda: False, "training job first", told.append):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=first_job)
    holder.start()
    assert held.wait(10)
    threading.Timer(1.5, release.set).start()
    with rendezvous_port(True, lambda: False, "training job second", told.append):
        assert release.is_set()  # only once the first job let go
    holder.join(10)
    assert told == [f"training job first (process {os.getpid()})"]


def test_a_stop_ends_the_wait():
    held, release = threading.Event(), threading.Event()

    def first_job() -> None:
        with rendezvous_port(True, lambda: False, "training job first", lambda _: None):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=first_job)
    holder.start()
    assert held.wait(10)
    try:
        with rendezvous_port(True, lambda: True, "training job stopped", lambda _: None):
            assert not release.is_set()  # given up at once, the port still held
    finally:
        release.set()
        holder.join(10)
