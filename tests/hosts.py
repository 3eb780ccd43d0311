"""Hosts for the tests of several machines: each worker host a Linux network namespace of its own, joined
to this one by a bridge, so that the only way from a worker to the server, the catalog or the object store
is the hub's address on that bridge (a worker's 127.0.0.1 is its own).

The addresses are a random /24 of 198.18.0.0/15, the range set aside for network tests (RFC 2544): it
exists only on the bridge the test made, and the bridge is deleted afterwards. Where namespaces cannot be
made (no root, no `ip`), every host is this machine and the hub listens on 127.0.0.2: `mode` says which
was used.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Hosts:
    def __init__(self, workers: list[str]):
        self.workers = workers
        self.tag = f"dk{os.getpid() % 10000:04d}"           # interface names are at most 15 characters
        self._made: list[str] = []
        subnet = random.randrange(256)
        self.mode = "namespaces"
        try:
            if os.geteuid() != 0 or not shutil.which("ip"):
                raise OSError("namespaces need root and iproute2")
            self._bridge = f"{self.tag}br"
            _ip("link", "add", self._bridge, "type", "bridge")
            self._made.append(f"link:{self._bridge}")
            self.hub = f"198.18.{subnet}.1"
            _ip("addr", "add", f"{self.hub}/24", "dev", self._bridge)
            _ip("link", "set", self._bridge, "up")
            self.address = {}
            for n, name in enumerate(workers, start=2):
                ns, outside, inside = self.namespace(name), f"{self.tag}{name[-1]}0", f"{self.tag}{name[-1]}1"
                _ip("netns", "add", ns)
                self._made.append(f"netns:{ns}")
                _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                self._made.append(f"link:{outside}")
                _ip("link", "set", inside, "netns", ns)
                _ip("link", "set", outside, "master", self._bridge)
                _ip("link", "set", outside, "up")
                self.address[name] = f"198.18.{subnet}.{n}"
                _ip("-n", ns, "addr", "add", f"{self.address[name]}/24", "dev", inside)
                _ip("-n", ns, "link", "set", inside, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
            self.network = f"198.18.{subnet}.0/24"
        except OSError as e:
            self.remove()
            self.mode = f"loopback addresses ({e})"
            self.hub, self.network = "127.0.0.2", "127.0.0.0/8"
            self.address = {name: "127.0.0.1" for name in workers}

    @property
    def separated(self) -> bool:
        return self.mode == "namespaces"

    def namespace(self, worker: str) -> str:
        return f"{self.tag}-{worker}"

    def on(self, worker: str, *command: str) -> list[str]:
        """The command as run on that worker's host."""
        return ["ip", "netns", "exec", self.namespace(worker), *command] if self.separated else list(command)

    def kill(self, worker: str, proc: subprocess.Popen) -> None:
        """Every process of that host dies at once, as when it loses power: SIGKILL, no clean-up. `proc` is
        the process started on it; without namespaces, it and its descendants are the host."""
        from tests.test_deployment import descendants
        pids = [pid for pid, _ in descendants(proc.pid)]
        if self.separated:
            listed = subprocess.run(["ip", "netns", "pids", self.namespace(worker)], capture_output=True,
                                    text=True, timeout=30).stdout.split()
            pids += [int(pid) for pid in listed]
        for pid in {proc.pid, *pids}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)

    def remove(self) -> None:
        for made in reversed(self._made):
            kind, name = made.split(":", 1)
            try:
                if kind == "netns":
                    _ip("netns", "del", name)
                else:
                    _ip("link", "del", name)
            except OSError:
                pass                                        # a veth goes with its namespace
        self._made.clear()
