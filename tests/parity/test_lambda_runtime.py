"""The Lambda's own tests on the Lambda runtime's Python (3.12) and this project's boto3:
the same suite (the invoker's, and the model monitor's pure parts), run by that environment's
interpreter. Left out: the two files that need
torch (the contract with the endpoint's handler, and the end-to-end run through TorchServe),
which the main suite runs."""

from __future__ import annotations

import subprocess

import pytest

from tests.parity.conftest import parity_python, versions_of
from tests.training import REPO_ROOT, python_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NEEDS_TORCH = ("tests/lambda_invoker/test_contract.py", "tests/lambda_invoker/test_end_to_end.py")


def test_the_lambda_suite_passes_on_the_runtimes_python():
    python = parity_python("lambda")
    assert versions_of(python)["python"].startswith("3.12.")
    ignored = [f"--ignore={path}" for path in NEEDS_TORCH]
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "tests/lambda_invoker",
            "tests/model_monitor/test_report.py",  # the monitor's arithmetic and parsing
            *ignored,
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert " skipped" not in result.stdout
