"""cs_mcp as its own OAuth 2.1 authorization server (Claude.ai / Claude Desktop custom connectors).

CallScaler has no OAuth of its own, so a "grant" here is a user's consent on cs_mcp's page: the
CallScaler key they pasted (sealed in the `Vault`), the role they picked, and the client they gave
it to. Codes, access and refresh tokens all point at a grant; revoking any of them ends the grant,
deletes the key, and with it every token of the grant.

All state lives in the Store, so every replica sharing it honours every token. Codes and tokens are
stored under a keyed hash (a store dump holds no usable token); codes and refresh tokens are used
with `take`, so of two racing exchanges exactly one wins. A refresh token presented again after its
rotation is taken as stolen (OAuth 2.1 §4.3.1): the whole grant is revoked. Each principal's grants
are indexed (`GrantIndex`) for the connections page, where their owner ends them (`disconnect`).

The SDK's handlers check PKCE (S256 only), redirect URIs, client secrets and expiries before calling
in here. Client ID Metadata Documents are not offered: the SDK's server side neither advertises nor
resolves them, so clients register dynamically (RFC 7591).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    TokenVerifier,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, BaseModel, Field

from cs_mcp.hosted.grant_index import GrantIndex
from cs_mcp.hosted.keys import KeyChecker
from cs_mcp.hosted.principal import Principal, PrincipalToken
from cs_mcp.hosted.vault import Vault
from cs_mcp.secrets import Secret
from cs_mcp.spec import Role
from cs_mcp.state import Store, StoreUnavailable
from cs_mcp.web.signing import ServerSecret

CONSENT_PATH = "/oauth/consent"
REQUEST_LIFETIME = 15 * 60  # time to find the key in CallScaler's settings and paste it
CODE_LIFETIME = 5 * 60
ACCESS_LIFETIME = 60 * 60
REFRESH_LIFETIME = 30 * 24 * 60 * 60  # also how long an unused grant (and its key) is kept
CLIENT_LIFETIME = 365 * 24 * 60 * 60
# Our tokens say so: a token without the prefix is never looked up here, and one with it never goes to
# the fallback (header mode would send it to CallScaler as if it were a key).
ACCESS_PREFIX = "csmcp_at_"
REFRESH_PREFIX = "csmcp_rt_"
# "Last used" on the connections page is this precise: each replica notes a grant's use at most this often.
LAST_USED_STEP = 5 * 60
MAX_USES_NOTED = 10_000


class PendingAuthorization(BaseModel):
    """An /authorize request waiting for the user on the consent page."""

    client_id: str
    client_name: str | None
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    state: str | None
    scopes: list[str]
    code_challenge: str
    resource: str

    @property
    def redirect_origin(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def redirect_host(self) -> str:
        return urlsplit(self.redirect_uri).netloc


class Grant(BaseModel):
    """One consent. The key itself is in the vault under the grant's id, never in this record."""

    id: str
    client_id: str
    principal_id: str
    role: str
    scopes: list[str]
    resource: str
    client_name: str = ""
    signed_in_at: int = 0
    access: str = ""  # the keyed hashes of the grant's current tokens, to delete them on revocation
    refresh: str = ""


class IssuedToken(BaseModel):
    """What the store keeps for an access or refresh token (under the token's keyed hash)."""

    grant_id: str
    client_id: str
    scopes: list[str]
    expires_at: int
    resource: str


class GrantedCode(AuthorizationCode):
    grant_id: str


class GrantedRefreshToken(RefreshToken):
    grant_id: str = Field(exclude=True)


class GrantedAccessToken(PrincipalToken):
    grant_id: str = Field(exclude=True)


@dataclass(frozen=True)
class Connection:
    """A grant as its owner sees it on the connections page: never the key."""

    grant_id: str
    client_name: str
    role: str
    signed_in_at: int
    last_used_at: int | None


def same_resource(a: str, b: str) -> bool:
    return a.removesuffix("/") == b.removesuffix("/")


