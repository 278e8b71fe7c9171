"""Assemble the identity service from its config: store, keys, domain services, servicer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import grpc
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh.events import SESSIONS, EventsConfig, OutboxRelay
from mesh.lifecycle import Lifecycle
from mesh.periodic import Periodic
from mesh.server import Servicer, ServiceSpec
from mesh.tokens import TokenConfig
from services.identity.auth import AuthService
from services.identity.config import IdentityConfig
from services.identity.events import Publisher, RevocationAnnouncer, discard
from services.identity.keys import SigningKeys
from services.identity.passwords import PasswordHasher
from services.identity.servicer import IdentityServicer
from services.identity.sessions import Sessions
from services.identity.store import Store, open_store
from services.identity.throttle import LoginThrottle, ThrottlePolicy
from services.identity.users import UserService

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Identity:
    """The assembled service. `close()` releases the store; safe to call twice."""

    config: IdentityConfig
    store: Store
    keys: SigningKeys
    auth: AuthService
    users: UserService
    servicer: IdentityServicer
    now: Callable[[], float] = time.time
    # Publishes SessionRevoked from the outbox; None when no event bus is configured (tests).
    relay: OutboxRelay | None = None

    def service_spec(self, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> ServiceSpec:
        """What the server bootstrap runs: the servicer, and the store to close after
        draining."""
        return ServiceSpec(
            name="identity",
            servicers=[
                Servicer(
                    add_to_server=identity_pb2_grpc.add_IdentityServiceServicer_to_server,
                    implementation=self.servicer,
                    full_name=identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
                )
            ],
            interceptors=interceptors,
            # Stopped in reverse order after the drain: maintenance, then the relay's flush.
            workers=self.workers(),
            on_stop=(self.close,),
        )

    def workers(self) -> tuple[Lifecycle, ...]:
        relay: tuple[Lifecycle, ...] = () if self.relay is None else (self.relay,)
        return (*relay, self.maintenance())

    async def is_session_revoked(self, session_id: str) -> bool:
        """For the auth interceptor's `is_revoked`: identity knows revocations first-hand.
        A session it does not know counts as revoked."""
        session = await self.store.get_session(session_id)
        return session is None or session.is_revoked

    async def rotate_keys(self) -> str:
        """Make a new signing key current; returns its kid. Old keys stay published until
        every token they signed has expired."""
        return await self.keys.rotate()

    async def prune(self) -> int:
        """Delete long-expired sessions and stale sign-in counters; returns rows deleted."""
        return await self.store.prune(
            now=self.now(), keep_seconds=self.config.expired_session_retention_seconds
        )

    async def maintain(self) -> None:
        """One maintenance round: rotate the signing key when the current one is due (by its
        age, so any number of instances rotate once between them), then prune."""
        await self.keys.reload()
        age = self.now() - self.keys.ring.current.created_at
        if age >= self.config.key_rotation_interval_seconds:
            await self.rotate_keys()
        pruned = await self.prune()
        if pruned:
            log.info("pruned %d expired session and sign-in rows", pruned)

    def maintenance(self) -> Periodic:
        """The maintenance rounds as a worker of the service process."""
        return Periodic(
            "identity maintenance", self.config.maintenance_interval_seconds, self.maintain
        )

    async def close(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        await self.store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def password_hasher(config: IdentityConfig) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config.password_time_cost,
        memory_kib=config.password_memory_kib,
        parallelism=config.password_parallelism,
        max_concurrent=config.max_concurrent_hashes,
    )


async def build_identity(
    config: IdentityConfig,
    tokens: TokenConfig | None = None,
    *,
    publish: Publisher = discard,
    events: EventsConfig | None = None,
    registry: CollectorRegistry | None = None,
    now: Callable[[], float] = time.time,
    store: Store | None = None,
) -> Identity:
    """Open and migrate the store, load (or create) the signing keys, bootstrap the admin.

    With `events`, an outbox relay publishes SessionRevoked (written to the outbox in the
    transaction that revokes) to `identity.sessions.v1`; it runs as a worker of the service.
    `publish` is an extra in-process hook for each event after its commit (tests).
    `store` replaces the one `config` names (tests). On failure the store is closed again.
    """
    tokens = tokens or TokenConfig()
    if store is None:
        store = open_store(
            config.database_url,
            config.sqlite_path,
            max_connections=config.database_max_connections,
        )
    try:
        await store.migrate()
        keys = SigningKeys(store, tokens, now=now)
        await keys.load()
        relay = (
            None
            if events is None
            else OutboxRelay(
                store.database, events, source="identity", topics=[SESSIONS], registry=registry
            )
        )
        announcer = RevocationAnnouncer(publish, wake=None if relay is None else relay.wake)
        sessions = Sessions(store, keys, announcer, now=now)
        throttle = LoginThrottle(
            store,
            ThrottlePolicy(
                max_failures=config.max_failed_logins,
                reset_after_seconds=config.failed_login_reset_seconds,
                lockout_seconds=config.lockout_seconds,
                max_lockout_seconds=config.max_lockout_seconds,
            ),
            now=now,
        )
        auth = AuthService(
            store,
            password_hasher(config),
            sessions,
            throttle,
            default_roles=config.default_role_set,
            now=now,
        )
        users = UserService(store, sessions, auth, now=now)
        if config.admin_email is not None and config.admin_password is not None:
            await users.ensure_admin(
                email=config.admin_email,
                password=config.admin_password,
                display_name=config.admin_display_name,
            )
    except BaseException:
        await store.close()
        raise
    return Identity(
        config=config,
        store=store,
        keys=keys,
        auth=auth,
        users=users,
        servicer=IdentityServicer(auth, users, keys),
        now=now,
        relay=relay,
    )
