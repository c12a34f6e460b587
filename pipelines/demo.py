"""``make demo``: train on real LFW faces with the local pipeline, then predict with Go.

1. write the LFW face / non-face crops as image folders (train pool + holdout);
2. run the KFP pipeline locally (prepare -> train -> evaluate -> gate -> export/publish);
3. start the Go predictor on the published model directory;
4. send every holdout image over HTTP and print predictions and accuracy.

``--in-containers`` (``make demo-containers``) runs every step in the trainer
image and serves from the predictor image, both built by ``make images``.
"""

import argparse
import shutil
import sys
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
    args = parser.parse_args()
    workdir = Path(
        args.workdir or ("build/demo-containers" if args.in_containers else "build/demo")
    )
    run_cli(lambda: demo(workdir, args.epochs, in_containers=args.in_containers))


def demo(workdir: Path, epochs: int, *, in_containers: bool = False) -> None:
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
        predictor = ContainerPredictor(model_base / MODEL_NAME, MODEL_NAME)
    else:
        _step("3/4 starting the Go predictor")
        predictor = LocalPredictor(
            model_base / MODEL_NAME, MODEL_NAME, log_path=workdir / "predictor.log"
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


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":
    main()
