"""``bench/run.py --containers``: each server in a container under a CPU quota, as deployed.

A Kubernetes CPU limit is a CFS quota on the container's cgroup, not a pinned
core: ``--cpus=1`` gives the same ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``
of 100000/100000, and the server's threads may run on any core until the quota
is spent. Each server runs in its image (the predictor image of ``make
images``; Flask, FastAPI and KServe from the one bench peers image of ``make
bench-images``) as the k8s base runs the predictor: user 65532, read-only root
filesystem (tmpfs ``/tmp``, ``HOME=/tmp``), every capability dropped, the model
directory mounted read-only. Host networking: the server listens on
127.0.0.1 of the host, so traffic stays on loopback and no bridge or NAT sits
between it and the load generator (the only change from the host mode is the
taskset -> quota swap). The engine and its settings are
``pipelines/container_engine.py``'s (podman with runc and cgroupfs here).

What a container adds to the rows: its CPU time and throttling from the
cgroup (``cpuacct.usage``, ``cpu.stat``), its peak memory
(``memory.max_usage_in_bytes``: page cache charged to it included, such as
its image's libraries read at start), the quota as the engine set it and as
the cgroup holds it, and its image's size.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import procstats

from pipelines import container_engine
from pipelines.predictor_container import PREDICTOR_IMAGE

PEERS_IMAGE = PREDICTOR_IMAGE.replace("/predictor:", "/bench-peers:")
"""Flask, FastAPI and KServe with the bench's server files (Dockerfiles/bench-peers.Dockerfile)."""
IMAGE_TARGETS = {PREDICTOR_IMAGE: "make images", PEERS_IMAGE: "make bench-images"}
PREDICTOR_BINARY = "/opt/predictor/bin/predictor"
PEERS_VENV_BIN = Path("/opt/venv/bin")
PEERS_SERVERS_DIR = Path("/opt/bench/servers")
MODELS_MOUNT = Path("/models")
USER = "65532:65532"
CGROUP_ROOT = Path("/sys/fs/cgroup")


class Unavailable(RuntimeError):
    """No container engine can run here, or an image the bench needs is not built."""


def check(images: list[str]) -> str:
    """The engine's name once it runs and every image in ``images`` is built, else Unavailable."""
    try:
        engine = container_engine.engine()
    except container_engine.EngineError as err:
        raise Unavailable(f"--containers needs a container engine: {err}") from err
    for image in dict.fromkeys(images):
        if image_info(image) is None:
            target = IMAGE_TARGETS.get(image, "make images")
            raise Unavailable(f"--containers needs the image {image}: run `{target}`")
    return engine


def image_info(image: str) -> dict | None:
    """Id, creation time and uncompressed size (MB) of a built image; None if it is not built."""
    fmt = "{{.Id}} {{.Size}} {{.Created.Unix}}"
    proc = container_engine.cli("image", "inspect", "--format", fmt, image, check=False)
    if proc.returncode != 0:
        return None
    image_id, size, created = proc.stdout.split()
    size_mb = round(int(size) / 1e6)
    return {"image": image, "id": image_id[:12], "size_mb": size_mb, "created": int(created)}


def image_versions(image: str, packages: tuple[str, ...]) -> dict[str, str | None]:
    """The Python version and the installed versions of ``packages`` inside ``image``."""
    script = (
        "import json, platform, sys\n"
        "from importlib import metadata\n"
        "out = {'python': platform.python_version()}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = metadata.version(p)\n"
        "    except metadata.PackageNotFoundError: out[p] = None\n"
        "print(json.dumps(out))\n"
    )
    run = ("run", "--rm", "--pull=never", "--network=none", "--entrypoint=python3", image)
    proc = container_engine.cli(*run, "-c", script, *packages)
    return json.loads(proc.stdout)


@dataclass(frozen=True)
class Mount:
    """A host directory mounted read-only into the container."""

    host: Path
    target: Path

    def arg(self) -> str:
        return f"--volume={self.host.resolve()}:{self.target}:ro"


