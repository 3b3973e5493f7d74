"""The pure core of the endpoint invoker, testable without AWS: nothing here performs I/O.

- ``config``: the function's configuration from its environment, and the limits it must fit;
- ``errors``: the answers other than success, each with its status;
- ``events``: the event (HTTP or direct invocation) unwrapped and validated into a request;
- ``images``: an image read within a deadline, its type and size from its header alone;
- ``deadline``: work that must end by a wall-clock deadline, however slowly its I/O goes;
- ``endpoint``: the request sent to the endpoint, and its answers and errors mapped;
- ``responses``: the JSON answer the caller gets.

The handler in ``lambda_function.py`` wires them to boto3.
"""
