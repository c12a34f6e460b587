"""bench/paired.py's split of a CPU profile, on a listing ``go tool pprof -top`` printed for
a real profile of the batching predictor at c=64 (trimmed to the nodes that count and a
few others; tests/data/pprof-top-predictor-batching.txt)."""

from pathlib import Path

import pytest

from bench import paired

LISTING = Path(__file__).parent / "data" / "pprof-top-predictor-batching.txt"


def test_profile_split_counts_c_code_gc_and_the_rest_of_go():
    split = paired.split_profile(LISTING.read_text())
    # Total 8.11 s: runtime._ExternalCode 7.54 s + _Cfunc_TF_SessionRun 0.02 s are C code,
    # runtime.gcBgMarkWorker 0.09 s the collector; the flat C frames above them
    # (<unknown>, libtensorflow_cc) are inside _ExternalCode and not counted twice.
    assert split == {
        "cpu_s": 8.11,
        "sampled_s": 8.11,
        "tensorflow_c": pytest.approx(7.56 / 8.11, abs=0.001),
        "go_gc": pytest.approx(0.09 / 8.11, abs=0.001),
        "go_other": pytest.approx(1 - 7.65 / 8.11, abs=0.001),
    }


def test_time_the_profile_did_not_sample_is_tensorflows():
    # The predictor keeps SIGPROF off TensorFlow's threads: the process used 10 s of CPU
    # while the profile sampled 8.11 s, so 1.89 s more are C code.
    split = paired.split_profile(LISTING.read_text(), cpu_s=10.0)
    assert split["cpu_s"] == 10.0 and split["sampled_s"] == 8.11
    assert split["tensorflow_c"] == pytest.approx((7.56 + 1.89) / 10, abs=0.001)
    assert split["go_gc"] == pytest.approx(0.009, abs=0.001)
    assert split["go_other"] == pytest.approx((8.11 - 7.65) / 10, abs=0.001)


def test_units_below_a_second_are_converted():
    listing = LISTING.read_text().replace("0.09s  1.11%  runtime.gcBgMarkWorker",
                                          "90ms  1.11%  runtime.gcBgMarkWorker")  # fmt: skip
    assert paired.split_profile(listing)["go_gc"] == pytest.approx(0.09 / 8.11, abs=0.001)


def test_a_profile_with_no_go_sample_is_all_c_code():
    # ResNet50: 6 s of CPU, not one sample on a Go thread.
    split = paired.split_profile("Duration: 4s, Total samples = 0 \n", cpu_s=6.0)
    assert split["tensorflow_c"] == 1.0 and split["go_gc"] == split["go_other"] == 0.0


@pytest.mark.parametrize(
    "listing",
    ["Duration: 2s, Total samples = 0 \n", "File: predictor\nType: cpu\n"],
    ids=["no samples", "no total"],
)
def test_a_profile_without_samples_is_an_error_not_a_share(listing):
    assert paired.split_profile(listing) == {"error": "no samples"}
