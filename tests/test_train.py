"""Training on real LFW images: reproducibility, resume after a kill, weights, fine-tuning."""

import json
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from components.errors import StepError
from components.export.publish import export_and_publish
from components.train.callbacks import read_epoch_log
from components.train.devices import plan_for
from components.train.model import build_classifier
from components.train.train import TrainParams, load_trained, train_classifier

FAST = dict(backbone="small_cnn", image_size=32, batch_size=8, epochs=3, patience=3)


def _log(out):
    return [json.loads(line) for line in (out / "epochs.jsonl").read_text().splitlines()]


def test_same_data_and_seed_give_the_same_metrics(split_dir, tmp_path):
    first = train_classifier(split_dir, tmp_path / "a", TrainParams(**FAST, seed=3))
    second = train_classifier(split_dir, tmp_path / "b", TrainParams(**FAST, seed=3))
    assert _log(tmp_path / "a") == _log(tmp_path / "b")
    assert first.val_loss == second.val_loss
    assert (tmp_path / "a" / "training_curves.png").stat().st_size > 1000
    assert list((tmp_path / "a" / "logs" / "head").rglob("events.out.tfevents.*"))
    assert not (tmp_path / "a" / "backup" / "head").exists()  # removed when the phase completes


def test_killed_run_resumes_from_its_backup(split_dir, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "components.train", "--split-dir", str(split_dir),
        "--out-dir", str(out), "--backbone", "small_cnn", "--weights", "none",
        "--image-size", "32", "--batch-size", "4", "--epochs", "6",
        "--patience", "6",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if line.startswith("Epoch 3/"):
            proc.send_signal(signal.SIGKILL)  # preempted in the middle of epoch 3
            break
    proc.wait(timeout=60)
    assert [r["epoch"] for r in _log(out)] == [1, 2]

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    assert "Epoch 1/" not in resumed.stdout and "Epoch 3/" in resumed.stdout
    assert [r["epoch"] for r in _log(out)] == [1, 2, 3, 4, 5, 6]
    model, classes, _ = load_trained(out)
    probabilities = model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)
    assert probabilities.shape == (2, 2) and classes == ["face", "nonface"]
    published = export_and_publish(out, split_dir, str(tmp_path / "models"), "m", {})
    assert published.version == 1  # the resumed run's model exports, verifies and publishes


