"""Residents' personal data under PIPL (个人信息保护): the one place that seals, opens and shreds it.

Crypto-shredding: each data subject (a reporter's `reporter_ref`, a household's `household_ref`) has a
data key of its own (AES-256-GCM, `cryptography`); what the subject told us (name, phone, e-mail, room,
the report's own words) is stored in events only as a `Sealed` envelope under that key. The data keys
live outside the event log, in intake's `personal_keys` table, each wrapped (AES-GCM) by the
key-encryption key (KEK) of the configuration. Destroying a subject's data key (`shred`) leaves its
envelopes unreadable for good while the events, and the audit chain that hashes them, stay intact.

The KEK: `YISHI_PERSONAL_KEK` (32 bytes, base64), else the file `YISHI_PERSONAL_KEK_FILE`, else
`<var dir>/keys/personal.kek`, created on first use (mode 0600): the embedded default. In production the
KEK stays in a KMS: `KeyWrapper` is the port a KMS adapter implements (its Encrypt/Decrypt of a data key).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database, Transaction

ENVELOPE = "aes-256-gcm/v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


class KeyWrapper:
    """Wraps and unwraps data keys with the key-encryption key (a KMS adapter is another implementation)."""

    key_id: str

    def wrap(self, subject: str, data_key: bytes) -> str:
        raise NotImplementedError

    def unwrap(self, subject: str, wrapped: str) -> bytes:
        raise NotImplementedError


class LocalKek(KeyWrapper):
    """The KEK held by this process (from the environment or a file): AES-GCM, the subject as associated data."""

    def __init__(self, kek: bytes):
        if len(kek) != 32:
            raise ValueError("the personal-data KEK must be 32 bytes")
        self._aead = AESGCM(kek)
        self.key_id = "local:" + hashlib.sha256(b"yishi-kek-id:" + kek).hexdigest()[:12]  # which KEK wrapped a key

    def wrap(self, subject: str, data_key: bytes) -> str:
        nonce = secrets.token_bytes(12)
        return _b64(nonce + self._aead.encrypt(nonce, data_key, subject.encode()))

    def unwrap(self, subject: str, wrapped: str) -> bytes:
        raw = _unb64(wrapped)
        return self._aead.decrypt(raw[:12], raw[12:], subject.encode())


def configured_kek(var_dir: Path, env: dict[str, str] | None = None) -> LocalKek:
    """The KEK of the configuration: env, else a file, else the embedded default under the var dir."""
    env = os.environ if env is None else env
    if env.get("YISHI_PERSONAL_KEK"):
        return LocalKek(base64.b64decode(env["YISHI_PERSONAL_KEK"]))
    path = Path(env.get("YISHI_PERSONAL_KEK_FILE") or var_dir / "keys" / "personal.kek")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: a web and a worker starting together create one key, not two
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_b64(secrets.token_bytes(32)))
        except FileExistsError:
            pass
    text = path.read_text().strip()
    while not text:  # the other process is writing it
        text = path.read_text().strip()
    return LocalKek(base64.b64decode(text))


@dataclass(frozen=True)
class Sealed:
    """What an event stores of a subject's personal data: the subject and the ciphertext, nothing in clear."""

    subject: str
    nonce: str
    ciphertext: str

    def as_dict(self) -> dict[str, str]:
        return {"v": ENVELOPE, "subject": self.subject, "nonce": self.nonce, "ct": self.ciphertext}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> "Sealed":
        return cls(stored["subject"], stored["nonce"], stored["ct"])


def is_sealed(stored: Any) -> bool:
    return isinstance(stored, dict) and stored.get("v") == ENVELOPE


class Shredded(Exception):
    """The subject's data key was destroyed (erased, or past retention): its personal data is gone."""


