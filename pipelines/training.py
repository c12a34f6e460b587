"""monitor -> prepare -> train -> evaluate -> gate -> export + publish -> deploy, as one KFP
v2 pipeline.

The monitor step decides whether the rest runs: always, unless ``train_when_drift_above``
is above 0; then only when the published version's served requests drifted.

The same component code runs as containers on a cluster (each component's base
image is the trainer image) and in subprocesses with kfp.local.
"""

import inspect

from kfp import dsl, kubernetes

from components.deploy.component import deploy_op
from components.errors import StepError
from components.evaluate.component import evaluate_op
from components.export.component import export_op
from components.monitor.component import monitor_op
from components.prepare.component import prepare_op
from components.train.component import train_op

PIPELINE_NAME = "image-classifier-training"
GCS_KEY_MOUNT = "/var/secrets/google"
TRAIN_RETRIES = 2


def make_pipeline(gcs_secret_name: str = ""):
    """Build the pipeline.

    Args:
        gcs_secret_name: a Kubernetes secret holding a GCS service-account key
            (``key.json``) to mount on every step. Leave empty with GKE
            workload identity: the pods' service account then carries the
            permissions and nothing secret appears anywhere in the spec.
    """

    @dsl.pipeline(name=PIPELINE_NAME, description=__doc__)
    def training_pipeline(
        data_uri: str,
        model_base_uri: str,
        model_name: str = "classifier",
        backbone: str = "resnet50",
        weights: str = "imagenet",
        image_size: int = 224,
        epochs: int = 20,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        fine_tune_layers: int = 0,
        fine_tune_learning_rate: float = 1e-5,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 42,
        min_images_per_class: int = 3,
        invalid_files: str = "fail",
        min_accuracy: float = 0.8,
        max_regression: float = 0.02,
        gpu_count: int = 0,
        gpu_type: str = "nvidia.com/gpu",
        gpu_node_selector: dict = {},  # noqa: B006 - KFP reads parameter defaults
        deploy_namespace: str = "",
        deploy_name: str = "predictor",
        deploy_smoke_url: str = "",
        deploy_timeout_s: int = 600,
        deploy_strategy: str = "rolling",
        deploy_route: str = "predictor",
        canary_steps: str = "5,25,50,100",
        canary_step_wait_s: float = 60,
        canary_min_requests: int = 20,
        canary_max_error_rate_increase: float = 0.01,
        canary_max_p99_ratio: float = 1.5,
        canary_p99_margin_ms: float = 50,
        shadow_percent: int = 100,
        shadow_duration_s: float = 300,
        shadow_min_agreement: float = 0.95,
        shadow_max_delta: float = 0.1,
        shadow_mirror: str = "gateway-api",
        checkpoint_uri: str = "",
        train_when_drift_above: float = 0.0,
        prediction_log_uri: str = "",
        drift_window_days: int = 7,
    ):
        """Train a classifier on ``data_uri``; publish and deploy it if it passes the gate.

        ``deploy_namespace`` empty: publish only (no cluster to roll out to).
        ``deploy_strategy``: ``rolling``, ``canary`` (``canary_*``: the route's weights move
        in steps, each checked on the pods' error rate and p99) or ``shadow`` (``shadow_*``:
        the route mirrors traffic to the new version; its answers, read from
        ``prediction_log_uri``, must agree with the stable version's). README, "Deploy
        strategies".
        ``checkpoint_uri`` empty: training state goes under
        ``<model_base_uri>/.checkpoints/<model_name>/<run id>``.
        ``train_when_drift_above`` 0 (or below): always train. Above 0: train only when
        nothing is published yet, or when the latest published version's requests logged
        under ``prediction_log_uri`` in the last ``drift_window_days`` days drifted (a PSI
        above it, or too many low-confidence predictions; components/monitor/drift.py).
        """
        monitor = monitor_op(
            prediction_log_uri=prediction_log_uri,
            model_base_uri=model_base_uri,
            model_name=model_name,
            train_when_drift_above=train_when_drift_above,
            window_days=drift_window_days,
        )
        monitor.set_caching_options(False)  # the logs and the published versions move
        monitor.set_cpu_request("1").set_memory_request("2G")

        with dsl.If(monitor.outputs["train"] == True, name="drift-gate"):  # noqa: E712
            prepare = prepare_op(
                data_uri=data_uri,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                seed=seed,
                min_images_per_class=min_images_per_class,
                invalid_files=invalid_files,
            )
            prepare.set_caching_options(False)  # the dataset location's content may change
            prepare.set_cpu_request("1").set_memory_request("2G")

            train = train_op(
                split=prepare.outputs["split"],
                backbone=backbone,
                weights=weights,
                image_size=image_size,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                fine_tune_layers=fine_tune_layers,
                fine_tune_learning_rate=fine_tune_learning_rate,
                seed=seed,
                checkpoint_uri=checkpoint_uri,
                model_base_uri=model_base_uri,
                model_name=model_name,
                run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            )
            train.set_cpu_request("4").set_memory_request("16G")
            # A preempted or evicted training pod is retried; it resumes from its backups.
            train.set_retry(
                num_retries=TRAIN_RETRIES,
                backoff_duration="30s",
                backoff_factor=2.0,
                backoff_max_duration="600s",
            )
            train.set_accelerator_type(gpu_type).set_accelerator_limit(gpu_count)
            # kfp 2.17 does not pass parameters used only in resource settings into an
            # enclosing dsl.If's sub-DAG: the train task's accelerator placeholders would
            # name inputs the drift gate does not have. Registering them makes it pass them.
            train.register_pipeline_channels([gpu_type, gpu_count])
            kubernetes.add_node_selector_json(train, gpu_node_selector)
            kubernetes.add_toleration(
                train, key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"
            )

            evaluate = evaluate_op(
                model=train.outputs["model"],
                split=prepare.outputs["split"],
                min_accuracy=min_accuracy,
                max_regression=max_regression,
                model_base_uri=model_base_uri,
                model_name=model_name,
            )
            evaluate.set_caching_options(False)  # compares with the currently published version
            evaluate.set_cpu_request("2").set_memory_request("8G")

            with dsl.If(evaluate.outputs["passed"] == True, name="accuracy-gate"):  # noqa: E712
                publish = export_op(
                    model=train.outputs["model"],
                    split=prepare.outputs["split"],
                    evaluation=evaluate.outputs["report"],
                    model_base_uri=model_base_uri,
                    model_name=model_name,
                )
                publish.set_caching_options(False)  # publishing has side effects: never skip it
                publish.set_cpu_request("1").set_memory_request("4G")
                with dsl.If(deploy_namespace != "", name="deploy-enabled"):
                    deploy = deploy_op(
                        model_base_uri=model_base_uri,
                        model_name=model_name,
                        version=publish.outputs["version"],
                        namespace=deploy_namespace,
                        deployment=deploy_name,
                        smoke_url=deploy_smoke_url,
                        timeout_s=deploy_timeout_s,
                        strategy=deploy_strategy,
                        route=deploy_route,
                        canary_steps=canary_steps,
                        canary_step_wait_s=canary_step_wait_s,
                        canary_min_requests=canary_min_requests,
                        canary_max_error_rate_increase=canary_max_error_rate_increase,
                        canary_max_p99_ratio=canary_max_p99_ratio,
                        canary_p99_margin_ms=canary_p99_margin_ms,
                        prediction_log_uri=prediction_log_uri,
                        shadow_percent=shadow_percent,
                        shadow_duration_s=shadow_duration_s,
                        shadow_min_agreement=shadow_min_agreement,
                        shadow_max_delta=shadow_max_delta,
                        shadow_mirror=shadow_mirror,
                    )
                    deploy.set_caching_options(False)
                    deploy.set_cpu_request("100m").set_memory_request("512M")

        if gcs_secret_name:
            for task in (monitor, prepare, train, evaluate, publish, deploy):
                kubernetes.use_secret_as_volume(
                    task, secret_name=gcs_secret_name, mount_path=GCS_KEY_MOUNT
                )
                task.set_env_variable("GOOGLE_APPLICATION_CREDENTIALS", f"{GCS_KEY_MOUNT}/key.json")

    return training_pipeline


training_pipeline = make_pipeline()


def check_arguments(arguments: dict[str, object], known: list[str] | None = None) -> None:
    """Refuse a parameter the pipeline does not take (``known``, default this code's
    pipeline's parameters), before anything runs.

    Raises:
        StepError: naming the first unknown parameter and listing the known ones.
    """
    known = known or list(inspect.signature(training_pipeline.pipeline_func).parameters)
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise StepError(
            f"unknown pipeline parameter {unknown[0]!r}; the pipeline takes {', '.join(known)}"
        )
