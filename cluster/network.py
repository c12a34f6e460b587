"""The node's network on the host: the pod bridge, routes for the cluster's ranges, and the
removal of every iptables chain the node's programs add.

The bridge is created before any pod exists, with the node's address, and the Service
range is routed onto it, so no request to a cluster address can ever take the machine's
default route. kube-proxy's chains go with ``kube-proxy --cleanup``; the kubelet's own
(KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) are left behind by it and are
removed here by name.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from cluster.settings import Settings
from cluster.state import State

KUBELET_CHAINS = ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")
TABLES = ("filter", "nat", "mangle")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def create_bridge(settings: Settings, state: State, state_path: Path) -> None:
    """The pod bridge with the node's address, and the Service range routed onto it."""
    prefix = settings.pod_cidr.split("/")[1]
    _ip("link", "add", settings.bridge, "type", "bridge")
    state.bridge = settings.bridge
    state.save(state_path)
    _ip("addr", "add", f"{settings.node_ip}/{prefix}", "dev", settings.bridge)
    _ip("link", "set", settings.bridge, "up")
    route = f"{settings.service_cidr} dev {settings.bridge} src {settings.node_ip}"
    _ip("route", "add", *route.split())
    state.routes.append(route)
    state.save(state_path)


def remove_bridge(state: State) -> None:
    for route in state.routes:
        _ip("route", "del", *route.split(), check=False)
    if state.bridge:
        _ip("link", "del", state.bridge, check=False)


def remove_kubelet_chains() -> None:
    """Delete the kubelet's chains (and the jumps into them) from iptables and ip6tables."""
    for program in ("iptables", "ip6tables"):
        for table in TABLES:
            rules = subprocess.run(
                [f"{program}-save", "-t", table], capture_output=True, text=True, check=False
            ).stdout.splitlines()
            for rule in rules:
                if rule.startswith("-A ") and any(f"-j {c}" in rule for c in KUBELET_CHAINS):
                    args = rule.split()[1:]
                    subprocess.run([program, "-t", table, "-D", *args], capture_output=True)
            for chain in KUBELET_CHAINS:
                subprocess.run([program, "-t", table, "-F", chain], capture_output=True)
                subprocess.run([program, "-t", table, "-X", chain], capture_output=True)


def unusable_ranges(settings: Settings) -> list[str]:
    """Why the pod or Service range cannot be routed to the node's bridge, one line each.

    Each must be a private IPv4 network (never loopback, link-local or a public range this
    machine might reach), with room for the node and a few pods, and the two must not
    overlap.
    """
    problems, nets = [], {}
    for name, cidr in (("pod", settings.pod_cidr), ("Service", settings.service_cidr)):
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError as err:
            problems.append(f"the {name} range {cidr!r} is not a network: {err}")
            continue
        if net.version != 4 or not net.is_private or net.is_loopback or net.is_link_local:
            problems.append(
                f"the {name} range {cidr} cannot be routed to the node's bridge: "
                "use a private IPv4 range (10/8, 172.16/12, 192.168/16)"
            )
        elif net.prefixlen > 28:
            problems.append(f"the {name} range {cidr} is too small: use a /28 or larger")
        else:
            nets[name] = net
    if len(nets) == 2 and nets["pod"].overlaps(nets["Service"]):
        problems.append(f"the pod range {nets['pod']} and the Service range overlap")
    return problems


def range_conflicts(settings: Settings) -> list[str]:
    """Routes already on this machine that overlap the cluster's pod or Service range."""
    wanted = [ipaddress.ip_network(c) for c in (settings.pod_cidr, settings.service_cidr)]
    conflicts = []
    for line in _ip("-4", "route", "show").stdout.splitlines():
        dest = line.split()[0]
        if dest == "default":
            continue
        net = ipaddress.ip_network(dest if "/" in dest else f"{dest}/32", strict=False)
        if any(net.overlaps(w) for w in wanted):
            conflicts.append(line)
    return conflicts
