"""The int8 endpoint model (ml/quantize.py, ml.package --int8): calibrated, checked against
fp32 before it ships, loaded without calibration data, chosen on a CPU, refused when it agrees
too little."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import pytest
import torch

from ml import inference, package
from ml.artifacts import INT8_WEIGHTS_FILE, METRICS_FILE, WEIGHTS_FILE, write_model_artifacts
from ml.model import build_model
from ml.package import Int8Options, build_model_archive
from ml.quantize import QuantizationRefusedError
from tests.images import sample_image
from tests.training import REPO_ROOT, TINY_TRAIN_ARGS, python_env, run_train, split_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_archive_carries_both_models(int8_archive):
    with tarfile.open(int8_archive) as archive:
        names = set(archive.getnames())
    assert {"model.pth", INT8_WEIGHTS_FILE} <= names


def test_training_checks_an_int8_model_by_default_and_the_archive_takes_it(trained_model, tmp_path):
    """trained_model ran with ml.train's defaults: metrics.json says how int8 fared, and the
    model dir holds the int8 model exactly when it shipped; ml.package keeps it."""
    written = json.loads((trained_model.model_dir / METRICS_FILE).read_text())
    check = written["int8"]
    assert set(check) == {"agreement", "holdout_images", "calibration_images", "shipped"}
    assert check["shipped"] == (check["agreement"] >= 0.99)
    assert (trained_model.model_dir / INT8_WEIGHTS_FILE).is_file() == check["shipped"]
    output = json.loads((trained_model.model_dir.parent / "output" / METRICS_FILE).read_text())
    assert output["int8"] == check
    archive = build_model_archive(trained_model.model_dir, tmp_path / "model.tar.gz")
    with tarfile.open(archive) as opened:
        assert (INT8_WEIGHTS_FILE in opened.getnames()) == check["shipped"]


def test_a_model_dir_keeps_no_int8_model_of_an_earlier_run(sample_dataset, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / INT8_WEIGHTS_FILE).write_bytes(b"an int8 model of another run")
    args = [*TINY_TRAIN_ARGS, "--epochs", "1"]  # the last --epochs wins; no int8 this time
    run_train(*args, *split_args(sample_dataset, model_dir, tmp_path / "checkpoints"))
    assert (model_dir / WEIGHTS_FILE).is_file()
    assert not (model_dir / INT8_WEIGHTS_FILE).exists()
    assert "int8" not in json.loads((model_dir / METRICS_FILE).read_text())


def test_the_int8_state_loads_weights_only(extracted):
    state = torch.load(extracted / INT8_WEIGHTS_FILE, weights_only=True)
    assert any(tensor.is_quantized for tensor in state.values() if isinstance(tensor, torch.Tensor))


def test_on_a_cpu_the_handler_serves_int8_and_says_so(extracted, sample_dataset, caplog):
    loaded = inference.model_fn(str(extracted))
    assert loaded.precision == "int8"
    assert "(int8)" in caplog.text
    for folder in ("001.Affenpinscher", "002.Afghan_hound", "003.Airedale_terrier", "004.Akita"):
        image = sample_image(sample_dataset, folder).read_bytes()
        answer = inference.predict_fn(inference.input_fn(image, "image/jpeg"), loaded)
        assert answer["precision"] == "int8"
        assert answer["predictions"][0]["breed"] == folder.split(".", 1)[1].replace("_", " ")


def test_inference_precision_forces_fp32(extracted, monkeypatch):
    monkeypatch.setenv("INFERENCE_PRECISION", "fp32")
    assert inference.model_fn(str(extracted)).precision == "fp32"


def test_a_gpu_serves_fp32_even_with_int8_in_the_archive(extracted, monkeypatch):
    """The choice is a function of the device, so no GPU is needed to test it."""
    cuda = torch.device("cuda")
    assert inference.choose_precision(extracted, cuda) == "fp32"
    monkeypatch.setenv("INFERENCE_PRECISION", "int8")
    with pytest.raises(ValueError, match="runs on a CPU with torch's x86 quantized engine"):
        inference.choose_precision(extracted, cuda)
    monkeypatch.setenv("INFERENCE_PRECISION", "fp16")
    with pytest.raises(ValueError, match="must be auto, fp32 or int8"):
        inference.choose_precision(extracted, torch.device("cpu"))


def test_a_cpu_without_the_x86_engine_serves_fp32(extracted, monkeypatch):
    """Graviton: torch on arm64 has qnnpack, not the x86 engine the int8 model is built for."""
    monkeypatch.setattr(type(torch.backends.quantized), "supported_engines", ["qnnpack", "none"])
    assert inference.choose_precision(extracted, torch.device("cpu")) == "fp32"
    monkeypatch.setenv("INFERENCE_PRECISION", "int8")
    with pytest.raises(ValueError, match="x86 quantized engine"):
        inference.choose_precision(extracted, torch.device("cpu"))


@pytest.fixture
def tied_model_dir(tmp_path):
    """A model dir whose head's logits nearly tie: int8 rounding flips many answers."""
    torch.manual_seed(0)
    model = build_model("resnet18", 4)
    with torch.no_grad():
        model.fc.weight.mul_(1e-4)
        model.fc.bias.zero_()
    config = {"arch": "resnet18", "image_size": 32, "num_classes": 4}
    names = ["Affenpinscher", "Afghan hound", "Airedale terrier", "Akita"]
    write_model_artifacts(tmp_path / "model", model, config, names, [], {})
    return tmp_path / "model"


