"""The JSON schema of ``drift_report.json`` (:class:`components.monitor.drift.DriftReport`)."""

_SHARES = {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}
_COUNT = {"type": "integer", "minimum": 0}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

SIGNAL_SCHEMA = {
    "type": "object",
    "required": [
        "name", "method", "score", "threshold", "status", "drifted", "observations",
        "bins", "training", "served",
    ],
    "additionalProperties": False,
    "properties": {
        "name": {"enum": ["predicted_class", "image_size", "brightness", "low_confidence"]},
        "method": {"type": "string", "minLength": 1},
        "score": {"type": ["number", "null"], "minimum": 0},
        "threshold": {"type": "number"},
        "status": {"enum": ["none", "moderate", "significant", "insufficient_data"]},
        "drifted": {"type": "boolean"},
        "observations": _COUNT,
        "bins": {"type": "array", "items": {"type": "string"}},
        "training": {"oneOf": [_SHARES, {"type": "null"}]},
        "served": _SHARES,
    },
}  # fmt: skip

REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "drift report",
    "type": "object",
    "required": [
        "model_name", "version", "log_uri", "window", "files", "corrupt_files", "records",
        "bad_lines", "instances", "bad_instances", "min_instances", "sufficient_data",
        "drifted", "drift_score", "message", "signals",
    ],
    "additionalProperties": False,
    "properties": {
        "model_name": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "log_uri": {"type": "string"},
        "window": {
            "type": "object",
            "required": ["since", "until"],
            "additionalProperties": False,
            "properties": {"since": _DATE, "until": _DATE},
        },
        "files": _COUNT,
        "corrupt_files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "reason"],
                "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
        "records": _COUNT,
        "bad_lines": _COUNT,
        "instances": _COUNT,
        "bad_instances": _COUNT,
        "min_instances": {"type": "integer", "minimum": 1},
        "sufficient_data": {"type": "boolean"},
        "drifted": {"type": "boolean"},
        "drift_score": {"type": "number", "minimum": 0},
        "message": {"type": "string", "minLength": 1},
        "signals": {
            "type": "object",
            "required": ["predicted_class", "image_size", "brightness", "low_confidence"],
            "additionalProperties": SIGNAL_SCHEMA,
        },
    },
}  # fmt: skip
