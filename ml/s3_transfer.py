"""Small S3 transfers for the EC2 boot script, with boto3 (on every Deep Learning AMI).

    python -m ml.s3_transfer download s3://bucket/data/ /opt/dog-breeds/data
    python -m ml.s3_transfer get s3://bucket/models/run-1/_CLAIM claim.txt
    python -m ml.s3_transfer upload build/model.tar.gz s3://bucket/models/run-1/model.tar.gz
    python -m ml.s3_transfer upload-dir build/sample s3://bucket/data/
    python -m ml.s3_transfer exists s3://bucket/models/run-1/_SUCCESS   # exit 0 yes, 1 no
    python -m ml.s3_transfer put-if-absent _SUCCESS s3://bucket/models/run-1/_SUCCESS

Endpoints come from the standard AWS configuration (``AWS_ENDPOINT_URL`` included), so the
same commands run against the emulator in tests. ``download`` is resumable: files already
present with the object's size are skipped, and each file is written then renamed.

Exit statuses say what happened, so that a boot script never mistakes one for another:
0 done (or: the object exists), 1 the object is absent, 2 bad arguments, 3 S3 could not be
asked (unreachable, throttled, denied: try again later), 4 ``put-if-absent`` found the object
already there.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

ABSENT, USAGE, S3_UNAVAILABLE, ALREADY_THERE = 1, 2, 3, 4


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


def get(uri: str, path: Path, client=None) -> None:
    """Download one object to ``path`` (written, then renamed)."""
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    client.download_file(bucket, key, str(partial))
    os.replace(partial, path)


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
    """True or False when S3 says so; any other answer (403 included: without s3:ListBucket
    S3 hides a missing key behind 403) raises, never reads as absent."""
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def put_if_absent(path: Path, uri: str, client=None) -> bool:
    """Write the object only if no object has that key (S3 conditional write); False when one
    does. Two writers racing for the key: exactly one wins."""
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    try:
        client.put_object(Bucket=bucket, Key=key, Body=Path(path).read_bytes(), IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            return False
        raise
    logger.info("wrote %s", uri)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="S3 transfers for the training boot script.")
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser("download", help="mirror a prefix into a folder")
    download.add_argument("uri", help="s3://bucket/prefix/")
    download.add_argument("destination", type=Path, help="local folder")
    fetch = commands.add_parser("get", help="download one object to a file")
    fetch.add_argument("uri", help="s3://bucket/key")
    fetch.add_argument("path", type=Path, help="local file")
    up = commands.add_parser("upload", help="upload one file")
    up.add_argument("path", type=Path, help="local file")
    up.add_argument("uri", help="s3://bucket/key")
    up_dir = commands.add_parser("upload-dir", help="upload a folder under a prefix")
    up_dir.add_argument("folder", type=Path, help="local folder")
    up_dir.add_argument("uri", help="s3://bucket/prefix/")
    check = commands.add_parser("exists", help="exit 0 when the object exists, 1 when not")
    check.add_argument("uri", help="s3://bucket/key")
    put_new = commands.add_parser(
        "put-if-absent", help="upload one file unless the key exists (exit 4 when it does)"
    )
    put_new.add_argument("path", type=Path, help="local file")
    put_new.add_argument("uri", help="s3://bucket/key")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        if args.command == "download":
            download_prefix(args.uri, args.destination)
        elif args.command == "get":
            get(args.uri, args.path)
        elif args.command == "upload":
            upload(args.path, args.uri)
        elif args.command == "upload-dir":
            upload_dir(args.folder, args.uri)
        elif args.command == "put-if-absent":
            return 0 if put_if_absent(args.path, args.uri) else ALREADY_THERE
        else:
            return 0 if exists(args.uri) else ABSENT
    except (ValueError, FileNotFoundError) as error:
        parser.exit(USAGE, f"error: {error}\n")
    except (ClientError, BotoCoreError) as error:
        logger.error("S3 could not answer (%s): %s", args.command, error)
        return S3_UNAVAILABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