def test_too_little_agreement_writes_no_archive(tied_model_dir, sample_dataset, tmp_path):
    options = Int8Options(sample_dataset / "valid", sample_dataset / "test")  # the default 99%
    assert options.min_agreement == 0.99
    with pytest.raises(
        QuantizationRefusedError, match=r"int8 agrees with fp32 on .* below the required 99.00%"
    ):
        build_model_archive(tied_model_dir, tmp_path / "model.tar.gz", options)
    assert not (tmp_path / "model.tar.gz").exists()


def test_int8_optional_ships_fp32_and_says_why(tied_model_dir, sample_dataset, tmp_path, caplog):
    """What the boot script runs with int8 on: a finished model ships without its int8 copy,
    and without one an earlier training run left in the model dir."""
    (tied_model_dir / INT8_WEIGHTS_FILE).write_bytes(b"an int8 model of another run")
    package.main(
        [
            str(tied_model_dir),
            str(tmp_path / "model.tar.gz"),
            "--int8",
            "--int8-optional",
            "--calibration-dir",
            str(sample_dataset / "valid"),
            "--holdout-dir",
            str(sample_dataset / "test"),
        ]
    )
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        names = set(archive.getnames())
    assert "model.pth" in names
    assert INT8_WEIGHTS_FILE not in names
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("int8 model left out, the archive holds fp32 only: int8 agrees")
    assert "below the required 99.00%" in warning


def test_int8_optional_goes_with_int8(tied_model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        package.main([str(tied_model_dir), str(tmp_path / "m"), "--int8-optional"])
    assert "--int8-optional goes with --int8" in capsys.readouterr().err


def test_the_command_line_needs_the_image_folders(trained_model, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.package",
            str(trained_model.model_dir),
            str(tmp_path / "m.tar.gz"),
            "--int8",
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--int8 needs --calibration-dir and --holdout-dir" in result.stderr


def test_the_package_reports_agreement_and_size(trained_model, sample_dataset, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.package",
            str(trained_model.model_dir),
            str(tmp_path / "m.tar.gz"),
            "--int8",
            "--calibration-dir",
            str(sample_dataset / "valid"),
            "--holdout-dir",
            str(sample_dataset / "test"),
            "--min-agreement",
            "0.9",
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "int8 agrees with fp32 on" in result.stderr
    assert "MB)" in result.stderr
