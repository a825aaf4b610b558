"""Secrets: random generation, hashing (tokens) and at-rest encryption (access-key secrets)."""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet
from django.conf import settings

AK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(48)


def new_access_key_id() -> str:
    return "".join(secrets.choice(AK_ALPHABET) for _ in range(20))


def new_secret_key() -> str:
    return secrets.token_urlsafe(30)


def _fernet() -> Fernet:
    digest = hashlib.sha256(("metastudio-ak-sk:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode())


def decrypt_secret(blob: bytes) -> str:
    return _fernet().decrypt(bytes(blob)).decode()