class CallScalerOAuthProvider:
    """The SDK's `OAuthAuthorizationServerProvider`, plus what the consent page needs (`pending`,
    `approve`, `deny`)."""

    def __init__(
        self,
        store: Store,
        secret: ServerSecret,
        keys: KeyChecker,
        public_url: str,
        fallback: TokenVerifier | None = None,
        *,
        resource_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.secret = secret
        self.keys = keys
        self.public_url = public_url.rstrip("/")
        self.resource_url = resource_url or f"{self.public_url}/mcp"
        self._fallback = fallback
        self._vault = Vault(store, secret)
        self._index = GrantIndex(store, REFRESH_LIFETIME)
        self._uses_noted: dict[str, float] = {}
        self._hash_key = secret.derive("oauth-tokens")
        self._clock = clock

    def _hash(self, token: str) -> str:
        return hmac.new(self._hash_key, token.encode(), hashlib.sha256).hexdigest()

    # Clients (RFC 7591 dynamic registration)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        stored = await self.store.get(f"oauth:client:{client_id}")
        return OAuthClientInformationFull.model_validate_json(stored) if stored else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        await self.store.put(
            f"oauth:client:{client_info.client_id}", client_info.model_dump_json(), CLIENT_LIFETIME
        )

    # The browser's part: /authorize, then the consent page

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        # Tokens are for this server's MCP endpoint only (RFC 8707): a request for another resource
        # gets nothing rather than a token the resource server would refuse.
        if params.resource and not same_resource(params.resource, self.resource_url):
            raise AuthorizeError("invalid_target", f"this server issues tokens for {self.resource_url} only")
        request_id = secrets.token_urlsafe(24)
        pending = PendingAuthorization(
            client_id=client.client_id or "",
            client_name=client.client_name,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            state=params.state,
            scopes=params.scopes or [],
            code_challenge=params.code_challenge,
            resource=self.resource_url,
        )
        await self.store.put(f"oauth:request:{request_id}", pending.model_dump_json(), REQUEST_LIFETIME)
        return f"{self.public_url}{CONSENT_PATH}?request={request_id}"

    async def pending(self, request_id: str) -> PendingAuthorization | None:
        stored = await self.store.get(f"oauth:request:{request_id}") if request_id else None
        return PendingAuthorization.model_validate_json(stored) if stored else None

    async def _settle(self, request_id: str) -> PendingAuthorization | None:
        """The pending request, removed: one decision per request, whichever browser tab answers first."""
        taken = await self.store.take(f"oauth:request:{request_id}")
        if taken is None or taken.expired:
            return None
        return PendingAuthorization.model_validate_json(taken.value)

    async def approve(self, request_id: str, api_key: Secret, role: Role) -> str | None:
        """Issue a code for a key the consent page has checked; the URL to send the browser to, or
        None when the request has expired or was already answered."""
        pending = await self._settle(request_id)
        if pending is None:
            return None
        principal = Principal(api_key, role, via="oauth")
        grant = Grant(
            id=secrets.token_urlsafe(16),
            client_id=pending.client_id,
            principal_id=principal.id,
            role=role.label,
            scopes=pending.scopes,
            resource=pending.resource,
            client_name=pending.client_name or "",
            signed_in_at=int(self._clock()),
        )
        # Until the code is exchanged the grant lives only as long as the code.
        await self._keep(grant, api_key, CODE_LIFETIME)
        code = secrets.token_urlsafe(32)
        granted = GrantedCode(
            code=self._hash(code),
            scopes=pending.scopes,
            expires_at=self._clock() + CODE_LIFETIME,
            client_id=pending.client_id,
            code_challenge=pending.code_challenge,
            redirect_uri=AnyUrl(pending.redirect_uri),
            redirect_uri_provided_explicitly=pending.redirect_uri_provided_explicitly,
            resource=pending.resource,
            subject=principal.id,
            grant_id=grant.id,
        )
        await self.store.put(f"oauth:code:{granted.code}", granted.model_dump_json(), CODE_LIFETIME)
        return construct_redirect_uri(pending.redirect_uri, code=code, state=pending.state)

    async def deny(self, request_id: str) -> str | None:
        pending = await self._settle(request_id)
        if pending is None:
            return None
        return construct_redirect_uri(
            pending.redirect_uri,
            error="access_denied",
            error_description="The user declined to connect cs_mcp",
            state=pending.state,
        )

    # Codes

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantedCode | None:
        stored = await self.store.get(f"oauth:code:{self._hash(authorization_code)}")
        code = GrantedCode.model_validate_json(stored) if stored else None
        return code if code and code.client_id == client.client_id else None

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantedCode
    ) -> OAuthToken:
        taken = await self.store.take(f"oauth:code:{authorization_code.code}")
        if taken is None or taken.expired:
            raise TokenError("invalid_grant", "authorization code was already used or has expired")
        return await self._issue(authorization_code.grant_id, authorization_code.scopes)

    # Refresh tokens: single use, rotated at each refresh

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantedRefreshToken | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        hashed = self._hash(refresh_token)
        stored = await self.store.get(f"oauth:refresh:{hashed}")
        if stored is None:
            spent_by = await self.store.get(f"oauth:spent-refresh:{hashed}")
            if spent_by is not None:  # a rotated token used again: someone else has a copy of it
                await self.revoke_grant(spent_by)
            return None
        issued = IssuedToken.model_validate_json(stored)
        if issued.client_id != client.client_id:
            return None
        return GrantedRefreshToken(
            token=refresh_token,
            client_id=issued.client_id,
            scopes=issued.scopes,
            expires_at=issued.expires_at,
            resource=issued.resource,
            grant_id=issued.grant_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantedRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        hashed = self._hash(refresh_token.token)
        taken = await self.store.take(f"oauth:refresh:{hashed}")
        if taken is None or taken.expired:
            raise TokenError("invalid_grant", "refresh token was already used or has expired")
        await self.store.put(f"oauth:spent-refresh:{hashed}", refresh_token.grant_id, REFRESH_LIFETIME)
        return await self._issue(refresh_token.grant_id, scopes)

    # Access tokens

    async def load_access_token(self, token: str) -> AccessToken | None:
        if token.startswith(REFRESH_PREFIX):  # ours, not an access token; never for the fallback
            return None
        if not token.startswith(ACCESS_PREFIX):
            return await self._fallback.verify_token(token) if self._fallback else None
        stored = await self.store.get(f"oauth:access:{self._hash(token)}")
        if stored is None:
            return None
        issued = IssuedToken.model_validate_json(stored)
        found = await self._grant_and_key(issued.grant_id)
        if found is None:
            return None
        grant, api_key = found
        await self._note_use(grant.id)
        principal = Principal(api_key, Role.parse(grant.role), via="oauth")
        return GrantedAccessToken(
            token=f"oauth:{grant.id}",  # the bearer itself stays out of reprs and logs
            client_id=issued.client_id,
            scopes=issued.scopes,
            expires_at=issued.expires_at,
            resource=issued.resource,
            subject=principal.id,
            principal=principal,
            grant_id=grant.id,
        )

    # Revocation (RFC 7009): any token of a grant ends all of it

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        if isinstance(token, GrantedAccessToken | GrantedRefreshToken):
            await self.revoke_grant(token.grant_id)

    async def revoke_grant(self, grant_id: str) -> None:
        """Deletes the grant, its stored key and its tokens; a grant already gone is left alone."""
        grant = await self._grant(grant_id)
        if grant is not None:
            await self.store.delete(f"oauth:access:{grant.access}")
            await self.store.delete(f"oauth:refresh:{grant.refresh}")
        await self._vault.delete(grant_id)
        await self.store.delete(f"oauth:grant:{grant_id}")
        await self.store.delete(f"oauth:grant-used:{grant_id}")
        self._uses_noted.pop(grant_id, None)

    # The connections page: a person's own grants, and ending them

    async def connections(self, principal_id: str) -> list[Connection]:
        """The principal's grants, newest first (ids of grants that have ended are dropped)."""
        found = []
        for grant_id in reversed(await self._index.prune(principal_id, self._has_grant)):  # newest first
            grant = await self._grant(grant_id)
            if grant is None or grant.principal_id != principal_id:
                continue
            used = await self.store.get(f"oauth:grant-used:{grant_id}")
            found.append(
                Connection(
                    grant.id, grant.client_name, grant.role, grant.signed_in_at, int(used) if used else None
                )
            )
        return sorted(found, key=lambda connection: connection.signed_in_at, reverse=True)  # stable

    async def disconnect(self, principal_id: str, grant_id: str) -> bool:
        """Ends the grant if it is the principal's; another's grant, or one already gone, is left alone."""
        grant = await self._grant(grant_id) if grant_id else None
        if grant is None or grant.principal_id != principal_id:
            return False
        await self.revoke_grant(grant_id)
        return True

    async def _note_use(self, grant_id: str) -> None:
        now = self._clock()
        if now - self._uses_noted.get(grant_id, float("-inf")) < LAST_USED_STEP:
            return
        if len(self._uses_noted) >= MAX_USES_NOTED:  # only recent notes matter; forget the rest
            self._uses_noted = {k: at for k, at in self._uses_noted.items() if now - at < LAST_USED_STEP}
            if len(self._uses_noted) >= MAX_USES_NOTED:
                self._uses_noted.clear()
        self._uses_noted[grant_id] = now
        with contextlib.suppress(StoreUnavailable):  # only the page's "last used" falls behind
            await self.store.put(f"oauth:grant-used:{grant_id}", str(int(now)), REFRESH_LIFETIME)

    # Grants

    async def _grant(self, grant_id: str) -> Grant | None:
        stored = await self.store.get(f"oauth:grant:{grant_id}")
        return Grant.model_validate_json(stored) if stored else None

    async def _has_grant(self, grant_id: str) -> bool:
        return await self.store.get(f"oauth:grant:{grant_id}") is not None

    async def _grant_and_key(self, grant_id: str) -> tuple[Grant, Secret] | None:
        """The grant and its key; None when either is gone or the key cannot be opened (another
        CS_MCP_SECRET): the user signs in again."""
        grant = await self._grant(grant_id)
        api_key = await self._vault.get(grant_id) if grant else None
        return (grant, api_key) if grant and api_key else None

    async def _keep(self, grant: Grant, api_key: Secret, lifetime: float) -> None:
        await self._vault.put(grant.id, api_key, lifetime)
        await self.store.put(f"oauth:grant:{grant.id}", grant.model_dump_json(), lifetime)
        await self._index.add(grant.principal_id, grant.id, self._has_grant)

    async def _issue(self, grant_id: str, scopes: list[str]) -> OAuthToken:
        """New access and refresh tokens for the grant, replacing its current ones; the grant and its
        key are kept as long as the new refresh token."""
        found = await self._grant_and_key(grant_id)
        if found is None:
            raise TokenError("invalid_grant", "this sign-in has ended; connect again")
        grant, api_key = found
        await self.store.delete(f"oauth:access:{grant.access}")
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        grant.access, grant.refresh = self._hash(access), self._hash(refresh)
        now = int(self._clock())
        for entry, token_lifetime in (
            (f"oauth:access:{grant.access}", ACCESS_LIFETIME),
            (f"oauth:refresh:{grant.refresh}", REFRESH_LIFETIME),
        ):
            issued = IssuedToken(
                grant_id=grant.id,
                client_id=grant.client_id,
                scopes=scopes,
                expires_at=now + token_lifetime,
                resource=grant.resource,
            )
            await self.store.put(entry, issued.model_dump_json(), token_lifetime)
        await self._keep(grant, api_key, REFRESH_LIFETIME)
        return OAuthToken(
            access_token=access,
            expires_in=ACCESS_LIFETIME,
            scope=" ".join(scopes) or None,
            refresh_token=refresh,
        )