def test_a_retry_with_a_new_output_path_resumes_from_the_checkpoint_uri(split_dir, tmp_path):
    """What a KFP retry gives: the same checkpoint_uri, a fresh local output path."""
    checkpoints = tmp_path / "checkpoints" / "faces" / "run-1"

    def command(out):
        return [
            sys.executable, "-m", "components.train", "--split-dir", str(split_dir),
            "--out-dir", str(out), "--checkpoint-uri", str(checkpoints), "--backbone",
            "small_cnn", "--weights", "none", "--image-size", "32", "--batch-size", "4",
            "--epochs", "6", "--patience", "6",
        ]  # fmt: skip

    proc = subprocess.Popen(
        command(tmp_path / "attempt-1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in proc.stdout:
        if line.startswith("Epoch 3/"):
            proc.send_signal(signal.SIGKILL)  # the pod is gone, and its local disk with it
            break
    proc.wait(timeout=60)
    assert [r["epoch"] for r in _log(checkpoints)] == [1, 2]
    assert list((checkpoints / "backup" / "head").iterdir())

    out = tmp_path / "attempt-2"
    resumed = subprocess.run(command(out), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    assert "resuming from" in resumed.stdout and str(checkpoints) in resumed.stdout
    assert "Epoch 1/" not in resumed.stdout and "Epoch 3/" in resumed.stdout
    assert [r["epoch"] for r in _log(out)] == [1, 2, 3, 4, 5, 6]
    assert [p for p in checkpoints.rglob("*") if p.is_file()] == []  # removed on success
    model, classes, _ = load_trained(out)
    probabilities = model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)
    assert probabilities.shape == (2, 2) and classes == ["face", "nonface"]
    published = export_and_publish(out, split_dir, str(tmp_path / "models"), "m", {})
    assert published.version == 1


def test_an_unwritable_checkpoint_uri_fails_before_the_first_epoch(split_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    uri = str(blocker / "checkpoints")
    with pytest.raises(StepError, match=f"checkpoint_uri {uri} cannot be written"):
        train_classifier(split_dir, tmp_path / "out", TrainParams(**FAST), checkpoint_uri=uri)
    assert not (tmp_path / "out" / "epochs.jsonl").exists()


def test_weights_file_is_loaded_and_the_backbone_frozen(tmp_path):
    source, source_base = build_classifier("resnet50", 2, 32, "none")
    path = tmp_path / "resnet50_base.weights.h5"
    source_base.save_weights(path)
    model, base = build_classifier("resnet50", 2, 32, str(path))
    assert not base.trainable
    for mine, theirs in zip(base.weights, source_base.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert len(model.trainable_weights) == 2  # only the new head's kernel and bias


@pytest.mark.parametrize(
    ("backbone", "weights", "message"),
    [("vgg99", "none", "unknown backbone 'vgg99'"), ("small_cnn", "/no/such.h5", "not found")],
)
def test_bad_backbone_or_weights_are_clear_errors(backbone, weights, message):
    with pytest.raises(StepError, match=message):
        build_classifier(backbone, 2, 32, weights)


def test_cli_names_a_missing_weights_file(split_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "components.train", "--split-dir", str(split_dir),
         "--out-dir", str(tmp_path), "--backbone", "small_cnn", "--weights", "/no/such/weights.h5"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "error: backbone weights file not found: /no/such/weights.h5" in proc.stderr


def test_fine_tuning_trains_only_the_top_of_a_pretrained_backbone(split_dir, tmp_path):
    _, pretrained = build_classifier("small_cnn", 2, 32, "none")
    weights = tmp_path / "small_cnn.weights.h5"
    pretrained.save_weights(weights)
    params = TrainParams(**FAST, weights=str(weights), fine_tune_layers=3, fine_tune_epochs=2)
    train_classifier(split_dir, tmp_path / "out", params)
    assert [r["phase"] for r in _log(tmp_path / "out")][-2:] == ["fine_tune", "fine_tune"]
    model, _, _ = load_trained(tmp_path / "out")
    base = model.get_layer("small_cnn")
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    originals = [layer for layer in pretrained.layers if isinstance(layer, keras.layers.Conv2D)]
    changed = [
        not np.array_equal(a.kernel.numpy(), b.kernel.numpy())
        for a, b in zip(convs, originals, strict=True)
    ]
    assert changed == [False, False, True]  # top 3 layers: conv3 (+pool, GAP); the rest frozen


@pytest.mark.parametrize(
    ("gpus", "mixed", "mirrored", "text"),
    [(0, False, False, "CPU, float32"), (1, True, False, "1 GPU, mixed_float16"),
     (4, True, True, "MirroredStrategy over 4 GPUs, mixed_float16")],
)  # fmt: skip
def test_device_plan(gpus, mixed, mirrored, text):
    plan = plan_for(gpus)
    assert (plan.mixed_precision, plan.mirrored, plan.describe()) == (mixed, mirrored, text)


def test_resnet50_preprocessing_layer_is_keras_preprocess_input():
    # The layer inside the serving graph must be exactly what ResNet50's ImageNet weights
    # were trained with: keras.applications.resnet50.preprocess_input ("caffe" mode).
    from components.train.model import CaffePreprocess

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, size=(3, 7, 5, 3)).astype("float32")
    ours = keras.ops.convert_to_numpy(CaffePreprocess()(pixels))
    theirs = keras.applications.resnet50.preprocess_input(pixels.copy())
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


def test_early_stopping_stops_when_validation_loss_stops_improving(split_dir, tmp_path):
    # 9 images per class overfit within a few epochs; with patience 2 the run must end
    # 2 epochs after its best one, long before the 60 it was allowed.
    params = TrainParams(
        backbone="small_cnn", weights="none", image_size=32, batch_size=8,
        epochs=60, patience=2, learning_rate=3e-3,
    )  # fmt: skip
    result = train_classifier(split_dir, tmp_path, params)
    losses = [r["val_loss"] for r in read_epoch_log(tmp_path / "epochs.jsonl")]
    assert result.epochs_run == len(losses) < 60
    assert result.epochs_run == result.best_epoch + 2
    assert min(losses[result.best_epoch :]) >= losses[result.best_epoch - 1]


def test_resnet50_fine_tuning_trains_exactly_the_top_layers_but_no_batchnorm(tmp_path):
    # What the train step's phase 2 does (unfreeze_top, then fit), on ResNet50 loaded
    # from a weights file: after a training step exactly the top layers with weights
    # changed, except BatchNorm, whose weights and moving statistics stay as loaded.
    from components.train.model import unfreeze_top

    _, pretrained = build_classifier("resnet50", 2, 32, "none")
    weights = tmp_path / "resnet50.weights.h5"
    pretrained.save_weights(weights)
    model, base = build_classifier("resnet50", 2, 32, str(weights))
    top = 12
    unfreeze_top(base, top)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.uniform(0, 255, (8, 32, 32, 3)), rng.integers(0, 2, 8))
    changed = {
        layer.name: any(
            not np.array_equal(a.numpy(), b.numpy())
            for a, b in zip(layer.weights, original.weights, strict=True)
        )
        for layer, original in zip(base.layers, pretrained.layers, strict=True)
        if layer.weights
    }
    top_names = {layer.name for layer in base.layers[-top:]}
    batchnorm = {x.name for x in base.layers if isinstance(x, keras.layers.BatchNormalization)}
    assert {n for n, c in changed.items() if c} == {
        n for n in changed if n in top_names
    } - batchnorm
    assert top_names & batchnorm  # the top does hold BatchNorm layers, which stayed put


def test_resnet50_with_a_weights_file_trains_both_phases_and_serves_from_go(
    split_dir, tmp_path, predictor_binary
):
    # The pipeline's default path (ResNet50, pretrained weights, fine-tuning) end to end
    # at 32 px: a weights file saved here stands in for ImageNet's (no download here).
    from components.imaging import decode_batch
    from pipelines.predictor_process import LocalPredictor

    _, pretrained = build_classifier("resnet50", 2, 32, "none")
    weights = tmp_path / "resnet50.weights.h5"
    pretrained.save_weights(weights)
    params = TrainParams(
        backbone="resnet50", weights=str(weights), image_size=32, batch_size=8, epochs=2,
        patience=3, fine_tune_layers=12, fine_tune_epochs=1,
    )  # fmt: skip
    train_classifier(split_dir, tmp_path / "out", params)
    assert [r["phase"] for r in _log(tmp_path / "out")] == ["head", "head", "fine_tune"]

    model, classes, _ = load_trained(tmp_path / "out")
    published = export_and_publish(
        tmp_path / "out", split_dir, str(tmp_path / "models"), "r50", {"passed": True}
    )
    assert published.version == 1
    images = sorted((split_dir / "images").glob("*/*"))[:6]
    encoded = [p.read_bytes() for p in images]
    expected = model.predict(decode_batch(np.array(encoded, dtype=object), 32), verbose=0)
    with LocalPredictor(tmp_path / "models" / "r50", "r50", binary=predictor_binary) as p:
        served = p.predict(encoded)
    np.testing.assert_allclose([s["probabilities"] for s in served], expected, atol=1e-5, rtol=0)
    assert [s["label"] for s in served] == [classes[i] for i in expected.argmax(axis=1)]
