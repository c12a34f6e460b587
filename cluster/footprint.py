"""What a cluster leaves on the host: its processes, mounts, iptables rules, routes, links.

Taken before ``up`` and after ``down``, the two must be equal: the tests' cleanup check.
Only what this cluster can own is looked at (its programs, pods' cgroups, mounts under
its workdir and pods' network namespaces, KUBE-* rules, anything on its bridge), so other
work on the machine (podman containers of earlier tests, say) cannot move it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cluster.settings import ADDONS, CONTROL_PLANE, NODE, Settings

OURS = {*CONTROL_PLANE, *NODE, *ADDONS, "kwok"}
POD_NETNS = "/run/netns/cni-"  # containerd's names for pods' network namespaces


@dataclass(frozen=True)
class Footprint:
    processes: frozenset[str]
    mounts: frozenset[str]
    iptables: frozenset[str]
    routes: frozenset[str]
    links: frozenset[str]

    def diff(self, later: Footprint) -> list[str]:
        """What ``later`` has that this one does not (and the reverse), one line each."""
        out = []
        for field in ("processes", "mounts", "iptables", "routes", "links"):
            before, after = getattr(self, field), getattr(later, field)
            out += [f"{field}: added {x}" for x in sorted(after - before)]
            out += [f"{field}: removed {x}" for x in sorted(before - after)]
        return out


def take(s: Settings) -> Footprint:
    workdir = str(s.workdir.resolve())
    mounts = _lines(["findmnt", "-rn", "-o", "TARGET,FSTYPE"])
    return Footprint(
        processes=frozenset(_processes()),
        mounts=frozenset(m for m in mounts if m.startswith((workdir, POD_NETNS))),
        iptables=frozenset(r for r in _iptables() if "KUBE-" in r or s.bridge in r),
        routes=frozenset(
            r for r in _lines(["ip", "route", "show", "table", "all"]) if s.bridge in r
        ),
        links=frozenset(
            line.split(":")[1].strip()
            for line in _lines(["ip", "-o", "link"])
            if s.bridge in line  # the bridge itself and every veth enslaved to it
        ),
    )


def _lines(args: list[str]) -> list[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout.splitlines()


def _iptables() -> list[str]:
    rules = []
    for program in ("iptables-save", "ip6tables-save"):
        for line in _lines([program]):
            if line.startswith(("-A", ":")):
                # Chain lines carry packet counters: keep only the chain's name.
                rules.append(f"{program} {line.split()[0] if line.startswith(':') else line}")
    return rules


def _processes() -> list[str]:
    """The cluster's programs (by name: kwokctl runs copies of them), and anything in a
    pod's cgroup, that are running."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = os.readlink(proc / "exe")
        except OSError:
            continue
        try:
            in_pod = "kubepods" in (proc / "cgroup").read_text()
        except OSError:
            in_pod = False
        if in_pod or Path(exe).name in OURS:
            found.append(f"{Path(exe).name} (pid {proc.name})")
    return found
