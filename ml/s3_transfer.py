"""Small S3 transfers for the EC2 boot script, with boto3 (on every Deep Learning AMI).

    python -m ml.s3_transfer download s3://bucket/data/ /opt/dog-breeds/data
    python -m ml.s3_transfer upload build/model.tar.gz s3://bucket/models/run-1/model.tar.gz
    python -m ml.s3_transfer upload-dir build/sample s3://bucket/data/
    python -m ml.s3_transfer exists s3://bucket/models/run-1/_SUCCESS   # exit 0 yes, 1 no

Endpoints come from the standard AWS configuration (``AWS_ENDPOINT_URL`` included), so the
same commands run against the emulator in tests. ``download`` is resumable: files already
present with the object's size are skipped, and each file is written then renamed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def download_prefix(uri: str, destination: Path, client=None) -> tuple[int, int]:
    """Mirror every object under the prefix into ``destination``; returns (fetched, skipped)."""
    client = client or boto3.client("s3")
    bucket, prefix = split_uri(uri)
    destination = Path(destination)
    fetched = skipped = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = (destination / relative).resolve()
            if destination.resolve() not in target.parents:
                raise ValueError(f"object key {item['Key']!r} escapes {destination}")
            if target.is_file() and target.stat().st_size == item["Size"]:
                skipped += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            client.download_file(bucket, item["Key"], str(partial))
            os.replace(partial, target)
            fetched += 1
    if fetched + skipped == 0:
        raise FileNotFoundError(f"no objects under {uri}")
    logger.info("%s -> %s: %d fetched, %d already present", uri, destination, fetched, skipped)
    return fetched, skipped


def upload(path: Path, uri: str, client=None) -> None:
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    client.upload_file(str(path), bucket, key)
    logger.info("uploaded %s to %s", path, uri)


def upload_dir(folder: Path, uri: str, client=None) -> int:
    """Upload every file under ``folder`` to the prefix, keeping relative paths."""
    client = client or boto3.client("s3")
    bucket, prefix = split_uri(uri)
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{folder} holds no files")
    for path in files:
        key = (
            prefix.rstrip("/") + "/" + path.relative_to(folder).as_posix()
            if prefix
            else path.relative_to(folder).as_posix()
        )
        client.upload_file(str(path), bucket, key)
    logger.info("uploaded %d files from %s to %s", len(files), folder, uri)
    return len(files)


def exists(uri: str, client=None) -> bool:
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="S3 transfers for the training boot script.")
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser("download", help="mirror a prefix into a folder")
    download.add_argument("uri", help="s3://bucket/prefix/")
    download.add_argument("destination", type=Path, help="local folder")
    up = commands.add_parser("upload", help="upload one file")
    up.add_argument("path", type=Path, help="local file")
    up.add_argument("uri", help="s3://bucket/key")
    up_dir = commands.add_parser("upload-dir", help="upload a folder under a prefix")
    up_dir.add_argument("folder", type=Path, help="local folder")
    up_dir.add_argument("uri", help="s3://bucket/prefix/")
    check = commands.add_parser("exists", help="exit 0 when the object exists, 1 when not")
    check.add_argument("uri", help="s3://bucket/key")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "download":
            download_prefix(args.uri, args.destination)
        elif args.command == "upload":
            upload(args.path, args.uri)
        elif args.command == "upload-dir":
            upload_dir(args.folder, args.uri)
        else:
            return 0 if exists(args.uri) else 1
    except (ValueError, FileNotFoundError) as error:
        parser.exit(2, f"error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
