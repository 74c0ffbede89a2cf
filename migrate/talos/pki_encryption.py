"""The cluster's secrets-encryption config (Kubespray's secrets_encryption.yaml): its keys, names included.

Kubespray names its one key `key`; Talos names its own `key1` (aescbc) / `key2` (secretbox). The API server
finds the decryption key by the name stored in each value's prefix, so the name must survive the migration.
"""
# exercised by tests/talos/test_secrets.py

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

from migrate.errors import UserError

ENCRYPTION_CONFIG_FILE = "secrets_encryption.yaml"
KINDS = ("EncryptionConfiguration", "EncryptionConfig")  # the second is what Kubespray wrote before 1.13-era releases
# provider -> accepted key sizes in bytes (Talos carries only these two)
KEY_SIZES = {"secretbox": (32,), "aescbc": (16, 24, 32)}


@dataclass(frozen=True)
class EncryptionKey:
    provider: str  # secretbox | aescbc
    name: str  # e.g. Kubespray's `key`
    secret: str = field(repr=False)  # base64, as in the file


@dataclass(frozen=True)
class EncryptionConfig:
    raw: str = field(repr=False)  # the file as the API servers read it today
    keys: tuple[EncryptionKey, ...]  # in file order: the first is the one new writes use

    def secret(self, provider: str) -> str | None:
        """The first key of this provider: the one Talos's own encryption secret field can carry."""
        return next((k.secret for k in self.keys if k.provider == provider), None)


def parse_encryption_config(text: str, *, where: str) -> EncryptionConfig:
    """Parse an EncryptionConfiguration; refuse one whose keys Talos cannot carry. Never quotes a secret."""
    doc = secret_yaml(text, where=where, hint="copy the file again, unchanged")
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        raise UserError(
            f"is not an EncryptionConfiguration (kind {doc.get('kind') if isinstance(doc, dict) else None!r})",
            where=where,
            hint="this must be the API server's --encryption-provider-config file",
        )
    keys = tuple(_keys(doc.get("resources"), where))
    if not keys:
        raise UserError(
            "has no secretbox or aescbc key",
            where=where,
            hint="Talos carries only secretbox/aescbc keys; re-key the cluster to secretbox first, or leave the "
            "file out and plan the re-encryption as a manual step",
        )
    return EncryptionConfig(text, keys)


def secret_yaml(text: str, *, where: str, hint: str) -> object:
    """Parse YAML that holds secrets: a syntax error gives its line and column, never the offending text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"is not valid YAML{at}", where=where, hint=hint) from None


def _keys(resources: object, where: str) -> Iterator[EncryptionKey]:
    if not isinstance(resources, list):
        raise UserError("has no `resources` list", where=where, hint="copy the file again, unchanged")
    for r, resource in enumerate(resources):
        providers = resource.get("providers") if isinstance(resource, dict) else None
        if not isinstance(providers, list):
            raise UserError(
                f"resources[{r}] has no `providers` list", where=where, hint="copy the file again, unchanged"
            )
        for p, provider in enumerate(providers):
            if not isinstance(provider, dict):
                continue
            for kind, body in provider.items():
                if kind in KEY_SIZES:
                    yield from _provider_keys(kind, body, f"resources[{r}].providers[{p}].{kind}", where)


def _provider_keys(kind: str, body: object, path: str, where: str) -> Iterator[EncryptionKey]:
    entries = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{path} has no keys", where=where, hint="copy the file again, unchanged")
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        secret = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or not isinstance(secret, str):
            raise UserError(
                f"{path}.keys[{i}] needs a `name` and a `secret`", where=where, hint="copy the file again, unchanged"
            )
        try:
            size = len(base64.b64decode(secret, validate=True))
        except (binascii.Error, ValueError):
            size = -1
        if size not in KEY_SIZES[kind]:
            raise UserError(
                f"{path}.keys[{i}] ({name!r}) is not a base64 {kind} key of {' or '.join(map(str, KEY_SIZES[kind]))} bytes",
                where=where,
                hint="the API server could not use it either; check the file on the control-plane node",
            )
        yield EncryptionKey(kind, name, secret)
