"""The endpoint's handler chain as the SageMaker serving toolkit runs it, in this process."""

from __future__ import annotations

import json

from ml import inference


class ToolkitContext:
    """The one method of the serving toolkit's context that the handlers use."""

    def __init__(self):
        self.statuses: list[tuple[int, str]] = []

    def set_response_status(self, code: int, phrase: str) -> None:
        self.statuses.append((code, phrase))


def serve(loaded, body, content_type: str, accept: str = "application/json"):
    """input_fn, predict_fn and output_fn with the toolkit's context: the statuses set on it
    (none for a success) and the JSON answer."""
    context = ToolkitContext()
    request = inference.input_fn(body, content_type, context)
    prediction = inference.predict_fn(request, loaded, context)
    response, response_type = inference.output_fn(prediction, accept, context)
    assert response_type == "application/json"
    return context.statuses, json.loads(response)
