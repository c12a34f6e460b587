"""Upload the compiled pipeline to a Kubeflow Pipelines endpoint and start a run.

The first upload creates the pipeline; later ones add a version named after the
time of upload, so the UI keeps every version that ever ran.
"""

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import kfp
import yaml
from kfp_server_api.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from components.errors import StepError
from pipelines.training import check_arguments


@dataclass(frozen=True)
class Submitted:
    """What was created on the Kubeflow Pipelines endpoint."""

    pipeline_id: str
    version_id: str
    run_url: str


def submit(
    host: str,
    package_path: str,
    pipeline_name: str,
    experiment: str,
    arguments: dict[str, object],
    *,
    cron: str = "",
    namespace: str | None = None,
    token: str | None = None,
) -> Submitted:
    """Upload ``package_path`` (a new version if the pipeline exists) and run it.

    Args:
        host: the KFP API endpoint, e.g. ``https://<cluster>/pipeline``.
        package_path: the compiled IR YAML (``python -m pipelines compile``).
        pipeline_name: the pipeline's name in the UI.
        experiment: the experiment to run in (created if missing).
        arguments: pipeline parameters.
        cron: a cron expression (six fields, seconds first): create a recurring
            run instead of a single run.
        namespace: the user's profile namespace on multi-user installs.
        token: a bearer token, when the endpoint needs one.
    """
    if not Path(package_path).is_file():
        raise StepError(f"{package_path} not found: run `make pipeline` first")
    try:
        spec = next(yaml.safe_load_all(Path(package_path).read_text()))
        known = list(spec["root"]["inputDefinitions"]["parameters"])
    except (yaml.YAMLError, StopIteration, KeyError, TypeError) as err:
        raise StepError(
            f"{package_path} is not a compiled pipeline (KFP IR YAML): {err!r}"
        ) from err
    check_arguments(arguments, known)
    try:
        client = kfp.Client(host=host, namespace=namespace or "kubeflow", existing_token=token)
    except (MaxRetryError, ApiException, TimeoutError) as err:
        # TimeoutError: kfp.Client found no KFP API healthz there, after its retries.
        raise StepError(f"cannot reach Kubeflow Pipelines at {host}: {err}") from err
    # Unique even for two submits in one second (the API refuses a taken version name).
    version_name = time.strftime("v%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    with _refusals(host):
        return _upload_and_run(
            client, host, package_path, pipeline_name, version_name, experiment, arguments,
            cron=cron, namespace=namespace,
        )  # fmt: skip


def _upload_and_run(
    client: kfp.Client,
    host: str,
    package_path: str,
    pipeline_name: str,
    version_name: str,
    experiment: str,
    arguments: dict[str, object],
    *,
    cron: str,
    namespace: str | None,
) -> Submitted:
    pipeline_id = client.get_pipeline_id(pipeline_name)
    if pipeline_id is None:
        pipeline_id = client.upload_pipeline(package_path, pipeline_name, namespace=namespace)
        pipeline_id = pipeline_id.pipeline_id
        version = client.list_pipeline_versions(pipeline_id, page_size=1).pipeline_versions[0]
    else:
        version = client.upload_pipeline_version(
            package_path, version_name, pipeline_id=pipeline_id
        )
    experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
    job_name = f"{pipeline_name}-{version_name}"
    ids = dict(pipeline_id=pipeline_id, version_id=version.pipeline_version_id, params=arguments)
    base = host.rstrip("/")
    if cron:
        job = client.create_recurring_run(experiment_id, job_name, cron_expression=cron, **ids)
        url = f"{base}/#/recurringrun/details/{job.recurring_run_id}"
    else:
        run = client.run_pipeline(experiment_id, job_name, **ids)
        url = f"{base}/#/runs/details/{run.run_id}"
    return Submitted(pipeline_id, version.pipeline_version_id, url)


@contextmanager
def _refusals(host: str) -> Iterator[None]:
    """An API refusal as one line: the status and the server's own message."""
    try:
        yield
    except ApiException as err:
        try:
            body = json.loads(err.body or "{}")
        except ValueError:
            body = {}
        message = body.get("message") or body.get("error") or err.body or err.reason
        message = " ".join(str(message).split())
        raise StepError(
            f"Kubeflow Pipelines at {host} refused: HTTP {err.status}: {message}"
        ) from err
