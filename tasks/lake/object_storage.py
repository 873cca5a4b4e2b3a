"""Object storage (S3 and S3-compatible servers): its URLs, its credentials, and the two clients that use them.

The credentials and endpoint come from the standard variables only
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``), read here and
nowhere else. They become a temporary DuckDB secret (held in memory, never in
the catalog: :func:`create_secret`) and an obstore store
(:func:`bucket_store`, for listing and reading a bucket's report files). No
message, log line or artifact built here carries a key or a secret.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from tasks.lake.errors import LakeError


S3_SCHEME = "s3://"

# The variables read, in the order the attach script names them.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
)

DEFAULT_REGION = "us-east-1"

# A store that does not answer fails a command in seconds, not after the clients' default minutes.
CONNECT_TIMEOUT = "5s"
REQUEST_TIMEOUT = "60s"


def is_object_url(value: str | os.PathLike[str]) -> bool:
    """True for an ``s3://`` URL (any case of the scheme)."""
    return isinstance(value, str) and value[: len(S3_SCHEME)].lower() == S3_SCHEME


@dataclass(frozen=True, slots=True)
class ObjectUrl:
    """``s3://BUCKET/PREFIX``: a bucket and a key prefix (no leading or trailing slash; empty for the whole bucket)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> ObjectUrl:
        if not is_object_url(url):
            raise LakeError(f"not an s3:// URL: {url}")
        parts = url[len(S3_SCHEME) :].split("/", 1)
        bucket, prefix = parts[0], (parts[1] if len(parts) > 1 else "")
        if not bucket:
            raise LakeError(f"{url} names no bucket: write s3://BUCKET/PREFIX")
        return cls(bucket=bucket, prefix=prefix.strip("/"))

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def joined(self, *names: str) -> str:
        """This URL with ``names`` appended as path segments (no trailing slash)."""
        return "/".join([str(self), *(name.strip("/") for name in names)])


@dataclass(frozen=True, slots=True)
class S3Settings:
    """The credentials and endpoint of the standard ``AWS_*`` variables (the secret is never shown)."""

    key_id: str | None
    secret: str | None
    session_token: str | None
    region: str
    endpoint: str | None  # full URL of a custom endpoint (SeaweedFS, MinIO, R2), None for AWS

    @classmethod
    def from_environment(cls) -> S3Settings:
        env = os.environ
        return cls(
            key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            endpoint=env.get("AWS_ENDPOINT_URL") or None,
        )

    def __repr__(self) -> str:  # a settings object in a traceback or a log shows no credential
        return f"S3Settings(region={self.region!r}, endpoint={self.endpoint!r}, key_id={'set' if self.key_id else None})"

    def credentials(self, key_id: str, secret: str, token: str) -> dict[str, str]:
        """The credentials that are set, under the names a client gives them."""
        given = {key_id: self.key_id, secret: self.secret, token: self.session_token}
        return {name: value for name, value in given.items() if value}

    @property
    def uses_http(self) -> bool:
        return self.endpoint is not None and urlsplit(self.endpoint).scheme == "http"


def create_secret(con, settings: S3Settings | None = None) -> None:
    """Create the session's temporary S3 secret from ``settings`` (default: the environment).

    CREATE SECRET takes no bound parameters, hence the quoted literals; the
    statement is executed and never logged. A custom endpoint is addressed
    path-style (``http://host/bucket/key``), as S3-compatible servers expect.
    """
    from tasks.lake.sql import read_sql  # imports DuckDB, which resolving a lake's location does not need

    settings = settings or S3Settings.from_environment()
    options = {"region": settings.region, **settings.credentials("key_id", "secret", "session_token")}
    if settings.endpoint:
        endpoint = urlsplit(settings.endpoint)
        options["endpoint"] = endpoint.netloc + endpoint.path.rstrip("/")
        options["url_style"] = "path"
        options["use_ssl"] = "false" if endpoint.scheme == "http" else "true"
    con.execute(read_sql("lake/create_s3_secret.sql").format(options=_secret_options(options)))


def _secret_options(options: dict[str, str]) -> str:
    from tasks.lake.sql import quote_literal

    return "".join(
        f", {name} {value if value in ('true', 'false') else quote_literal(value)}" for name, value in options.items()
    )


def secret_script() -> str:
    """The CREATE SECRET lines of an attach script: DuckDB reads the variables' values itself, by name.

    ``getenv`` is available in the DuckDB shell (not in a confined session), so the
    script carries the variables' names and never their values.
    """
    from tasks.lake.sql import quote_literal

    settings = S3Settings.from_environment()
    options = [
        "type s3",
        "key_id getenv('AWS_ACCESS_KEY_ID')",
        "secret getenv('AWS_SECRET_ACCESS_KEY')",
    ]
    if settings.session_token:
        options.append("session_token getenv('AWS_SESSION_TOKEN')")
    options.append("region coalesce(nullif(getenv('AWS_REGION'), ''), " + quote_literal(settings.region) + ")")
    if settings.endpoint:
        options.append("endpoint regexp_replace(getenv('AWS_ENDPOINT_URL'), '^https?://|/$', '', 'g')")
        options.append("url_style 'path'")
        options.append(f"use_ssl {'false' if settings.uses_http else 'true'}")
    return f"create or replace temporary secret citelake_s3 ({', '.join(options)});"


def bucket_store(url: ObjectUrl, settings: S3Settings | None = None):
    """An obstore S3 store of ``url``'s bucket, with keys relative to its prefix."""
    from obstore.store import S3Store

    settings = settings or S3Settings.from_environment()
    config: dict[str, object] = {"region": settings.region, **settings.credentials("access_key_id", "secret_access_key", "token")}
    config["skip_signature"] = not (settings.key_id or settings.session_token)  # no credentials: anonymous requests
    if settings.endpoint:
        config["endpoint"] = settings.endpoint
        config["virtual_hosted_style_request"] = False
    return S3Store(
        url.bucket,
        prefix=url.prefix or None,
        config=config,
        client_options={
            "allow_http": settings.uses_http,
            "connect_timeout": CONNECT_TIMEOUT,
            "timeout": REQUEST_TIMEOUT,
        },
        retry_config={"max_retries": 2, "retry_timeout": timedelta(seconds=10)},
    )


# S3 error codes that mean the credentials are refused.
_REFUSED_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AllAccessDisabled"}
)
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]+)</Message>")
_STATUS = re.compile(r"status code: (\d{3})")


