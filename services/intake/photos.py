"""Photos on a report (照片): up to 3 per issue, JPEG or PNG of at most 5 MB, shown publicly only after staff
reviewed them.

Each photo is re-encoded from its pixels with Pillow, so nothing of the file but the picture is kept: EXIF
(the GPS position of the resident's phone, its make, the time), XMP, comments and text chunks are dropped
(the EXIF orientation is applied first, so the picture still stands upright). The file is stored (written
before its event, so an event never names a missing file) under the var dir (`<var>/intake/photos/`) by
default, or in an S3-compatible object store (MinIO in production, so several intake hosts share the photos)
when `YISHI_PHOTOS_BUCKET` names its bucket (`store_for`). Its record is a `Photo` aggregate in intake's own
log (who reviewed it and when), never published: an event carries no picture.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from PIL import Image, ImageOps, UnidentifiedImageError

from services.intake.requests import Review
from shared.errors import Conflict, DomainError, InvalidInput, NotFound

MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
NAMESPACE = UUID("3f6c2a0e-7d41-4b8e-9c15-2e8a6b0d4f93")


def photo_id(issue_id: str, number: int) -> UUID:
    """The n-th photo's id (0, 1, 2): the issue's photos are found by id, with no index to lag."""
    return uuid5(NAMESPACE, f"photo:{issue_id}:{number}")


class Photo(Aggregate):
    """A photo of an issue: pending until staff approve it (public) or reject it (kept for staff only)."""

    @event("Attached")
    def __init__(self, id: UUID, issue_id: str, number: int, content_type: str, size: int, sha256: str,
                 at: datetime):
        self.issue_id, self.number, self.content_type = issue_id, number, content_type
        self.size, self.sha256, self.attached_at = size, sha256, at
        self.status, self.reviewed_by, self.reviewed_at = "pending", None, None

    @event("Reviewed")
    def review(self, approved: bool, by: str, at: datetime) -> None:
        self.status, self.reviewed_by, self.reviewed_at = ("approved" if approved else "rejected"), by, at

    def view(self, staff: bool) -> dict[str, Any]:
        out = {"photo_id": str(self.id), "issue_id": self.issue_id, "number": self.number,
               "content_type": self.content_type, "size": self.size, "url": f"/photos/{self.id}"}
        if staff:
            out |= {"status": self.status, "attached_at": self.attached_at.isoformat(),
                    "reviewed_by": self.reviewed_by,
                    "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None}
        return out


def clean(data: bytes) -> tuple[bytes, str]:
    """(the picture re-encoded with no metadata, its media type); InvalidInput naming `photo` otherwise."""
    if not data:
        raise InvalidInput("the photo is empty", "photo", "照片内容为空")
    if len(data) > MAX_BYTES:
        raise InvalidInput("a photo may be at most 5 MB", "photo", "每张照片不能超过 5 MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in TYPES:
                raise InvalidInput("a photo must be JPEG or PNG", "photo", "照片须为 JPEG 或 PNG 格式")
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("the photo has too many pixels", "photo", "照片像素过多")
            probe.verify()
        with Image.open(io.BytesIO(data)) as picture:
            bare = _pixels_only(_upright(picture))
            out = io.BytesIO()
            if kind == "JPEG":
                bare.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
            else:
                bare.save(out, "PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("the photo cannot be read as JPEG or PNG", "photo", "无法识别该照片,请上传 JPEG 或 PNG") from None
    return out.getvalue(), TYPES[kind][0]


def _upright(picture: Image.Image) -> Image.Image:
    """The picture turned as its EXIF orientation says; as it is when that EXIF cannot be read."""
    try:
        return ImageOps.exif_transpose(picture)
    except (SyntaxError, ValueError, OSError):
        return picture


def _pixels_only(picture: Image.Image) -> Image.Image:
    """A new image from the pixels (and palette) alone: no `info` (exif, icc, xmp, comments) to be saved."""
    bare = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    if picture.mode == "P":
        bare.putpalette(picture.getpalette())
    return bare


class PhotoStore:
    """Photo files under `<var>/intake/photos/`, named by photo id."""

    def __init__(self, var_dir: Path):
        self.root = var_dir / "intake" / "photos"

    def _path(self, pid: UUID | str, content_type: str) -> Path:
        return self.root / _name(pid, content_type)

    def put(self, pid: UUID, data: bytes, content_type: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(pid, content_type)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, pid: UUID | str, content_type: str) -> bytes:
        return self._path(pid, content_type).read_bytes()


def _name(pid: UUID | str, content_type: str) -> str:
    return f"{pid}.{next(e for t, e in TYPES.values() if t == content_type)}"


class StoreUnavailable(DomainError):
    status, title, title_zh = 503, "Photo store unavailable", "照片存储暂不可用"

    def __init__(self) -> None:
        super().__init__("the photo store did not answer; send the photo again later", "photo",
                         "照片存储暂不可用,请稍后重新上传")
        self.headers = {"Retry-After": "5"}


class S3PhotoStore:
    """Photo files as objects `<prefix><photo id>.<ext>` in a bucket of an S3-compatible store (MinIO, S3).

    A PUT makes an object appear whole, as the var dir's rename does a file. The bucket is the operator's
    (created with MinIO's `mc mb`); credentials come the way boto3 finds them (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None):
        import boto3  # only where an object store is configured
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name=region or "us-east-1",
            config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3},
                          s3={"addressing_style": "path"}))  # MinIO serves buckets by path

    def put(self, pid: UUID, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + _name(pid, content_type), Body=data,
                                   ContentType=content_type)
        except (BotoCoreError, ClientError):
            raise StoreUnavailable() from None

    def get(self, pid: UUID | str, content_type: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _name(pid, content_type))
            return answer["Body"].read()
        except (BotoCoreError, ClientError):
            raise StoreUnavailable() from None


