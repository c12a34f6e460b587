"""GPU placement on the real node: it advertises one fake ``nvidia.com/gpu`` and GKE's GPU
label (cluster/node.py), and carries GKE's GPU taint for this test. A pod rendered from
the compiled pipeline's own settings for the train step (accelerator type, toleration,
and the count and node selector through the parameters they are bound to, with a GPU
run's arguments) schedules there; the same pod without the toleration does not, nor one
selecting another accelerator, nor a second one while the first holds the node's GPU.
This checks placement, not CUDA: no GPU exists here. CPU and memory requests are capped
to the 2-core node (the compiled 4 CPU / 16G would fit no node here); the GPU settings
are the compiled ones.
"""

import json
import subprocess
import sys
import time

import pytest
import yaml
from k8s_cluster import get_json

from cluster.node import GPU_LABEL, GPU_TAINT
from cluster.settings import PAUSE_IMAGE

NAMESPACE = "gpu-placement"


# The arguments a GPU run passes (the pipeline's defaults train on CPU: gpu_count 0).
RUN_ARGUMENTS = {"gpu_count": 1, "gpu_node_selector": dict([GPU_LABEL.split("=")])}


@pytest.fixture(scope="module")
def train_settings(tmp_path_factory) -> dict:
    """The train step's accelerator, tolerations and node selector from the compiled IR,
    each resolved through the pipeline parameter it is bound to, with a GPU run's
    arguments (RUN_ARGUMENTS) over the compiled defaults."""
    out = tmp_path_factory.mktemp("ir") / "pipeline.yaml"
    subprocess.run([sys.executable, "-m", "pipelines", "compile", "--output", str(out)], check=True)
    pipeline, platform = yaml.safe_load_all(out.read_text())
    executor = pipeline["deploymentSpec"]["executors"]["exec-train-op"]["container"]
    accelerator = executor["resources"]["accelerator"]
    defaults = pipeline["root"]["inputDefinitions"]["parameters"]

    def resolve(value: str) -> object:  # "{{$.inputs.parameters['pipelinechannel--gpu_type']}}"
        name = value.split("pipelinechannel--")[1].split("'")[0]
        return RUN_ARGUMENTS.get(name, defaults[name].get("defaultValue"))

    assert accelerator["resourceCount"] == "{{$.inputs.parameters['pipelinechannel--gpu_count']}}"
    placement = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train-op"]
    # Inside the drift gate's sub-DAG the selector is the channel of the pipeline parameter
    # (test_pipeline_spec.py checks the chain of bindings up to the root).
    selector = placement["nodeSelector"]["nodeSelectorJson"]["componentInputParameter"]
    assert selector == "pipelinechannel--gpu_node_selector"
    return {
        "resource": resolve(accelerator["resourceType"]),
        "count": str(resolve(accelerator["resourceCount"])),
        "tolerations": placement["tolerations"],
        "node_selector": RUN_ARGUMENTS[selector.removeprefix("pipelinechannel--")],
    }


def _pod(name: str, settings: dict, tolerate: bool) -> dict:
    limits = {settings["resource"]: settings["count"], "cpu": "100m", "memory": "64Mi"}
    spec = {
        "nodeSelector": settings["node_selector"],
        "containers": [
            {
                "name": "train",
                "image": PAUSE_IMAGE,
                "imagePullPolicy": "Never",
                "resources": {"limits": limits, "requests": limits},
            }
        ],  # fmt: skip
    }
    if tolerate:
        spec["tolerations"] = settings["tolerations"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}  # fmt: skip


def _scheduled(cluster, name: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        pod = get_json(cluster, "pod", name, namespace=NAMESPACE)
        conditions = {c["type"]: c for c in pod["status"].get("conditions", [])}
        scheduled = conditions.get("PodScheduled")
        if scheduled and (
            scheduled["status"] == "True" or scheduled.get("reason") == "Unschedulable"
        ):
            return {**scheduled, "nodeName": pod["spec"].get("nodeName")}
        if time.monotonic() > deadline:
            pytest.fail(f"pod {name} not judged by the scheduler: {pod['status']}")
        time.sleep(0.5)


def test_train_step_pod_lands_on_the_gpu_node_only_with_its_toleration(k8s_cluster, train_settings):
    assert train_settings["resource"] == "nvidia.com/gpu" and train_settings["count"] == "1"
    node = get_json(k8s_cluster, "node", k8s_cluster.settings.node_name, namespace="default")
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    node_name = k8s_cluster.settings.node_name
    other_accelerator = {**train_settings, "node_selector": {GPU_LABEL.split("=")[0]: "other-gpu"}}
    pods = {
        "with-toleration": _pod("with-toleration", train_settings, tolerate=True),
        "without-toleration": _pod("without-toleration", train_settings, tolerate=False),
        "other-accelerator": _pod("other-accelerator", other_accelerator, tolerate=True),
        # Applied once the first holds the node's one GPU: no second one is there.
        "second-gpu": _pod("second-gpu", train_settings, tolerate=True),
    }
    k8s_cluster.kubectl("taint", "node", node_name, GPU_TAINT)
    k8s_cluster.kubectl("create", "namespace", NAMESPACE)
    try:
        for name in ("with-toleration", "without-toleration", "other-accelerator"):
            k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(pods[name]))
        placed = _scheduled(k8s_cluster, "with-toleration")
        assert placed["status"] == "True" and placed["nodeName"] == node_name
        refused = _scheduled(k8s_cluster, "without-toleration")
        assert refused["status"] == "False" and "untolerated taint" in refused["message"]
        elsewhere = _scheduled(k8s_cluster, "other-accelerator")
        assert elsewhere["status"] == "False" and "node affinity/selector" in elsewhere["message"]
        k8s_cluster.kubectl("apply", "-f", "-", input=json.dumps(pods["second-gpu"]))
        full = _scheduled(k8s_cluster, "second-gpu")
        assert full["status"] == "False" and "Insufficient nvidia.com/gpu" in full["message"]
    finally:
        k8s_cluster.kubectl("taint", "node", node_name, f"{GPU_TAINT.split('=')[0]}-", check=False)
        k8s_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
