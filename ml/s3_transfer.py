"""Small S3 transfers for the EC2 boot script, with boto3 (on every Deep Learning AMI).

    python -m ml.s3_transfer download --delete s3://bucket/data/ /opt/dog-breeds/data
    python -m ml.s3_transfer get s3://bucket/models/run-1/_CLAIM claim.txt
    python -m ml.s3_transfer upload build/model.tar.gz s3://bucket/models/run-1/model.tar.gz
    python -m ml.s3_transfer upload-dir build/sample s3://bucket/data/
    python -m ml.s3_transfer exists s3://bucket/models/run-1/_SUCCESS   # exit 0 yes, 1 no
    python -m ml.s3_transfer put-if-absent _SUCCESS s3://bucket/models/run-1/_SUCCESS

Endpoints come from the standard AWS configuration (``AWS_ENDPOINT_URL`` included), so the
same commands run against the emulator in tests.

``download`` copies the prefix (``s3://bucket/data`` is the folder ``data/``) into the folder as
``aws s3 sync`` does: an object is fetched again when its size or ETag differs from the copy's,
and the rest is skipped, so an interrupted copy resumes. With ``--delete`` it is a mirror, as
``aws s3 sync --delete``: a local file whose object is no longer under the prefix is deleted
(and a folder left empty with it); without it nothing local is deleted. The ETag each file
was fetched at is kept in ``.s3-mirror.json`` at the top of the folder (written then renamed,
every few seconds and at the end); a file it has no ETag for is fetched again. Each file is
written, then renamed.

Exit statuses say what happened, so that a boot script never mistakes one for another:
0 done (or: the object exists), 1 the object is absent, 2 bad arguments, 3 S3 could not answer
now (throttled, a 5xx, the network, the instance's credentials not served yet: try again
later), 4 ``put-if-absent`` found the object already there, 5 S3 refused for good (403 denied,
404 no such bucket or key, any other 4xx: trying again will not help), 6 the local side failed
(a full disk, a folder it may not write). 3, 5 and 6 log the reason on one line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import boto3
from boto3.exceptions import Boto3Error
from boto3.exceptions import RetriesExceededError as Boto3RetriesExceededError
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore import exceptions as botocore_errors
from botocore.exceptions import BotoCoreError, ClientError

from ml.files import atomic_write

logger = logging.getLogger(__name__)

ABSENT, USAGE, S3_UNAVAILABLE, ALREADY_THERE, S3_REFUSED, LOCAL_FAILURE = 1, 2, 3, 4, 5, 6

# Answers a later try may not get: throttling, S3's own failures, a request that timed out.
# botocore's standard retry mode retries the same ones first (botocore/retries/standard.py).
# RequestTimeTooSkewed: the clock of an instance that has just booted may not be in sync yet.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeTooSkewed",
    }
)
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# No answer at all: the network, a connection or stream cut short, or the instance's
# credentials not served yet (the metadata service at boot). RetriesExceededError: a download
# stream broke on every one of s3transfer's tries.
TRANSIENT_ERRORS = (
    botocore_errors.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError...
    botocore_errors.HTTPClientError,  # ReadTimeoutError, ConnectionClosedError...
    botocore_errors.IncompleteReadError,
    botocore_errors.NoCredentialsError,
    botocore_errors.CredentialRetrievalError,
    Boto3RetriesExceededError,
)
# What a transfer raises when S3 is not reached or answers with an error (Boto3Error: boto3's
# own, RetriesExceededError among them).
S3_ERRORS = (ClientError, BotoCoreError, Boto3Error)

MIRROR_RECORD = ".s3-mirror.json"
RECORD_EVERY_S = 10.0


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def is_transient(error: BaseException) -> bool:
    """Whether trying again later may succeed: S3 throttled, failed (5xx) or was not reached.
    A refusal (403, 404, any other 4xx) is not. An error raised while handling another is
    judged by the one it stands for."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code", "")
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return code in TRANSIENT_CODES or status in TRANSIENT_STATUSES
        if isinstance(current, TRANSIENT_ERRORS):
            return True
        current = current.__cause__ or current.__context__
    return False


class Mirrored(NamedTuple):
    fetched: int
    skipped: int
    deleted: int


class ObjectInfo(NamedTuple):
    key: str
    size: int
    etag: str


def list_prefix(client, bucket: str, prefix: str, root: Path) -> dict[str, ObjectInfo]:
    """Every object under the prefix by the path it takes under ``root`` (POSIX, relative),
    folder markers left out; a key that would land outside ``root`` is an error."""
    resolved = root.resolve()
    objects: dict[str, ObjectInfo] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = (resolved / relative).resolve()
            if resolved not in target.parents:
                raise ValueError(f"object key {item['Key']!r} escapes {root}")
            relative = target.relative_to(resolved).as_posix()
            if relative == MIRROR_RECORD:
                raise ValueError(f"object key {item['Key']!r} is the name of the mirror's record")
            objects[relative] = ObjectInfo(item["Key"], item["Size"], item["ETag"])
    return objects


def delete_stale(root: Path, wanted: set[str]) -> list[str]:
    """Delete every file under ``root`` that ``wanted`` lacks (the mirror's record aside), then
    every folder left empty; returns the relative paths of the files deleted."""
    deleted: list[str] = []
    for folder, _, files in os.walk(root, topdown=False):
        here = Path(folder)
        for name in files:
            relative = (here / name).relative_to(root).as_posix()
            if relative != MIRROR_RECORD and relative not in wanted:
                (here / name).unlink()
                deleted.append(relative)
        if here != root and not any(here.iterdir()):
            here.rmdir()
    return sorted(deleted)


