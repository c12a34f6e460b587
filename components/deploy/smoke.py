"""One real prediction through the predictor Service after a rollout.

The export step stores a test image and the Keras model's prediction for it in
the version (``metadata.json`` → ``smoke_test``). The deployed version must
give the same label and probabilities for that image, asked by version number
so the answer cannot come from the previous model.
"""

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from components.errors import StorageError
from components.storage import open_store

TOLERANCE = 1e-4
RETRY_S = 30  # Service endpoints follow pod readiness with a short delay
# Answers worth retrying until RETRY_S: 503, a pod still loading or draining; 404, a pod of
# the previous version that kube-proxy still routes to for a moment after the rollout
# (it answers "no version N"; measured on the local cluster).
RETRY_STATUSES = (503, 404)


class SmokeTestError(Exception):
    """The deployed model did not answer the smoke test as exported."""


@dataclass(frozen=True)
class SmokeCase:
    """A version's smoke image and the export's answer for it (``metadata.json``)."""

    image: bytes
    expected: dict


def load_smoke_case(model_base_uri: str, model_name: str, version: int) -> SmokeCase:
    """Read the version's smoke test from the store, before anything is rolled out.

    Raises:
        StorageError: the version is not published there, or it has no smoke test.
    """
    store = open_store(model_base_uri)
    prefix = f"{model_name}/{version}"
    expected = json.loads(store.read_bytes(f"{prefix}/metadata.json")).get("smoke_test")
    if not expected:
        raise StorageError(f"{model_base_uri}/{prefix}/metadata.json has no smoke_test")
    return SmokeCase(store.read_bytes(f"{prefix}/{expected['image']}"), expected)


def smoke_test(base_url: str, case: SmokeCase, model_name: str, version: int) -> None:
    """Ask ``base_url`` to predict the version's smoke image; compare with the export's answer.

    Raises:
        SmokeTestError: no answer, an error status, or a different prediction.
    """
    image, expected = case.image, case.expected
    body = json.dumps({"instances": [{"b64": base64.b64encode(image).decode()}]}).encode()
    url = f"{base_url.rstrip('/')}/v1/models/{model_name}/versions/{version}:predict"
    got = _post(url, body)["predictions"][0]
    if got.get("label") != expected["label"]:
        raise SmokeTestError(
            f"smoke test: predicted {got.get('label')!r}, expected {expected['label']!r}"
        )
    worst = max(
        abs(a - b) for a, b in zip(got["probabilities"], expected["probabilities"], strict=True)
    )
    if worst > TOLERANCE:
        raise SmokeTestError(f"smoke test: probabilities differ by {worst:.2e} (> {TOLERANCE})")
    print(f"deploy: smoke test passed ({url} -> {got['label']})")


def _post(url: str, body: bytes) -> dict:
    deadline = time.monotonic() + RETRY_S
    while True:
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            if err.code not in RETRY_STATUSES or time.monotonic() > deadline:
                raise SmokeTestError(
                    f"smoke test: {url} answered HTTP {err.code}: {detail}"
                ) from err
        except (urllib.error.URLError, OSError) as err:
            if time.monotonic() > deadline:
                raise SmokeTestError(f"smoke test: {url} unreachable: {err}") from err
        time.sleep(1)
