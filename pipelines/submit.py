"""Upload the compiled pipeline to a Kubeflow Pipelines endpoint and start a run.

The first upload creates the pipeline; later ones add a version named after the
time of upload, so the UI keeps every version that ever ran.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import kfp
from kfp_server_api.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from components.errors import StepError


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
        client = kfp.Client(host=host, namespace=namespace or "kubeflow", existing_token=token)
    except (MaxRetryError, ApiException) as err:
        raise StepError(f"cannot reach Kubeflow Pipelines at {host}: {err}") from err
    version_name = time.strftime("v%Y%m%d-%H%M%S")
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