class MirrorRecord:
    """The ETag each file of the mirror was fetched at, saved (written, then renamed) every
    ``RECORD_EVERY_S`` seconds while fetching and at the end: an interrupted mirror loses at
    most those seconds' records, and fetches those files again."""

    def __init__(self, root: Path):
        self.path = root / MIRROR_RECORD
        self.etags: dict[str, str] = {}
        if self.path.is_file():
            try:
                self.etags = dict(json.loads(self.path.read_text()))
            except (ValueError, TypeError) as error:
                logger.warning("%s is unreadable (%s): fetching every file again", self.path, error)
        self.saved_at = time.monotonic()

    def save(self) -> None:
        content = json.dumps(self.etags, indent=0, sort_keys=True)
        atomic_write(self.path, lambda tmp: tmp.write_text(content))
        self.saved_at = time.monotonic()

    def save_now_and_then(self) -> None:
        if time.monotonic() - self.saved_at >= RECORD_EVERY_S:
            self.save()


def download_prefix(uri: str, destination: Path, client=None, delete: bool = False) -> Mirrored:
    """Copy the prefix into ``destination`` as ``aws s3 sync`` would: fetch what is new or
    changed (size or ETag), skip the rest; with ``delete`` (``--delete``), a mirror: also delete
    every file there that S3 no longer holds."""
    client = client or boto3.client("s3")
    bucket, prefix = split_uri(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"  # s3://bucket/data is the folder data/, not data* (database/...)
    root = Path(destination)
    objects = list_prefix(client, bucket, prefix, root)
    if not objects:
        raise FileNotFoundError(f"no objects under {uri}")
    deleted = delete_stale(root, set(objects)) if delete and root.is_dir() else []
    for relative in deleted[:10]:
        logger.info("deleted %s: no longer in %s", root / relative, uri)
    if len(deleted) > 10:
        logger.info("... and %d more files no longer in %s", len(deleted) - 10, uri)
    record = MirrorRecord(root)
    record.etags = {k: v for k, v in record.etags.items() if k in objects}
    fetched = skipped = 0
    try:
        for relative, info in sorted(objects.items()):
            target = root / relative
            if (
                target.is_file()
                and target.stat().st_size == info.size
                and record.etags.get(relative) == info.etag
            ):
                skipped += 1
                continue
            fetch(client, bucket, info.key, target)
            record.etags[relative] = info.etag
            fetched += 1
            record.save_now_and_then()
    finally:
        record.save()
    logger.info(
        "%s -> %s: %d fetched, %d unchanged, %d deleted",
        uri,
        root,
        fetched,
        skipped,
        len(deleted),
    )
    return Mirrored(fetched, skipped, len(deleted))


def fetch(client, bucket: str, key: str, path: Path) -> None:
    """Download one object to ``path``: written beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    client.download_file(bucket, key, str(partial))
    os.replace(partial, path)


def get(uri: str, path: Path, client=None) -> None:
    """Download one object to ``path`` (written, then renamed)."""
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    fetch(client, bucket, key, Path(path))


def upload_file(client, path: Path, bucket: str, key: str) -> None:
    """``client.upload_file`` without boto3's S3UploadFailedError: S3's error is raised as the
    ClientError it is. boto3 raises its wrapper while handling that ClientError, and when the
    transfer manager's shutdown raises the same ClientError again (its transfer still tracked,
    as it is on a loaded machine), Python cuts the wrapper's __context__ to avoid a cycle: the
    status S3 answered, which tells failing for now from refused, would be lost."""
    with create_transfer_manager(client, TransferConfig()) as manager:
        manager.upload(str(path), bucket, key).result()


def upload(path: Path, uri: str, client=None) -> None:
    client = client or boto3.client("s3")
    bucket, key = split_uri(uri)
    upload_file(client, path, bucket, key)
    logger.info("uploaded %s to %s", path, uri)


def upload_dir(folder: Path, uri: str, client=None) -> int:
    """Upload every file under ``folder`` to the prefix, keeping relative paths."""
    client = client or boto3.client("s3")
    bucket, prefix = split_uri(uri)
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder" if folder.exists() else f"{folder}: no such folder"
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{folder} holds no files")
    for path in files:
        key = (
            prefix.rstrip("/") + "/" + path.relative_to(folder).as_posix()
            if prefix
            else path.relative_to(folder).as_posix()
        )
        upload_file(client, path, bucket, key)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="S3 transfers for the training boot script.")
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser(
        "download", help="copy a prefix into a folder (as aws s3 sync; --delete: a mirror)"
    )
    download.add_argument(
        "--delete",
        action="store_true",
        help="delete files in the folder that are not under the prefix (aws s3 sync --delete)",
    )
    download.add_argument("uri", help="s3://bucket/prefix/")
    download.add_argument("destination", type=Path, help="local folder")
    fetch_one = commands.add_parser("get", help="download one object to a file")
    fetch_one.add_argument("uri", help="s3://bucket/key")
    fetch_one.add_argument("path", type=Path, help="local file")
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
    return parser


def run(args: argparse.Namespace) -> int:
    """The command's exit status; S3's errors propagate."""
    if args.command == "download":
        download_prefix(args.uri, args.destination, delete=args.delete)
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
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as error:
        parser.exit(USAGE, f"error: {error}\n")
    except S3_ERRORS as error:
        if is_transient(error):
            logger.error("S3 could not answer %s %s now: %s", args.command, args.uri, error)
            return S3_UNAVAILABLE
        logger.error("S3 refused %s %s: %s", args.command, args.uri, error)
        return S3_REFUSED
    except OSError as error:  # the local side: a full disk, a folder it may not write
        logger.error("%s %s failed here, not in S3: %s", args.command, args.uri, error)
        return LOCAL_FAILURE


if __name__ == "__main__":
    sys.exit(main())
