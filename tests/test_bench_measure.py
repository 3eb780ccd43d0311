"""The bench's timing helper: calls timed round by round, in CPU time beside wall time."""
from __future__ import annotations

import time

from bench.measure import interleaved_calls


def test_cpu_time_leaves_out_waiting_that_wall_time_counts():
    calls: list[str] = []

    def sleeper():
        calls.append("sleep")
        time.sleep(0.02)

    def spinner():
        calls.append("spin")
        deadline = time.thread_time() + 0.005
        while time.thread_time() < deadline:
            pass

    measured = interleaved_calls({"sleep": sleeper, "spin": spinner}, min_seconds=0, min_rounds=6)
    assert len(measured["sleep"].wall_s) == len(measured["spin"].cpu_s) == 6
    assert min(measured["sleep"].wall_s) >= 0.02
    assert max(measured["sleep"].cpu_s) < 0.005        # asleep, it used (almost) no CPU, however busy the machine
    assert min(measured["spin"].cpu_s) >= 0.005


def test_each_round_calls_every_function_once_in_a_rotating_order():
    order: list[str] = []
    calls = {name: (lambda name=name: order.append(name)) for name in "abc"}
    interleaved_calls(calls, min_seconds=0, min_rounds=3)
    warm_up, rounds = order[:3], order[3:]
    assert warm_up == ["a", "b", "c"]
    assert rounds == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
