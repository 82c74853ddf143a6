"""The model registry: every trained classifier, which one is champion, and why.

Status moves ``candidate -> champion -> retired`` (or ``candidate -> rejected``). Exactly one
champion per task at a time; every promotion, rejection and rollback is an event with who, what,
why and the metrics at that moment, so the history can be audited and undone.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from beambell_assets.storage.warehouse import Warehouse, utcnow


class RegistryError(RuntimeError):
    """A registry request that cannot be done: an unknown version, another task's model, nothing
    to roll back to. The message is for the user as it is."""


@dataclass(frozen=True)
class ModelRecord:
    version: str
    task: str
    artifact_path: str
    artifact_sha256: str
    status: str
    n_train: int
    metrics: dict[str, Any]
    training_window: str | None = None
    lf_fingerprint: str | None = None
    created_at: Any = None


def _record(row: Any) -> ModelRecord:
    return ModelRecord(
        version=row.version,
        task=row.task,
        artifact_path=row.artifact_path,
        artifact_sha256=row.artifact_sha256,
        status=row.status,
        n_train=int(row.n_train),
        metrics=json.loads(row.metrics_json or "{}"),
        training_window=row.training_window,
        lf_fingerprint=row.lf_fingerprint,
        created_at=row.created_at,
    )


class ModelRegistry:
    def __init__(self, warehouse: Warehouse, task: str) -> None:
        self.wh = warehouse
        self.task = task

    def register(
        self,
        version: str,
        artifact_path: str,
        artifact_sha256: str,
        n_train: int,
        metrics: dict[str, Any],
        training_window: str | None = None,
        lf_fingerprint: str | None = None,
        run_id: str | None = None,
    ) -> ModelRecord:
        self.wh.insert(
            "model_registry",
            [
                {
                    "version": version,
                    "task": self.task,
                    "created_at": utcnow(),
                    "artifact_path": artifact_path,
                    "artifact_sha256": artifact_sha256,
                    "status": "candidate",
                    "n_train": n_train,
                    "training_window": training_window,
                    "lf_fingerprint": lf_fingerprint,
                    "metrics_json": json.dumps(metrics, default=float),
                    "run_id": run_id,
                }
            ],
        )
        return self.get(version)

    def get(self, version: str) -> ModelRecord:
        t = self.wh.table("model_registry")
        with self.wh.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.version == version)).first()
        if row is None:
            known = [r.version for r in self.versions()[-3:]]
            hint = f" (newest of task {self.task!r}: {', '.join(known)})" if known else ""
            raise RegistryError(f"no model version {version!r} in the registry{hint}")
        return _record(row)

    def champion(self) -> ModelRecord | None:
        t = self.wh.table("model_registry")
        q = sa.select(t).where((t.c.task == self.task) & (t.c.status == "champion"))
        with self.wh.engine.connect() as conn:
            row = conn.execute(q).first()
        return _record(row) if row is not None else None

    def versions(self) -> list[ModelRecord]:
        t = self.wh.table("model_registry")
        q = sa.select(t).where(t.c.task == self.task).order_by(t.c.created_at, t.c.version)
        with self.wh.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q)]

    def latest_candidate(self) -> ModelRecord | None:
        """The newest model still waiting for a decision (None once it is promoted or rejected)."""
        versions = self.versions()
        return versions[-1] if versions and versions[-1].status == "candidate" else None

    def record(
        self, version: str, action: str, actor: str, reason: str, metrics: dict[str, Any] | None = None
    ) -> None:
        """Log a decision that does not change status (e.g. ``gates_passed``)."""
        current = self.champion()
        with self.wh.engine.begin() as conn:
            self._event(conn, version, current.version if current else None, action, actor, reason, metrics)

    def passed_gates(self, version: str) -> bool:
        return any(e["action"] == "gates_passed" and e["version"] == version for e in self.events())

    def events(self) -> list[dict[str, Any]]:
        df = self.wh.read("SELECT * FROM model_events WHERE task = :t ORDER BY at", {"t": self.task})
        return df.astype(object).where(df.notna(), None).to_dict("records")

    def _event(
        self,
        conn: sa.Connection,
        version: str,
        previous: str | None,
        action: str,
        actor: str,
        reason: str,
        metrics: dict[str, Any] | None,
    ) -> None:
        self.wh.insert(
            "model_events",
            [
                {
                    "event_id": uuid.uuid4().hex,
                    "task": self.task,
                    "version": version,
                    "previous": previous,
                    "action": action,
                    "actor": actor,
                    "reason": reason,
                    "metrics_json": json.dumps(metrics or {}, default=float),
                    "at": utcnow(),
                }
            ],
            conn=conn,
        )

    def promote(self, version: str, actor: str, reason: str) -> ModelRecord:
        """Make ``version`` the champion; the old champion is retired. One transaction."""
        candidate = self.get(version)
        if candidate.task != self.task:
            raise RegistryError(f"model {version} is task {candidate.task!r}'s, not {self.task!r}'s")
        t = self.wh.table("model_registry")
        with self.wh.engine.begin() as conn:
            current = conn.execute(
                sa.select(t.c.version).where((t.c.task == self.task) & (t.c.status == "champion"))
            ).scalar()
            if current == version:
                return candidate
            conn.execute(
                t.update()
                .where((t.c.task == self.task) & (t.c.status == "champion"))
                .values(status="retired")
            )
            conn.execute(t.update().where(t.c.version == version).values(status="champion"))
            self._event(conn, version, current, "promote", actor, reason, candidate.metrics)
        return self.get(version)

    def reject(self, version: str, actor: str, reason: str) -> ModelRecord:
        t = self.wh.table("model_registry")
        candidate = self.get(version)
        with self.wh.engine.begin() as conn:
            conn.execute(
                t.update()
                .where((t.c.version == version) & (t.c.status == "candidate"))
                .values(status="rejected")
            )
            current = self.champion()
            self._event(
                conn,
                version,
                current.version if current else None,
                "reject",
                actor,
                reason,
                candidate.metrics,
            )
        return self.get(version)

    def rollback(self, actor: str, reason: str) -> ModelRecord:
        """Restore the champion that the current one replaced."""
        current = self.champion()
        if current is None:
            raise RegistryError(f"task {self.task!r} has no champion to roll back from")
        # The champion's own promotion says whom it replaced; rolling back twice walks further back.
        promotions = [
            e for e in self.events() if e["action"] == "promote" and e["version"] == current.version
        ]
        previous = promotions[-1]["previous"] if promotions else None
        if not previous:
            raise RegistryError(f"champion {current.version} has no previous champion to restore")
        t = self.wh.table("model_registry")
        with self.wh.engine.begin() as conn:
            conn.execute(t.update().where(t.c.version == current.version).values(status="retired"))
            conn.execute(t.update().where(t.c.version == previous).values(status="champion"))
            self._event(
                conn, previous, current.version, "rollback", actor, reason, self.get(previous).metrics
            )
        return self.get(previous)
