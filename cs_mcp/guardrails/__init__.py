"""Guardrails: what stands between an assistant and a purchase, a release, a deletion or an SMS.

- `preview`: the models toolsets share with the guardrails (confirmed arguments, Preview, the answer).
- `confirmation`: who must agree and how (elicitation, token or approval page), and the flow around a guarded write.
- `tokens`: pending confirmations, single-use and bound to tool, arguments, principal and preview.
- `approval`: approvals a person gives on a page (`--confirm url`), over the state store.
- `caps`: operator caps over rolling windows, reserved before the request.
- `acting`: a write sent once; a lost answer reconciled, never retried.
- `audit`: the append-only audit log, fail-closed.
"""

from cs_mcp.guardrails.acting import OutcomeUnknown
from cs_mcp.guardrails.audit import AuditLog, AuditRecord
from cs_mcp.guardrails.confirmation import Guardrails, Prepared
from cs_mcp.guardrails.preview import (
    TOKEN_ARGUMENT,
    Approve,
    Confirmable,
    ConfirmedInput,
    GuardrailError,
    Preview,
)
from cs_mcp.guardrails.tokens import TOKEN_TTL_SECONDS

__all__ = [
    "TOKEN_ARGUMENT",
    "TOKEN_TTL_SECONDS",
    "Approve",
    "AuditLog",
    "AuditRecord",
    "Confirmable",
    "ConfirmedInput",
    "GuardrailError",
    "Guardrails",
    "OutcomeUnknown",
    "Prepared",
    "Preview",
]
