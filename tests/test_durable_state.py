"""The training state mirrored to checkpoint_uri (components/train/durable.py), on a local
directory, on gs:// (the GCS emulator) and on s3:// (moto): a new output directory gets it
all back, what is gone locally goes remotely too, and success removes it."""

import pytest

from components.train.durable import DurableState

STATE = ("backup", "epochs.jsonl", "model.keras")


@pytest.fixture
def checkpoint_uri(store_root):
    return f"{store_root}/models/.checkpoints/faces/run-1"


def test_state_survives_a_new_output_directory(checkpoint_uri, tmp_path):
    first = tmp_path / "attempt-1"
    (first / "backup" / "head").mkdir(parents=True)
    (first / "backup" / "head" / "ckpt.weights.h5").write_bytes(b"w" * 1000)
    (first / "epochs.jsonl").write_text('{"epoch": 1}\n')
    (first / "model.keras").write_bytes(b"model")
    (first / "logs").mkdir()
    (first / "logs" / "events").write_text("not state")
    state = DurableState(checkpoint_uri, first, STATE)
    state.check_writable()
    assert state.restore() == 0
    state.save()

    (first / "backup" / "head" / "ckpt.weights.h5").unlink()  # the phase completed
    (first / "backup" / "fine_tune").mkdir()
    (first / "backup" / "fine_tune" / "ckpt.weights.h5").write_bytes(b"f" * 10)
    state.save()

    second = tmp_path / "attempt-2"
    second.mkdir()
    restored = DurableState(checkpoint_uri, second, STATE)
    assert restored.restore() == 3
    files = sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert files == ["backup/fine_tune/ckpt.weights.h5", "epochs.jsonl", "model.keras"]
    assert (second / "model.keras").read_bytes() == b"model"

    restored.clear()
    assert DurableState(checkpoint_uri, tmp_path / "attempt-3", STATE).restore() == 0
