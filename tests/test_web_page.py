"""The predictor's web page in a real browser: Debian's Chromium, driven by Playwright, against
the built predictor serving the model ``make demo`` trained. What the page shows is checked
against what the API answers for the same files, and against the version's metadata.json."""

import json
import os
import re
import shutil
import signal
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from components.storage import list_versions
from pipelines.demo import MODEL_NAME, _serve_until_interrupted
from pipelines.predictor_process import LocalPredictor

# `make ui-screenshot` refreshes the README's picture; a plain run leaves the tree as it was.
SCREENSHOT = os.environ.get("UI_SCREENSHOT")
MAX_IMAGES = 3
MAX_BODY = 1 << 20


@pytest.fixture(scope="module")
def served(demo_run, predictor_binary, tmp_path_factory):
    """The demo's model as versions 1 and 2 (2 a copy of 1, to compare them side by side),
    served with low image-count and body limits so the page meets both."""
    workdir, _ = demo_run
    (published,) = list_versions(str(workdir / "models"), MODEL_NAME)
    base = tmp_path_factory.mktemp("page-models") / MODEL_NAME
    shutil.copytree(workdir / "models" / MODEL_NAME / str(published), base / "1")
    shutil.copytree(base / "1", base / "2")
    args = (
        "--model-version-policy=all",
        f"--max-images={MAX_IMAGES}",
        f"--max-body-bytes={MAX_BODY}",
    )
    with LocalPredictor(base, MODEL_NAME, binary=predictor_binary, extra_args=args) as p:
        yield p, base, workdir / "data" / "holdout"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed: `bash scripts/apt_install.sh chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: the suite runs as root, where Chromium's sandbox refuses to start.
        b = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors (a CSP violation is one) and refused requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors, pg.refused = [], []
    pg.on("response", lambda r: r.status >= 400 and pg.refused.append(f"{r.status} {r.url}"))
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    yield pg
    context.close()


def classify_via_api(url: str, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
    """POST the files as one multipart :classify-image request, as any client would."""
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
            for name, data in files
        )
        + f"--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        f"{url}/v1/models/{MODEL_NAME}:classify-image?k=5", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def shown_predictions(pg, file_name: str, target: str = "latest") -> list[tuple[str, float]]:
    answer = pg.locator(f'.result[data-file="{file_name}"] .answer[data-target="{target}"]')
    return [
        (row.get_attribute("data-label"), float(row.get_attribute("data-score")))
        for row in answer.locator(".prediction").all()
    ]


def requests_counted(url: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("predictor_requests_total{") and 'endpoint="classify_image"' in line
    )


def test_page_shows_versions_answers_and_card_as_the_api_does(served, page, tmp_path):
    predictor, base, holdout = served
    face = sorted((holdout / "face").glob("*.jpg"))[0]
    nonface = sorted((holdout / "nonface").glob("*.jpg"))[0]
    counted_before = requests_counted(predictor.url)

    response = page.goto(f"{predictor.url}/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    # The model list shows the versions on disk, READY.
    for version in ("1", "2"):
        page.locator(
            f'#model-list li.version[data-model="{MODEL_NAME}"][data-version="{version}"]'
            '[data-state="READY"]'
        ).wait_for()
    assert sorted(os.listdir(base)) == ["1", "2"]
    page.locator("#signature tbody tr").first.wait_for()
    assert "image_bytes" in page.locator("#signature").inner_text()

    # A face and a non-face: the bars show what the API answers for the same files.
    page.set_input_files("#files", [str(face), str(nonface)])
    page.locator(f'.result[data-file="{nonface.name}"] .prediction').first.wait_for()
    status, api = classify_via_api(
        predictor.url, [(face.name, face.read_bytes()), (nonface.name, nonface.read_bytes())]
    )
    assert status == 200
    for path, result in zip([face, nonface], api["results"], strict=True):
        expected = [(p["label"], p["score"]) for p in result["predictions"]]
        shown = shown_predictions(page, path.name)
        assert [label for label, _ in shown] == [label for label, _ in expected]
        assert [score for _, score in shown] == pytest.approx([s for _, s in expected], abs=1e-6)
    head = page.locator(f'.result[data-file="{face.name}"] .answer .answer-head').inner_text()
    assert f"version {api['version']}" in head and " ms " in head

    # Side by side: the latest (2) next to version 1, each column says who answered.
    page.select_option("#target-b", "version:1")
    page.locator(f'.result[data-file="{face.name}"] .answer[data-target="version:1"]'
                 " .prediction").first.wait_for()  # fmt: skip
    versions = page.locator(f'.result[data-file="{face.name}"] .answer').evaluate_all(
        "cols => cols.map(c => c.dataset.version)"
    )
    assert versions == ["2", "1"]

    # The card's accuracy is the version's metadata.json's.
    metadata = json.loads((base / "2" / "metadata.json").read_text())
    accuracy = page.locator("#card-accuracy[data-value]")
    accuracy.wait_for()
    assert float(accuracy.get_attribute("data-value")) == metadata["evaluation"]["accuracy"]
    assert accuracy.inner_text() == f"{metadata['evaluation']['accuracy']:.4f}"
    assert page.locator("#card-fingerprint").inner_text() == metadata["data_fingerprint"]
    assert page.locator("#card-confusion tbody tr").count() == len(metadata["classes"])

    # Serving now reads the predictor's own metrics; the page's uploads count like any request.
    # (Waits go through locators: the page's CSP refuses the string eval of wait_for_function.)
    expect(page.locator("#now-rate")).to_have_text(
        re.compile(r"^(?!0\.00$)\d+\.\d\d$"), timeout=15000
    )
    assert requests_counted(predictor.url) >= counted_before + 4  # 2 tries and 2 API calls
    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "ui-demo.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    assert page.refused == []
    assert page.console_errors == []


def test_page_shows_the_api_errors_for_bad_files(served, page, tmp_path):
    predictor, _, holdout = served
    face = sorted((holdout / "face").glob("*.jpg"))[0]
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    page.goto(f"{predictor.url}/ui/models/{MODEL_NAME}")
    page.locator("#target-a option").first.wait_for(state="attached")

    # Not an image: its panel shows the API's own error, and the good image still gets labels.
    page.set_input_files("#files", [str(face), str(notes)])
    error = page.locator(f'.result[data-file="{notes.name}"] .error')
    error.wait_for()
    status, api = classify_via_api(predictor.url, [(notes.name, notes.read_bytes())])
    assert status == 400
    assert error.inner_text() == f"HTTP 400: {api['error']}"
    assert shown_predictions(page, face.name)

    # More files than --max-images, and a file over --max-body-bytes: the API's 413s.
    page.set_input_files("#files", [str(face)] * (MAX_IMAGES + 1))
    expect(page.locator("#try-error")).to_contain_text("HTTP 413")
    status, api = classify_via_api(
        predictor.url, [(face.name, face.read_bytes())] * (MAX_IMAGES + 1)
    )
    assert status == 413
    assert api["error"] in page.locator("#try-error").inner_text()

    huge = tmp_path / "huge.jpg"
    huge.write_bytes(face.read_bytes() + b"\0" * MAX_BODY)
    page.set_input_files("#files", [str(huge)])
    page.locator(f'.result[data-file="{huge.name}"] .error').wait_for()
    status, api = classify_via_api(predictor.url, [(huge.name, huge.read_bytes())])
    assert status == 413
    assert page.locator(f'.result[data-file="{huge.name}"] .error').inner_text() == (
        f"HTTP 413: {api['error']}"
    )
    assert [e for e in page.console_errors if "Failed to load resource" not in e] == []


def test_unknown_model_gets_the_404_page(served, page):
    predictor, _, _ = served
    response = page.goto(f"{predictor.url}/ui/models/no-such-model")
    assert response.status == 404
    assert "404: not found" in page.inner_text("h1")
    page.click("text=See the models it serves")
    page.locator(f'#model-list a[data-model="{MODEL_NAME}"]').wait_for()


def test_demo_keeps_serving_until_ctrl_c(fixture_model, predictor_binary):
    """``make demo``'s last step: the predictor answers while the demo waits, and Ctrl-C
    (SIGINT) ends the wait without an error; the predictor then stops."""
    answered = []

    def visit_then_interrupt():
        try:
            answered.append(urllib.request.urlopen(f"{p.url}/ui/", timeout=10).status)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    # Ctrl-C raises KeyboardInterrupt in a terminal; a test run started in the background
    # inherits SIGINT ignored, so the test sets the terminal's handler for its duration.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with LocalPredictor(fixture_model, "model", binary=predictor_binary) as p:
            timer = threading.Timer(1.0, visit_then_interrupt)
            # Bounded: should the interrupt never arrive, the predictor is stopped, the
            # wait ends with its error and the test fails instead of hanging.
            watchdog = threading.Timer(60.0, p.stop)
            timer.start()
            watchdog.start()
            try:
                _serve_until_interrupted(p)
            finally:
                watchdog.cancel()
                timer.join()
            assert p.exit_code() is None
    finally:
        signal.signal(signal.SIGINT, previous)
    assert answered == [200]
    assert p.exit_code() == 0
