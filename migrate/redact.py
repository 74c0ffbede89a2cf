"""Redaction of secrets, the one place that decides what is secret: by a key's name and by what a value is.

Stdlib only: every layer (readers, the plan's report, diff, ansible, snapshot, the CLI) redacts with it.
A value is secret when its key is named like one (`kubeadm_token`, `*_password`) or when it is shaped like
one wherever it sits: a JWT, a kubeadm bootstrap token, a PEM private key (or its base64), the password
in a URL's userinfo (`http://user:pass@proxy`), a `--password=` style flag, a kubeconfig line with an
inline token, or raw base64 key material (an encryption key).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

REDACTED = "<redacted>"

# key names whose values are secret material wherever they appear
_SECRET_NAME = re.compile(
    r"(^|_|-|\.)(key|token|secret|password|passwd|auth|identitytoken|private|credentials?|certificate_key)$"
    r"|encrypt_token|encryptionsecret|bootstrap_token|secret_data_b64",
    re.IGNORECASE,
)
# names that look secret but hold none (paths to public material, names of keys)
_NOT_SECRET_NAME = frozenset(
    {"key_name", "service_account_key_file_public", "public_key", "key_file", "ca_key_file"}
)

# values that are credentials whatever they are called
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# kubeadm bootstrap token id.secret; not a piece of a longer dotted name (a host's domain)
BOOTSTRAP_TOKEN = re.compile(r"(?<![\w.-])[a-z0-9]{6}\.(?=[a-z]*[0-9])(?=[0-9]*[a-z])[a-z0-9]{16}(?![\w.-])")
PEM_PRIVATE = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
# base64 of "-----BEGIN " followed by a PEM type (kubeconfig client-key-data, a secret's data)
PEM_PRIVATE_B64 = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,}")
# scheme://user:password@host — the password part
URL_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"']*:)(?P<secret>[^/\s@\"']+)(?=@)")
# --password=x, --token x, --client-secret=x (command lines, extraArgs)
SECRET_FLAG = re.compile(
    r"(?P<head>--?[A-Za-z0-9-]*(?:password|passwd|token|secret|credentials?|private-key|certificate-key)=)"
    r"(?P<secret>[^\s\"',]+)",
    re.IGNORECASE,
)
# a name/value pair in YAML text (kubeadm v1beta4 extraArgs, env): `- name: oidc-client-secret\n  value: x`
NAME_VALUE = re.compile(
    r"(?P<head>name:\s*[\"']?[\w.-]*(?:password|passwd|secret|token|credential)[\"']?\s*\n\s*value:\s*[\"']?)"
    r"(?P<secret>(?!/)[^\s\"']+)",
    re.IGNORECASE,
)
# `token: abc` lines inside kubeconfigs and YAML held in a string
INLINE_CREDENTIAL = re.compile(
    r"(?P<head>^[\s-]*[\"']?(?:token|client-key-data|password|id-token|refresh-token|access-token|client-secret"
    r"|secret|certificate-key)[\"']?\s*:\s*[\"']?)(?P<secret>[^\s\"'#]+)",
    re.IGNORECASE | re.MULTILINE,
)
# a flag whose value is the next argument: ["--password", "x"]
_SECRET_FLAG_ALONE = re.compile(r"--?[A-Za-z0-9-]*(?:password|passwd|token|secret|credentials?)", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{22,86}={0,2}")
_KEY_SIZES = frozenset({16, 24, 32, 48, 64})  # AES/secretbox/HMAC key lengths in bytes


def is_secret_name(name: str) -> bool:
    """True for a key named like secret material (`kubeadm_token`, `proxy_password`, `client-key`)."""
    return name.lower() not in _NOT_SECRET_NAME and bool(_SECRET_NAME.search(name))


is_secret_key = is_secret_name  # the name callers used before redaction moved to this module


def is_key_material(text: str) -> bool:
    """A whole value that is raw base64 key material: 16-64 random-looking bytes (an encryption key)."""
    text = text.strip()
    if not _BASE64.fullmatch(text) or len(text) % 4:
        return False
    # hex digests and words are base64-alphabet too: real key material mixes cases and digits
    if not (re.search(r"[a-z]", text) and re.search(r"[A-Z]", text) and re.search(r"[0-9+/]", text)):
        return False
    try:
        return len(base64.b64decode(text, validate=True)) in _KEY_SIZES
    except (binascii.Error, ValueError):
        return False


def looks_like_credential(text: str) -> bool:
    """True when a string holds a credential anywhere in it, whatever its key is called."""
    return is_key_material(text) or redact_text(text) != text


def redact_text(text: str) -> str:
    """The string with every credential-shaped part replaced by REDACTED (the rest kept, for context)."""
    if is_key_material(text):
        return REDACTED
    text = PEM_PRIVATE.sub(REDACTED, text)
    text = PEM_PRIVATE_B64.sub(REDACTED, text)
    text = JWT.sub(REDACTED, text)
    text = BOOTSTRAP_TOKEN.sub(REDACTED, text)
    for pattern in (URL_USERINFO, SECRET_FLAG, NAME_VALUE, INLINE_CREDENTIAL):
        text = pattern.sub(lambda m: m.group("head") + (m.group("secret") if m.group("secret") == REDACTED else REDACTED), text)
    return text


def secret_arguments(args: list[Any]) -> set[int]:
    """Positions in an argument list that hold the value of a secret flag given alone (`--password x`)."""
    return {i + 1 for i, arg in enumerate(args[:-1])
            if isinstance(arg, str) and _SECRET_FLAG_ALONE.fullmatch(arg) and isinstance(args[i + 1], str)}


def holds_secret(value: Any) -> bool:
    """Flags and empty values are not secret material, whatever their key is called."""
    return not isinstance(value, (bool, int, float)) and value not in (None, "", {}, [])


def names_a_secret(item: dict[Any, Any]) -> bool:
    """A name/value pair (env var, kubeadm extraArg) whose name says its value is secret."""
    name = item.get("name")
    return isinstance(name, str) and "value" in item and is_secret_name(name.replace("-", "_"))


def redact(data: Any) -> Any:
    """A copy of plain data with every secret-named value and every credential-shaped string replaced."""
    if isinstance(data, dict):
        named = names_a_secret(data)
        return {
            k: (REDACTED if (is_secret_name(str(k)) or named and k == "value") and holds_secret(v) else redact(v))
            for k, v in data.items()
        }
    if isinstance(data, (list, tuple)):
        hidden = secret_arguments(list(data))
        return [REDACTED if i in hidden else redact(v) for i, v in enumerate(data)]
    if isinstance(data, str):
        return redact_text(data)
    return data