class PersonalData:
    """Seal, open and shred subjects' personal data; the data keys in intake's `personal_keys` table."""

    def __init__(self, db: Database, kek: KeyWrapper):
        self.db, self.kek = db, kek
        self._ready = False

    def ensure(self) -> None:
        """The key table exists (once per process)."""
        if self._ready:
            return
        with self.db.transaction() as tx:
            self.db.lock(tx, "personal_keys")
            tx.run("CREATE TABLE IF NOT EXISTS personal_keys (subject TEXT PRIMARY KEY, wrapped TEXT, kek TEXT, "
                   "created_at TEXT NOT NULL, shredded_at TEXT, reason TEXT)")
        self._ready = True

    def seal(self, subject: str, fields: dict[str, Any], now: datetime) -> Sealed:
        """Encrypt `fields` under the subject's data key, made (and stored wrapped) on its first use.

        The key is stored before the event that uses it is saved: a failed save leaves an unused key, never
        an envelope without one."""
        return _sealed(self._key(subject, create=now), subject, fields)

    def seal_new(self, subject: str, fields: dict[str, Any], now: datetime) -> tuple[Sealed, tuple[str, tuple]]:
        """For a subject just made up: its new key and the key's row, which the caller writes in the very
        transaction that saves the envelope (`save(..., rows=[row])`): both are stored, or neither. A subject
        that has a key already (a made-up pseudonym drawn twice) writes no row, which refuses that save."""
        self.ensure()
        key = AESGCM.generate_key(256)
        row = ("INSERT INTO personal_keys (subject, wrapped, kek, created_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (subject) DO NOTHING RETURNING subject",
               (subject, self.kek.wrap(subject, key), self.kek.key_id, rfc3339(now)))
        return _sealed(key, subject, fields), row

    def open(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The clear fields of an envelope; `Shredded` once the subject's key is destroyed."""
        sealed = Sealed.of(stored)
        key = self._key(sealed.subject)  # a wrong KEK or an altered envelope fails loudly (InvalidTag)
        return json.loads(AESGCM(key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext), sealed.subject.encode()))

    def shred(self, subject: str, reason: str, now: datetime) -> bool:
        """Destroy the subject's data key for good; False when it was shredded already (or never existed)."""
        self.ensure()
        with self.db.transaction() as tx:
            if not self.db.postgres:  # SQLite: overwrite the freed page, do not leave the wrapped key in it
                tx.run("PRAGMA secure_delete = ON")
            row = tx.one("SELECT wrapped FROM personal_keys WHERE subject = ?", (subject,))
            if row is not None and row[0] is None:
                return False
            tx.run("INSERT INTO personal_keys (subject, wrapped, kek, created_at, shredded_at, reason) "
                   "VALUES (?, NULL, NULL, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET wrapped = NULL, kek = NULL, "
                   "shredded_at = excluded.shredded_at, reason = excluded.reason",
                   (subject, rfc3339(now), rfc3339(now), reason))
        if not self.db.postgres:  # and out of the write-ahead log (PostgreSQL: the old row until VACUUM)
            self.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
        return True

    def known(self, subject: str) -> bool:
        """Whether the subject ever had a data key (shredded or not)."""
        self.ensure()
        return bool(self.db.query("SELECT 1 FROM personal_keys WHERE subject = ?", (subject,)))

    def _key(self, subject: str, create: datetime | None = None) -> bytes:
        self.ensure()
        rows = self.db.query("SELECT wrapped FROM personal_keys WHERE subject = ?", (subject,))
        if rows and rows[0][0] is None:
            raise Shredded(subject)
        if rows:
            return self.kek.unwrap(subject, rows[0][0])
        if create is None:
            raise Shredded(subject)  # no key was ever stored: nothing can be read
        key = AESGCM.generate_key(256)
        with self.db.transaction() as tx:
            tx.run("INSERT INTO personal_keys (subject, wrapped, kek, created_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (subject) DO NOTHING", (subject, self.kek.wrap(subject, key), self.kek.key_id,
                                                         rfc3339(create)))
            stored = tx.one("SELECT wrapped FROM personal_keys WHERE subject = ?", (subject,))
        if stored is None or stored[0] is None:
            raise Shredded(subject)
        return self.kek.unwrap(subject, stored[0])  # the one stored, should another process have won the race


def _sealed(key: bytes, subject: str, fields: dict[str, Any]) -> Sealed:
    nonce = secrets.token_bytes(12)
    plain = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    return Sealed(subject, _b64(nonce), _b64(AESGCM(key).encrypt(nonce, plain, subject.encode())))