@functools.lru_cache(maxsize=4)
def _s3(bucket: str, prefix: str, endpoint: str | None, region: str | None) -> S3PhotoStore:
    return S3PhotoStore(bucket, prefix, endpoint, region)  # one client per process: it keeps its connections


def store_for(var_dir: Path, environ: Any = os.environ) -> PhotoStore | S3PhotoStore:
    """The var dir's files, or the object store `YISHI_PHOTOS_BUCKET` names (with `YISHI_PHOTOS_S3_ENDPOINT`,
    e.g. http://minio:9000, `YISHI_PHOTOS_PREFIX` and `YISHI_PHOTOS_S3_REGION`)."""
    bucket = environ.get("YISHI_PHOTOS_BUCKET")
    if not bucket:
        return PhotoStore(var_dir)
    return _s3(bucket, environ.get("YISHI_PHOTOS_PREFIX", "photos/"), environ.get("YISHI_PHOTOS_S3_ENDPOINT") or None,
               environ.get("YISHI_PHOTOS_S3_REGION") or None)


def _find(app: Any, pid: UUID) -> Photo | None:
    try:
        return app.repository.get(pid)
    except AggregateNotFoundError:
        return None


def photos_of(app: Any, issue_id: str) -> list[Photo]:
    return [p for p in (_find(app, photo_id(issue_id, n)) for n in range(MAX_PHOTOS)) if p is not None]


def attach(app: Any, store: PhotoStore | S3PhotoStore, issue_id: str, data: bytes, now: datetime) -> Photo:
    """A photo added to an issue: the first free of its three places (409 when all three are taken)."""
    picture, content_type = clean(data)
    for number in range(MAX_PHOTOS):
        pid = photo_id(issue_id, number)
        if _find(app, pid) is not None:
            continue
        store.put(pid, picture, content_type)
        photo = Photo(id=pid, issue_id=issue_id, number=number, content_type=content_type, size=len(picture),
                      sha256=hashlib.sha256(picture).hexdigest(), at=now)
        try:
            app.save(photo)
            return photo
        except IntegrityError:  # another upload took this place meanwhile: its file replaced ours, try the next
            continue
    raise Conflict(f"an issue has at most {MAX_PHOTOS} photos", "photo", f"每个问题最多上传 {MAX_PHOTOS} 张照片")


def get(app: Any, pid: str) -> Photo:
    try:
        photo = _find(app, UUID(pid))
    except ValueError:
        photo = None
    if not isinstance(photo, Photo):
        raise NotFound(f"no photo {pid}", "photo_id", "未找到该照片")
    return photo


def review(app: Any, pid: str, payload: Any, by: str, now: datetime) -> Photo:
    """Staff approve ({approved: true}: shown publicly) or reject a photo; a later review replaces it."""
    approved = Review.parse(payload).approved
    photo = get(app, pid)
    photo.review(approved, by, now)
    app.save(photo)
    return photo
