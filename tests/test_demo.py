"""``make demo`` as a user runs it (python -m pipelines.demo), fewer epochs: its printed report
must account for every held-out image, and the accuracy it prints must be the one it shows."""

import re


def test_demo_prints_a_prediction_per_held_out_image_and_their_accuracy(demo_run):
    tmp_path, out = demo_run
    assert f"published {tmp_path}/models/lfw-faces/1" in out
    assert "'state': 'AVAILABLE'" in out
    rows = re.findall(
        r"^  (ok   |WRONG) (face|nonface)/(\S+\.jpg): (face|nonface)\s+score (\S+)$", out, re.M
    )
    holdout = sorted(
        p.relative_to(tmp_path / "data" / "holdout")
        for p in (tmp_path / "data" / "holdout").glob("*/*.jpg")
    )
    assert len(rows) == len(holdout) == 40
    assert sorted(f"{truth}/{name}" for _, truth, name, _, _ in rows) == [str(p) for p in holdout]
    for mark, truth, _, predicted, score in rows:
        assert (mark == "ok   ") == (truth == predicted)
        assert 0.5 <= float(score) <= 1.0  # the winning class of two
    correct = sum(mark == "ok   " for mark, *_ in rows)
    assert f"held-out accuracy: {correct}/40 = {correct / 40:.3f}" in out
    page = r"==> the predictor's page: http://127\.0\.0\.1:\d+/ui/models/lfw-faces$"
    assert re.search(page, out, re.M)