def object_fault(error: BaseException, endpoint: str | None = None) -> tuple[str, bool]:
    """What went wrong with a request to the bucket, in a few words, and whether it is the server's verdict on the request.

    The one reading of object-store errors, for the lake's files and a source's
    objects alike. A verdict (an answer of HTTP 4xx: a missing bucket or object,
    refused credentials) would be given again; a server error (5xx) or no
    answer at all (a refused connection, a timeout: the endpoint is named) may
    pass. The words never carry a credential: obstore's messages hold the
    request's URL, never its signature.
    """
    text = str(error)
    code = _CODE.search(text)
    status = _STATUS.search(text)
    verdict = status is None or int(status[1]) < 500
    if isinstance(error, FileNotFoundError) or (code and code[1] == "NoSuchKey"):
        return "no such object (deleted since it was listed?)", True
    if code is not None:
        name = code[1]
        if name == "NoSuchBucket":
            return "no such bucket", verdict
        if name in _REFUSED_CODES:
            return f"access refused ({name}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", verdict
        message = _MESSAGE.search(text)
        return name + (f": {message[1]}" if message else ""), verdict
    if status is not None:
        return f"the server answered HTTP {status[1]}", verdict
    where = endpoint or "the S3 endpoint"
    if "error sending request" in text or "timed out" in text.lower() or "connect" in text.lower():
        return f"{where} does not answer", False
    first = (text.strip().splitlines() or [type(error).__name__])[0]
    return first.removeprefix("Generic S3 error: "), False


def storage_problem(error: BaseException) -> str:
    """:func:`object_fault`'s words alone, for a one-line message."""
    return object_fault(error, S3Settings.from_environment().endpoint)[0]


def reachability_problem(url: ObjectUrl) -> str | None:
    """Why ``url``'s bucket cannot be listed (one request, for one object), or None when it answers."""
    import obstore

    settings = S3Settings.from_environment()
    try:
        next(iter(obstore.list(bucket_store(url, settings), chunk_size=1)), None)
    except Exception as error:  # obstore raises its own error classes and OSError's kinds
        return object_fault(error, settings.endpoint)[0]
    return None


def check_reachable(url: ObjectUrl) -> None:
    """Raise :class:`LakeError` (one line naming ``url`` and the cause) unless its bucket can be listed."""
    if problem := reachability_problem(url):
        raise LakeError(f"cannot reach {url}: {problem}")


def store_and_key(url: str):
    """The store of an object URL's bucket, and the object's key in it."""
    parsed = ObjectUrl.parse(url)
    return bucket_store(ObjectUrl(parsed.bucket)), parsed.prefix


def object_stat(url: str) -> tuple[int, float]:
    """An object's size and last-modified time (seconds since the epoch); FileNotFoundError when it is gone."""
    import obstore

    store, key = store_and_key(url)
    try:
        head = obstore.head(store, key)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise OSError(f"cannot look at {url}: {storage_problem(error)}") from None
    return head["size"], head["last_modified"].timestamp()


def delete_object(url: str) -> None:
    """Delete one object (a lake's data file that no snapshot needs any more)."""
    import obstore

    store, key = store_and_key(url)
    try:
        obstore.delete(store, key)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise OSError(f"cannot delete {url}: {storage_problem(error)}") from None


def read_object(url: str) -> bytes:
    """An object's whole content; FileNotFoundError when it is gone."""
    import obstore

    store, key = store_and_key(url)
    try:
        return obstore.get(store, key).bytes().to_bytes()
    except FileNotFoundError:
        raise
    except Exception as error:
        raise OSError(f"cannot read {url}: {storage_problem(error)}") from None
