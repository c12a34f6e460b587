"""FastAPI/uvicorn + TensorFlow baseline of ``make bench`` (what a Python user picks today).

::

    BENCH_MODEL_BASE_PATH=build/bench/models/small uvicorn --app-dir bench/servers \
        --workers 1 --loop uvloop --http httptools --no-access-log fastapi_app:app

The signature runs in the thread pool so the event loop keeps accepting and
parsing requests while TensorFlow computes (it releases the GIL); the body is
read as bytes and parsed with json, skipping pydantic on a hot path that has
one field.
"""

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from served_model import BadRequest, ServedModel, error_json

model = ServedModel.from_env()  # once per worker process, before it accepts requests
app = FastAPI()
LIVE = b'{"live": true}'


@app.get("/v2/health/live")
async def live() -> Response:  # the no-model endpoint: a constant
    return Response(LIVE, media_type="application/json")


@app.get("/v2/health/ready")
async def ready() -> Response:
    return Response(b'{"ready": true}', media_type="application/json")


@app.post(f"/v1/models/{model.name}:predict")
async def predict(request: Request) -> Response:
    body = await request.body()
    try:
        reply = await run_in_threadpool(model.predict_json, body)
    except BadRequest as err:
        return Response(error_json(err), status_code=400, media_type="application/json")
    return Response(reply, media_type="application/json")