class Container:
    """One server in a container, started attached so that its output goes to a log file and
    its exit shows as the ``<engine> run`` process's; measured through its cgroup."""

    def __init__(self, name: str, image: str, argv: list[str], env: dict[str, str],
                 mounts: list[Mount], cpus: str):  # fmt: skip
        self.name = name
        self.image = image
        self.cpus = cpus
        env = {"HOME": "/tmp", "TF_CPP_MIN_LOG_LEVEL": "2", **env}  # HOME: gunicorn, matplotlib
        envs = [f"--env={k}={v}" for k, v in env.items()]
        self.command = [
            container_engine.engine(), "run", "--rm", "--pull=never", f"--name={name}",
            "--network=host", f"--cpus={cpus}", "--read-only", "--cap-drop=ALL",
            "--security-opt=no-new-privileges", f"--user={USER}", *envs,
            *(m.arg() for m in mounts), f"--entrypoint={argv[0]}", image, *argv[1:],
        ]  # fmt: skip
        self.pid = 0
        self.quota: dict = {}
        self._cgroups: dict[str, Path] = {}

    def start(self, log: IO[str]) -> subprocess.Popen:
        """``<engine> run`` in the foreground of its own session; the caller times it."""
        return subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=container_engine.engine_env(),
            start_new_session=True,
        )

    def attach(self) -> None:
        """Find the running container's init process, its cgroups and its CPU quota."""
        fmt = "{{.State.Pid}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}"
        state = container_engine.cli("inspect", "--format", fmt, self.name).stdout
        pid, quota, period = state.split()
        self.pid = int(pid)
        self._cgroups = cgroup_dirs(self.pid)
        cg_quota, cg_period = self.cgroup_quota()
        self.quota = {
            "cpus": self.cpus,
            "inspect_quota_us": int(quota),
            "inspect_period_us": int(period),
            "cgroup_quota_us": cg_quota,
            "cgroup_period_us": cg_period,
            "cpu_limit": round(cg_quota / cg_period, 3) if cg_quota > 0 and cg_period else None,
        }

    def cgroup_quota(self) -> tuple[int, int]:
        """(quota, period) in µs as the container's cgroup holds them; quota -1: no limit."""
        if "cpu" in self._cgroups:  # cgroup v1
            cpu = self._cgroups["cpu"]
            quota = int((cpu / "cpu.cfs_quota_us").read_text())
            return quota, int((cpu / "cpu.cfs_period_us").read_text())
        quota, period = (self._cgroups["unified"] / "cpu.max").read_text().split()
        return (-1 if quota == "max" else int(quota)), int(period)

    def cpu_seconds(self) -> float:
        """CPU seconds the container's cgroup used so far (every process, exited ones too)."""
        if "cpuacct" in self._cgroups:
            return int((self._cgroups["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        return _stat(self._cgroups["unified"] / "cpu.stat")["usage_usec"] / 1e6

    def throttling(self) -> tuple[int, int]:
        """(CFS periods, periods in which the quota ran out) so far."""
        cpu = self._cgroups.get("cpu") or self._cgroups["unified"]
        stat = _stat(cpu / "cpu.stat")
        return stat.get("nr_periods", 0), stat.get("nr_throttled", 0)

    def peak_memory_mib(self) -> int:
        """The cgroup's peak memory use since the start (page cache charged to it included)."""
        if "memory" in self._cgroups:
            peak = self._cgroups["memory"] / "memory.max_usage_in_bytes"
        else:
            peak = self._cgroups["unified"] / "memory.peak"
        try:
            return int(peak.read_text()) // 2**20
        except OSError:
            return 0

    def peak_rss_mib(self) -> int:
        """Summed peak RSS of the container's processes (what the host mode reports)."""
        return procstats.peak_rss_mib(self.pid)

    def stop(self, proc: subprocess.Popen, timeout: float = 30) -> None:
        """SIGTERM to the server, wait for ``<engine> run`` to return (it removes the
        container); remove it by force if it does not stop."""
        if proc.poll() is None:
            container_engine.cli("kill", "--signal=TERM", self.name, check=False)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                container_engine.cli("rm", "--force", "--time=0", self.name, check=False)
                proc.wait()


def cgroup_dirs(pid: int) -> dict[str, Path]:
    """The cgroup directories of ``pid`` by controller (cgroup v1) and ``unified`` (v2).

    The readers above prefer a v1 controller's directory: on a hybrid host the v2
    hierarchy exists but holds no controllers.
    """
    out: dict[str, Path] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if not controllers:
            # v2: /sys/fs/cgroup itself, or /sys/fs/cgroup/unified on a hybrid host.
            for root in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
                if (root / "cgroup.controllers").exists():
                    out["unified"] = root / rel
                    break
            continue
        for controller in controllers.split(","):
            # A joint mount (cpu,cpuacct) or one per controller.
            for mount in (CGROUP_ROOT / controllers, CGROUP_ROOT / controller):
                if (mount / rel).is_dir():
                    out[controller] = mount / rel
                    break
    return out


def _stat(path: Path) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}
