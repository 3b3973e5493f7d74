"""One Lambda invocation in this process, as the Lambda Python runtime makes it (standard
library only; local mode's ``functions.py`` runs it with ``python -I``, the function's
environment, and the event on stdin).

The handler (``_HANDLER``, module.function under ``LAMBDA_TASK_ROOT``) is called with the event
and a context like the runtime's; the outcome goes to the file ``_LOCAL_RESULT_FILE`` names:
the return value as JSON, or the error payload the runtime would send, whose traceback is also
logged as the runtime logs it.
"""

import importlib
import json
import os
import resource
import sys
import time
import traceback


class Context:
    """The Lambda Python runtime's context object (docs: python-context.html)."""

    def __init__(self, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["_LOCAL_INVOKED_FUNCTION_ARN"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = os.environ["_LOCAL_REQUEST_ID"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def error_payload(error_type: str, message: str, stack: list[str], request_id: str) -> dict:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }


def init_error(error_type: str, message: str) -> dict:
    """An error loading the handler: the runtime reports it as an init error, with no request
    id (awslambdaric's bootstrap.py)."""
    return error_payload(error_type, message, [], "")


def load_handler():
    """The handler, or the error payload the runtime answers when it cannot be loaded."""
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        return None, init_error("Runtime.ImportModuleError", message)
    except SyntaxError as error:
        message = f"Syntax error in module '{module_name}': {error}"
        return None, init_error("Runtime.UserCodeSyntaxError", message)
    handler = getattr(module, function_name, None)
    if handler is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return None, init_error("Runtime.HandlerNotFound", message)
    return handler, None


def log_error(error_type: str, message: str, stack: list[str]) -> None:
    """As the runtime logs an error: the type and message, then the traceback, each frame's
    indentation in no-break spaces."""
    print(f"[ERROR] {error_type}: {message}", file=sys.stderr)
    print("Traceback (most recent call last):", file=sys.stderr)
    for frame in stack:
        for line in frame.rstrip("\n").split("\n"):
            stripped = line.lstrip(" ")
            print("\u00a0" * (len(line) - len(stripped)) + stripped, file=sys.stderr)


def invoke(event, started: float) -> dict:
    handler, failed = load_handler()
    init_ms = (time.perf_counter() - started) * 1000
    if failed is not None:
        log_error(failed["errorType"], failed["errorMessage"], [])
        return {"error": failed, "init_ms": init_ms}
    request_id = os.environ["_LOCAL_REQUEST_ID"]
    try:
        result = handler(event, Context(int(os.environ["_LOCAL_DEADLINE_MS"])))
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)[1:]  # from the handler down
        stack = traceback.format_list(frames)
        name = type(error).__name__
        log_error(name, str(error), stack)
        return {"error": error_payload(name, str(error), stack, request_id), "init_ms": init_ms}
    try:
        return {"payload": json.dumps(result, ensure_ascii=False), "init_ms": init_ms}
    except (TypeError, ValueError) as error:
        message = f"Unable to marshal response: {error}"
        log_error("Runtime.MarshalError", message, [])
        failed = error_payload("Runtime.MarshalError", message, [], request_id)
        return {"error": failed, "init_ms": init_ms}


def main() -> None:
    started = time.perf_counter()
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    event = json.loads(sys.stdin.buffer.read() or b"{}")
    outcome = invoke(event, started)
    sys.stdout.flush()
    sys.stderr.flush()
    outcome["max_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with open(os.environ["_LOCAL_RESULT_FILE"], "w") as result:
        json.dump(outcome, result)


if __name__ == "__main__":
    main()
