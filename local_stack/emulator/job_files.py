"""The files of a training job run by local mode: its S3 channels downloaded as SageMaker lays
them out, its folders uploaded as the tar.gz archives SageMaker writes, its checkpoints synced.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from pathlib import Path


class JobInputError(Exception):
    """The job cannot start as asked: SageMaker's ClientError, with its message."""


def parse_s3_url(url: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", url)
    if not match:
        raise JobInputError(f"{url} is not an S3 URL")
    return match[1], match[2]


def kms_encryption(key_id: str | None) -> dict[str, str]:
    """PutObject's arguments for an object SageMaker writes under the caller's KmsKeyId (none
    without one)."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if key_id else {}


def s3_source(channel: dict) -> dict:
    return channel.get("DataSource", {}).get("S3DataSource", {})


def list_keys(s3, url: str) -> list[str]:
    bucket, prefix = parse_s3_url(url)
    paginator = s3.get_paginator("list_objects_v2")
    try:
        pages = list(paginator.paginate(Bucket=bucket, Prefix=prefix))
    except s3.exceptions.NoSuchBucket:
        return []
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def download_keys(s3, url: str, keys: list[str], target: Path) -> None:
    """Each key under ``target`` by its path after the prefix's last ``/``, as SageMaker lays
    out an S3Prefix channel."""
    bucket, prefix = parse_s3_url(url)
    cut = prefix.rfind("/") + 1
    for key in keys:
        if key.endswith("/"):
            continue  # a folder marker
        path = target / key[cut:]
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))


def download_prefix(s3, url: str, target: Path) -> None:
    url = url.rstrip("/") + "/"
    download_keys(s3, url, list_keys(s3, url), target)


def upload_prefix(s3, folder: Path, url: str) -> None:
    bucket, prefix = parse_s3_url(url.rstrip("/") + "/")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")


def upload_tree(s3, folder: Path, url: str) -> None:
    """``folder``'s files as a tar.gz at ``url``, members relative to it (as SageMaker packs
    /opt/ml/model)."""
    bucket, key = parse_s3_url(url)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "archive.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file():
                    tar.add(path, arcname=path.relative_to(folder).as_posix())
        s3.upload_file(str(archive), bucket, key)


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value))
