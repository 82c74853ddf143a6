"""A beambell home for tests and trials: ``Settings`` on a folder, a landed sample scrape, the graph
materialized on it with a Dagster instance kept in the same folder, and cheap copies of all that.

Materializing the graph is the expensive part of most integration tests, and many start from the
same state; ``tests/integration/conftest.py`` builds the shared snapshots with these helpers once per
test run and hands each test that writes its own :meth:`Home.copy` (a plain copy of the folder: the
SQLite warehouse, the artifacts and the Dagster instance's SQLite storage, with the home's absolute
paths in the warehouse rewritten)::

    settings = home_settings(tmp_path / "home")
    home = Home(settings, tuple(SAMPLE.land(settings)))
    with home.instance() as instance:
        materialize_ingest(home, instance)
        materialize_train_and_score(home, instance)
    mine = home.copy(tmp_path / "copy")
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, materialize

from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.defs.resources import build_resources
from beambell_assets.demo.sample import write_sample_gold, write_sample_scrape
from beambell_assets.ingest.contract import landing_files
from beambell_assets.settings import EndModelSettings, Settings

#: The end model of tests about the graph's mechanics (promotion gates, faults, executors, instances,
#: drift, the human-in-the-loop path): the fixed model (``training/end_model.py``) instead of the
#: gold-free search, which costs ~12 s per training on :data:`SAMPLE` and is tested by itself
#: (``tests/unit/test_end_model.py``, ``test_ensemble.py``) and on whole graphs (``test_graph.py``,
#: the README demo, the shared graph snapshot that serving and the stream tests score with, the
#: quality reports). As settings, and as the environment for a subprocess or ``load_settings``.
FIXED_END_MODEL = EndModelSettings(spec="fixed")
FIXED_END_MODEL_ENV = {"BEAMBELL_END_MODEL": "fixed"}

WEB_CONTENT = "beambell_assets.labeling.tasks.web_content"
_NO_COMPUTE_LOGS = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def home_settings(home: Path, **overrides: object) -> Settings:
    """``Settings`` on a fresh home folder: SQLite warehouse inside it, the web-content task."""
    fields: dict[str, object] = {
        "warehouse_url": f"sqlite:///{home / 'warehouse.db'}",
        "task_spec": WEB_CONTENT,
        **overrides,
    }
    return Settings(home=home, **fields).ensure_dirs()  # type: ignore[arg-type]


@dataclass(frozen=True)
class SampleScrape:
    """Which sample scrape to land (``beambell_assets.demo.sample``): same arguments, same pages."""

    n_batches: int = 3
    pages_per_batch: int = 120
    seed: int = 7
    gold_fraction: float = 0.1

    def land(self, settings: Settings, gold_dir: Path | None = None) -> list[str]:
        """Write the batches into the landing folder and simulated gold; returns the partition keys."""
        write_sample_scrape(settings.landing_dir, self.n_batches, self.pages_per_batch, self.seed)
        self.write_gold(gold_dir or settings.gold_dir)
        return sorted(landing_files(settings.landing_dir))

    def write_gold(self, gold_dir: Path, fraction: float | None = None) -> Path:
        return write_sample_gold(
            gold_dir, self.n_batches, self.pages_per_batch, self.seed, fraction=fraction or self.gold_fraction
        )


#: The sample the shared snapshots are built on: 3 batches (JSON lines, CSV, Parquet), 360 pages.
SAMPLE = SampleScrape()


@dataclass(frozen=True)
class Home:
    """A beambell home with its Dagster instance kept inside it (``<home>/dagster_home``)."""

    settings: Settings
    keys: tuple[str, ...]

    @property
    def dagster_dir(self) -> Path:
        return self.settings.home / "dagster_home"

    def instance(self) -> DagsterInstance:
        """A persistent instance on this home's folder (close it, or use it in ``with``).

        Step output is not captured (as on an ephemeral instance): the local compute-log manager
        starts a watcher process per step, which costs more than the step itself in these tests.
        """
        self.dagster_dir.mkdir(parents=True, exist_ok=True)
        return DagsterInstance.local_temp(tempdir=str(self.dagster_dir), overrides=_NO_COMPUTE_LOGS)

    def resources(self) -> dict[str, object]:
        return build_resources(self.settings)

    def copy(self, dest: Path) -> Home:
        """The whole folder copied to ``dest``; absolute paths in the SQLite warehouse now point there."""
        shutil.copytree(self.settings.home, dest, symlinks=True)
        old, new = str(self.settings.home), str(dest)
        settings = dataclasses.replace(
            self.settings, home=dest, warehouse_url=f"sqlite:///{dest / 'warehouse.db'}"
        )
        _rewrite_paths(dest / "warehouse.db", old, new)
        return Home(settings.ensure_dirs(), self.keys)

    def save(self, marker: Path) -> None:
        """Record this home as complete in ``marker`` (a file outside the home, so copies lack it)."""
        marker.write_text(
            json.dumps(
                {
                    "home": str(self.settings.home),
                    "task_spec": self.settings.task_spec,
                    "keys": list(self.keys),
                }
            )
        )

    @staticmethod
    def load(marker: Path) -> Home | None:
        """The home a :meth:`save` recorded, or None if it was never completed."""
        if not marker.exists():
            return None
        data = json.loads(marker.read_text())
        return Home(home_settings(Path(data["home"]), task_spec=data["task_spec"]), tuple(data["keys"]))


def _rewrite_paths(db: Path, old: str, new: str) -> None:
    """Every text value starting with the old home (e.g. ``model_registry.artifact_path``) is moved."""
    if not db.exists():
        return
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for col in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
                name = col[1]
                conn.execute(
                    f'UPDATE "{table}" SET "{name}" = ? || substr("{name}", ?) '
                    f'WHERE typeof("{name}") = \'text\' AND substr("{name}", 1, ?) = ?',
                    (new, len(old) + 1, len(old), old),
                )
    conn.close()


def materialize_ingest(
    home: Home, instance: DagsterInstance, keys: list[str] | tuple[str, ...] | None = None
) -> None:
    """raw_pages, page_features and lf_votes for each partition (the ingest job, one run per file)."""
    ws = build_weak_supervision_assets()
    keys = list(keys or home.keys)
    instance.add_dynamic_partitions(landing_partitions.name, keys)
    resources = home.resources()
    for key in keys:
        result = materialize(
            [raw_pages, page_features, ws.lf_votes],
            partition_key=key,
            resources=resources,
            instance=instance,
        )
        assert result.success


def materialize_train_and_score(home: Home, instance: DagsterInstance) -> None:
    """The train job (gold labels to the deployed model), then predictions for every partition."""
    ws = build_weak_supervision_assets()
    resources = home.resources()
    assert materialize([gold_labels, *ws.train_graph], resources=resources, instance=instance).success
    for key in home.keys:
        assert materialize(
            [ws.predictions], partition_key=key, resources=resources, instance=instance
        ).success
