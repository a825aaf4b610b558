"""IAM policy language: validation and evaluation. Pure code, no database.

A document is {"Version": "1.1", "Statement": [{"Action": ["metastudio:asset:show*"], "Effect": "Allow"}]}.
Actions are `service:resource:operation`; `*` matches any run of characters, matching ignores
case. An explicit Deny wins over any Allow; with no matching Allow the answer is deny.
"""

import re
from functools import lru_cache

FULL_ACCESS = {"Version": "1.1", "Statement": [{"Action": ["metastudio:*:*"], "Effect": "Allow"}]}
READ_ONLY = {"Version": "1.1", "Statement": [{"Action": ["metastudio:*:show*"], "Effect": "Allow"}]}
SYSTEM_POLICIES = {
    "MetaStudio FullAccess": ("All permissions of MetaStudio.", FULL_ACCESS),
    "MetaStudio ReadOnlyAccess": ("Read-only permissions of MetaStudio (show* actions).", READ_ONLY),
}
ACTION_PATTERN = re.compile(r"^[A-Za-z0-9*?_-]+:[A-Za-z0-9*?_-]+:[A-Za-z0-9*?_-]+$")
MAX_STATEMENTS = 50


class PolicyError(ValueError):
    """A malformed policy document; `field` points at the offending part."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    return _compiled(pattern).match(action) is not None


def validate_document(document) -> dict:
    """Return the normalised document or raise PolicyError naming the bad field."""
    if not isinstance(document, dict):
        raise PolicyError("document", "must be a JSON object")
    if document.get("Version") != "1.1":
        raise PolicyError("Version", 'must be "1.1"')
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyError("Statement", "must be a non-empty list")
    if len(statements) > MAX_STATEMENTS:
        raise PolicyError("Statement", f"at most {MAX_STATEMENTS} statements")
    normalised = []
    for index, statement in enumerate(statements):
        normalised.append(_validate_statement(index, statement))
    return {"Version": "1.1", "Statement": normalised}


def _validate_statement(index: int, statement) -> dict:
    where = f"Statement[{index}]"
    if not isinstance(statement, dict):
        raise PolicyError(where, "must be an object")
    unknown = set(statement) - {"Action", "Effect"}
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}", "unsupported key (allowed: Action, Effect)")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect", 'must be "Allow" or "Deny"')
    actions = statement.get("Action")
    if not isinstance(actions, list) or not actions:
        raise PolicyError(f"{where}.Action", "must be a non-empty list of actions")
    for position, action in enumerate(actions):
        if not isinstance(action, str) or not ACTION_PATTERN.match(action):
            raise PolicyError(
                f"{where}.Action[{position}]", "must look like service:resource:operation, e.g. metastudio:asset:show"
            )
    return {"Action": list(actions), "Effect": effect}


def is_allowed(statements: list[dict], action: str) -> bool:
    """Evaluate already-validated statements for one action: explicit Deny wins, default deny."""
    allowed = False
    for statement in statements:
        if any(action_matches(pattern, action) for pattern in statement["Action"]):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed
