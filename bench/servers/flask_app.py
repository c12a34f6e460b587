"""Flask + TensorFlow baseline of ``make bench`` (the original benchmark's Python side).

Run under gunicorn, as one would in production::

    BENCH_MODEL_BASE_PATH=build/bench/models/small gunicorn --chdir bench/servers \
        --worker-class gthread --workers 1 --threads 8 'flask_app:create_app()'

One worker per core (the model is loaded once per worker) and a few threads,
because TensorFlow releases the GIL while the signature runs.
"""

from flask import Flask, Response, request
from served_model import BadRequest, ServedModel, error_json

LIVE = b'{"live": true}'


def create_app() -> Flask:
    """Load the model, then build the app (gunicorn calls this once per worker)."""
    model = ServedModel.from_env()
    app = Flask(__name__)

    @app.get("/v2/health/live")
    def live() -> Response:  # the no-model endpoint: a constant
        return Response(LIVE, mimetype="application/json")

    @app.get("/v2/health/ready")
    def ready() -> Response:  # the model loaded before the app existed
        return Response(b'{"ready": true}', mimetype="application/json")

    @app.post(f"/v1/models/{model.name}:predict")
    def predict() -> Response:
        try:
            reply = model.predict_json(request.get_data())
        except BadRequest as err:
            return Response(error_json(err), status=400, mimetype="application/json")
        return Response(reply, mimetype="application/json")

    return app
