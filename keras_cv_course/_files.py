"""Checked reading of the files the package keeps: JSON documents (a run's
``state.json`` and ``report.json``, ``weights/manifest.json``), ``.keras``
archives and sha256 digests. Every error names the file and says what is wrong
with it (missing, truncated or corrupt, another digest), so a damaged file is
never reported as a missing one or as a bare parser error.

A leaf: it imports nothing from the package.
"""

import hashlib
import json
import os
import re
import zipfile

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep, "/") if sep)


class CorruptFileError(ValueError):
    """A file exists but cannot be read: it is truncated or corrupt."""


class HashMismatchError(ValueError):
    """A file's sha256 differs from the digest it was expected to have."""


def looks_like_path(text, suffixes=None):
    """Whether ``text`` is written as a path: it holds a directory separator or
    ends with one of ``suffixes`` (default: any file extension). Registered model
    and weight names never do."""
    text = os.fspath(text)
    if any(sep in text for sep in _SEPARATORS):
        return True
    if suffixes is None:
        return os.path.splitext(text)[1] != ""
    return text.endswith(tuple(suffixes))


def read_json(path, advice=""):
    """The JSON object stored in ``path``. A file that is not a complete JSON
    object (truncated, corrupt) is a ``CorruptFileError`` naming it, followed by
    ``advice`` (what to do about it)."""
    tail = f" {advice}" if advice else ""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptFileError(f"{path} is truncated or corrupt: it is not valid JSON ({error}).{tail}") from error
    if not isinstance(document, dict):
        raise CorruptFileError(f"{path} is corrupt: it holds a JSON {type(document).__name__}, "
                               f"not the JSON object expected.{tail}")
    return document


def check_keras_archive(path):
    """Raise ``CorruptFileError`` naming ``path`` when it is not a complete
    ``.keras`` (zip) archive; an unreadable file raises its own ``OSError``."""
    with open(path, "rb"):
        pass
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(
            f"{path} exists ({os.path.getsize(path):,} bytes) but is not a complete .keras archive: the file is "
            "truncated or corrupt. Use another copy (a run directory keeps best.keras, last.keras and "
            "checkpoints/) or save the model again."
        )


def sha256_of(path, chunk=1 << 20):
    """The sha256 hex digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_sha256(text):
    """``text`` as a lowercase sha256 hex digest; anything else is a ``ValueError``."""
    if not isinstance(text, str) or not _SHA256.match(text.strip()):
        raise ValueError(f"expected a sha256 digest (64 hexadecimal characters); got {text!r}")
    return text.strip().lower()


def check_sha256(path, expected):
    """Raise ``HashMismatchError`` naming ``path``, the expected and the actual
    digest when the file's sha256 is not ``expected``; returns ``path``."""
    expected = parse_sha256(expected)
    actual = sha256_of(path)
    if actual != expected:
        raise HashMismatchError(f"{path} has sha256 {actual}, but {expected} was expected: the file is corrupt, "
                                "was replaced, or is not the one the digest belongs to.")
    return path
