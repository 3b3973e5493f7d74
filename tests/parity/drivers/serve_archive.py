"""Run inside a parity environment: answer requests with a model.tar.gz as the PyTorch
inference container does, without its Java front: the archive extracted as the model dir,
TorchServe's own Context, the toolkit's HandlerService loading code/inference.py from the
archive. Prints one JSON object: the torch and Python versions, and each answer's status and
body.

    python serve_archive.py MODEL_TAR_GZ REQUESTS_JSON
    # REQUESTS_JSON: [{"content_type": "image/jpeg", "body_file": "x.jpg"}, ...]
"""

import atexit
import json
import os
import platform
import sys
import tarfile
import tempfile
from pathlib import Path

archive, requests_file = sys.argv[1:3]
extracted = tempfile.TemporaryDirectory(prefix="parity-model-")
atexit.register(extracted.cleanup)
model_dir = Path(extracted.name)
with tarfile.open(archive) as bundle:
    bundle.extractall(model_dir, filter="data")
# What the container's environment holds (modules/sagemaker_endpoint sets the same).
os.environ["SAGEMAKER_PROGRAM"] = "inference.py"
os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = str(model_dir / "code")
sys.path.insert(0, str(model_dir / "code"))

import PIL  # noqa: E402
import torch  # noqa: E402
from sagemaker_pytorch_serving_container.handler_service import HandlerService  # noqa: E402
from ts.context import Context, RequestProcessor  # noqa: E402

context = Context("model", str(model_dir), {}, 1, None, "0.12.0")
service = HandlerService()
service.initialize(context)
answers = []
for request in json.loads(Path(requests_file).read_text()):
    context.request_processor = [
        RequestProcessor({"Content-Type": request["content_type"], "Accept": "application/json"})
    ]
    body = Path(request["body_file"]).read_bytes()
    (output,) = service.handle([{"body": body}], context)
    status, _ = context.get_response_status(0)
    answers.append({"status": status, "body": json.loads(output)})
print(
    json.dumps(
        {
            "torch": torch.__version__,
            "pillow": PIL.__version__,
            "python": platform.python_version(),
            "answers": answers,
        }
    )
)
