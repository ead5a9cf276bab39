"""Whether an env variable or a Helm values key holds a credential (and not a reference to one)."""

from __future__ import annotations

import re

from readiness.redact import is_secret_name

_NOT_SECRET = ("_URL", "_URI", "_HOST", "_PORT", "_TYPE", "_ENABLED", "_DISABLED", "_USER", "_USERNAME", "_NAME",
               "_REGION")
# Helm values that NAME a Kubernetes Secret or a key inside one: existingSecret, existingSecretPasswordKey,
# secretName, secretKeyRef, passwordKey, userKey; and the mappings that hold such names.
_REF_LEAF = re.compile(r"existingSecret|secretName$|SecretName$|KeyRef$|(^|[a-z])(password|Password|user|User|username|"
                       r"Username|token|Token|salt|Salt)Key$")
_REF_PARENT = frozenset({"secretkeyref", "valuefrom", "configmapkeyref", "secretkeys", "secretref", "configmapref"})
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_PARTS = frozenset({"password", "passwd", "pwd", "secret", "token", "salt", "credential", "credentials",
                           "auth", "apikey"})
# camelCase ``<word>Key`` is a credential for these words only (topologyKey, nodeKey ... are not)
_KEY_KINDS = frozenset({"api", "license", "encryption", "private", "access", "signing", "session", "hmac", "master"})


def _names_a_secret(name: str) -> bool:
    """An env name or a Helm key that holds a credential: REDIS_AUTH, secretKey, s3.secretAccessKey, apiKeySalt,
    encryptionKey, licenseKey (camelCase words too, where the old regex saw only ``_key``)."""
    if name.upper().endswith(_NOT_SECRET):
        return False  # NEXTAUTH_URL, AUTH_TYPE: settings about a credential, not one (URL passwords are found apart)
    words = [w.lower() for w in _CAMEL.findall(name)]
    return (is_secret_name(name) or bool(_SECRET_PARTS.intersection(words))
            or (len(words) > 1 and words[-1] in ("key", "keys") and words[-2] in _KEY_KINDS))


def is_secret_key(key: str) -> bool:
    """Whether an env variable or a dotted Helm values key holds a secret (and not a reference to one)."""
    parts = [re.sub(r"(\[\d+\])+$", "", part) for part in key.split(".")]
    last = parts[-1]
    if any(part.lower() in _REF_PARENT or part.startswith("existingSecret") for part in parts[:-1]):
        return False  # the name of a Kubernetes Secret and its key, not a credential
    if last.upper() != last and _REF_LEAF.search(last):
        return False  # a Helm reference to a Kubernetes Secret (existingSecret, passwordKey), not a credential
    if last == "value" and len(parts) > 1:
        return _names_a_secret(parts[-2])  # langfuse.salt.value, langfuse.nextauth.secret.value
    return _names_a_secret(last) or last.lower() == "salt"
