"""``make demo``: train on real LFW faces with the local pipeline, then predict with Go.

1. write the LFW face / non-face crops as image folders (train pool + holdout);
2. run the KFP pipeline locally (prepare -> train -> evaluate -> gate -> export/publish);
3. start the Go predictor on the published model directory;
4. send every holdout image over HTTP and print predictions and accuracy;
5. print the predictor's web page (try the model, read its card) and keep
   serving until Ctrl-C; ``--exit`` stops at once instead (CI, scripts).

``--in-containers`` (``make demo-containers``) runs every step in the trainer
image and serves from the predictor image, both built by ``make images``.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

from components.cli import run_cli
from components.storage import list_versions
from pipelines.container_engine import docker_api
from pipelines.demo_data import write_lfw_folders
from pipelines.local import run_in_containers, run_local
from pipelines.predictor_container import ContainerPredictor
from pipelines.predictor_process import LocalPredictor, PredictorClient

MODEL_NAME = "lfw-faces"
BATCH = 8


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__)
    parser.add_argument(
        "--workdir", help="where data, runs and models go (build/demo[-containers])"
    )
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--in-containers",
        action="store_true",
        help="run every step in the trainer image and serve from the predictor image",
    )
    parser.add_argument(
        "--exit",
        action="store_true",
        help="stop the predictor after the predictions instead of serving its page until Ctrl-C",
    )
    parser.add_argument(
        "--port", type=int, default=8501, help="predictor port on 127.0.0.1 (a free one if taken)"
    )
    args = parser.parse_args()
    workdir = Path(
        args.workdir or ("build/demo-containers" if args.in_containers else "build/demo")
    )
    run_cli(
        lambda: demo(
            workdir,
            args.epochs,
            in_containers=args.in_containers,
            stay=not args.exit,
            port=args.port,
        )
    )


def demo(
    workdir: Path,
    epochs: int,
    *,
    in_containers: bool = False,
    stay: bool = True,
    port: int | None = None,
) -> None:
    data_dir, model_base = workdir / "data", workdir / "models"
    shutil.rmtree(data_dir, ignore_errors=True)
    _step(f"1/4 writing LFW face / non-face images to {data_dir}")
    write_lfw_folders(data_dir)

    training = dict(
        model_name=MODEL_NAME,
        # No pretrained weights can be downloaded here, and ResNet50 from scratch
        # does not learn from 160 images: the demo trains the compact CNN.
        backbone="small_cnn",
        weights="none",
        image_size=64,
        batch_size=16,
        epochs=epochs,
    )
    predictor: PredictorClient
    if in_containers:
        _step("2/4 running the training pipeline with every step in the trainer image")
        with docker_api():
            run_in_containers(
                workdir / "pipeline_root",
                data_dir=data_dir / "train",
                model_base_dir=model_base,
                **training,
            )
    else:
        _step("2/4 running the training pipeline locally (kfp.local)")
        run_local(
            workdir / "pipeline_root",
            data_uri=str((data_dir / "train").resolve()),
            model_base_uri=str(model_base.resolve()),
            **training,
        )
    versions = list_versions(str(model_base), MODEL_NAME)
    if not versions:
        sys.exit("error: the pipeline published no model (did the accuracy gate fail?)")
    print(f"published {model_base / MODEL_NAME / str(versions[-1])}")

    holdout = sorted((data_dir / "holdout").glob("*/*.jpg"))
    if in_containers:
        _step("3/4 starting the predictor image (non-root, read-only, 1 CPU, model read-only)")
        predictor = ContainerPredictor(model_base / MODEL_NAME, MODEL_NAME, port=port)
    else:
        _step("3/4 starting the Go predictor")
        predictor = LocalPredictor(
            model_base / MODEL_NAME, MODEL_NAME, log_path=workdir / "predictor.log", port=port
        )
    with predictor as p:
        status = p.request("GET", f"/v1/models/{MODEL_NAME}")[1]
        print(f"{p.url}/v1/models/{MODEL_NAME} -> {status}")
        _step(f"4/4 predicting {len(holdout)} held-out images over HTTP")
        correct = 0
        for start in range(0, len(holdout), BATCH):
            files = holdout[start : start + BATCH]
            predictions = p.predict([f.read_bytes() for f in files])
            for file, prediction in zip(files, predictions, strict=True):
                truth = file.parent.name
                score = max(prediction["probabilities"])
                correct += prediction["label"] == truth
                mark = "ok   " if prediction["label"] == truth else "WRONG"
                print(f"  {mark} {truth}/{file.name}: {prediction['label']:8s} score {score:.3f}")
        print(f"\nheld-out accuracy: {correct}/{len(holdout)} = {correct / len(holdout):.3f}")
        _step(f"the predictor's page: {p.url}/ui/models/{MODEL_NAME}")
        if stay:
            print(
                "open it in a browser to try the model and read its card;"
                " Ctrl-C stops the predictor"
            )
            _serve_until_interrupted(p)


def _serve_until_interrupted(predictor: PredictorClient) -> None:
    try:
        while (code := predictor.exit_code()) is None:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping the predictor")
        return
    sys.exit(f"error: the predictor exited with {code}: {predictor.log()}")


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":
    main()
