"""Domains and organisations group: page predictions -> domain profiles; pages -> organisations.

    page_features, lf_votes, predictions ──▶ domain_profiles ──┐
    raw_pages ──▶ organisations ────────────────────────────────┴─▶ org_features ─▶ org_lf_votes ─▶ …
                                                                     (org-type task, same factory)

All three are partitioned like the pages and incremental: a partition's partial aggregates are
replaced, and only the domains and organisations it holds are recomputed (``domains/store.py``,
``organisations/store.py``). The org-type task's assets come from the task factory
(``build_task_assets``) with its own prefix, resource and features asset.
"""

from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    Config,
    MaterializeResult,
    asset,
    define_asset_job,
)

from beambell_assets.defs.assets.metadata import counts_table, md_table, rollup
from beambell_assets.defs.assets.partitions import batch_backfill_policy, landing_partitions
from beambell_assets.defs.assets.task_family import TaskAssets, build_task_assets
from beambell_assets.defs.assets.ws_spec import WeakSupervisionSpec
from beambell_assets.domains.domain_lfs import build_domain_lfs
from beambell_assets.domains.profiles import DEFAULT_DOMAIN_LF_WEIGHT, domain_partials
from beambell_assets.domains.store import update_domain_profiles
from beambell_assets.labeling.task import Task
from beambell_assets.labeling.votes import votes_for_pages
from beambell_assets.organisations.records import page_evidence, site_evidence
from beambell_assets.organisations.store import org_features_for_partition, update_organisations
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse

ORG_SPEC = WeakSupervisionSpec(
    prefix="org_",
    task_resource="org_task",
    features_asset="org_features",
    group_suffix="_org",
    label_studio_export=False,  # the Label Studio project holds the page task's label space
)
DOMAINS_JOB = "domains_and_organisations"
ORG_TRAIN_JOB = "train_org_type"
ORG_PREDICT_JOB = "predict_org_type"
_RAW_COLUMNS = ["url", "html", "text", "title"]


class DomainProfileConfig(Config):
    """How much one domain-LF vote weighs, in pages (see ``domains/profiles.py``)."""

    domain_lf_weight: float = DEFAULT_DOMAIN_LF_WEIGHT


def _profile_partition(
    task: Task,
    wh: Warehouse,
    store: ArtifactStore,
    page_spec: WeakSupervisionSpec,
    key: str,
    lfs: list[Any],
    domain_lf_weight: float,
) -> dict[str, Any]:
    """Replace one partition's per-domain partials, recompute the domains it holds; its metadata."""
    page_votes = page_spec.name("lf_votes")
    features = store.read_frame(page_spec.features_asset, key, columns=["page_id", "url", "url_path"])
    votes = store.read_frame(page_votes, key) if store.exists(page_votes, f"{key}.parquet") else None
    preds = wh.read(
        "SELECT page_id, label, probability FROM predictions WHERE partition_key = :k AND task = :t",
        {"k": key, "t": task.name},
    )
    L = votes_for_pages(votes, features["page_id"], task.lf_names)
    partials = domain_partials(features, task.label_names, preds, L)
    update = update_domain_profiles(wh, key, partials, task.name, lfs, task.label_names, domain_lf_weight)
    md: dict[str, Any] = {
        "dagster/row_count": len(update.profiles),
        "pages": len(features),
        "pages_with_prediction": int(partials["n_predicted"].sum()) if len(partials) else 0,
        "domains_touched": len(update.touched),
        "domains_new": len(update.new),
        "domains_recategorised": len(update.recategorised),
        "domains_removed": len(update.removed),
        "domain_lfs": len(lfs),
        "domains_total": int(wh.count("domain_profiles")),
    }
    if len(update.profiles):
        prof = update.profiles.sort_values("n_pages", ascending=False)
        md["category_mix"] = counts_table(prof["category"].fillna("(no evidence)"), "category")
        md["preview"] = md_table(
            prof[["registered_domain", "n_pages", "category", "confidence", "baseline_category"]]
        )
    return md


def _organisations_partition(wh: Warehouse, store: ArtifactStore, key: str) -> dict[str, Any]:
    """Extract one partition's organisation evidence and update the organisations it names."""
    raw = store.read_frame("raw_pages", key)
    pages = raw[[c for c in _RAW_COLUMNS if c in raw.columns]]
    evidence = page_evidence(pages)
    update = update_organisations(wh, key, site_evidence(pages["url"].astype(str).tolist(), evidence))
    md: dict[str, Any] = {
        "dagster/row_count": len(update.organisations),
        "pages": len(pages),
        "pages_with_html": int(sum(e.from_html for e in evidence)),
        "pages_with_a_name": int(sum(bool(e.candidates) for e in evidence)),
        "sites_touched": len(update.sites),
        "organisations_touched": len(update.org_ids),
        "organisations_new": len(update.new_orgs),
        "organisations_total": int(wh.count("organisations")),
    }
    if len(update.organisations):
        orgs = update.organisations.sort_values("n_pages", ascending=False)
        md["preview"] = md_table(
            orgs[["name", "primary_domain", "n_domains", "n_pages", "confidence", "text_only"]]
        )
    return md


def _org_features_partition(wh: Warehouse, store: ArtifactStore, features_asset: str, key: str) -> dict:
    frame = org_features_for_partition(wh, key)
    store.write_frame(features_asset, key, frame)
    md: dict[str, Any] = {"dagster/row_count": len(frame), "organisations": len(frame)}
    if len(frame):
        md["text_only"] = int(frame["text_only"].sum())
        md["with_schema_types"] = int((frame["schema_types"] != "").sum())
    return md


@dataclass(frozen=True)
class DomainAssets:
    """The domain and organisation assets the org-type task's chain reads."""

    domain_profiles: AssetsDefinition
    organisations: AssetsDefinition
    org_features: AssetsDefinition

    @property
    def all(self) -> list[AssetsDefinition]:
        return [self.domain_profiles, self.organisations, self.org_features]


def build_domain_assets(
    page_spec: WeakSupervisionSpec | None = None,
    org_spec: WeakSupervisionSpec = ORG_SPEC,
    backfill_policy: BackfillPolicy | None = batch_backfill_policy,
) -> DomainAssets:
    """``domain_profiles``, ``organisations`` and ``org_features`` (reading ``page_spec``'s assets)."""
    page_spec = page_spec or WeakSupervisionSpec()

    @asset(
        partitions_def=landing_partitions,
        backfill_policy=backfill_policy,
        group_name="domains",
        kinds={"python", "sql"},
        deps=[
            AssetKey(page_spec.features_asset),
            AssetKey(page_spec.name("lf_votes")),
            AssetKey(page_spec.name("predictions")),
        ],
        required_resource_keys={page_spec.task_resource, "warehouse", "artifacts"},
    )
    def domain_profiles(context: AssetExecutionContext, config: DomainProfileConfig) -> MaterializeResult:
        """What kind of site each domain is: its pages' predictions and LF votes plus domain LFs.

        Per partition: per-domain partials replace the partition's old ones, then only the domains
        it holds are recomputed (warehouse tables ``domain_partials`` and ``domain_profiles``).
        """
        task, wh, store = page_spec.parts(context)
        lfs = build_domain_lfs(task.label_names)
        per_partition = {
            key: _profile_partition(task, wh, store, page_spec, key, lfs, config.domain_lf_weight)
            for key in context.partition_keys
        }
        return MaterializeResult(
            metadata=rollup(per_partition, totals=("pages", "domains_touched", "domains_new"))
        )

    @asset(
        partitions_def=landing_partitions,
        backfill_policy=backfill_policy,
        group_name="organisations",
        kinds={"python", "sql"},
        deps=[AssetKey("raw_pages")],
        required_resource_keys={"warehouse", "artifacts"},
    )
    def organisations(context: AssetExecutionContext) -> MaterializeResult:
        """Who runs each site: names from JSON-LD, og:site_name, copyright/about lines, titles, domain.

        Sites sharing a normalised organisation name are one organisation (tables ``org_evidence``,
        ``organisation_domains``, ``organisations``). Text-only pages give what their text allows.
        """
        wh, store = context.resources.warehouse.get(), context.resources.artifacts.get()
        per_partition = {key: _organisations_partition(wh, store, key) for key in context.partition_keys}
        return MaterializeResult(
            metadata=rollup(per_partition, totals=("pages", "sites_touched", "organisations_new"))
        )

    @asset(
        name=org_spec.features_asset,
        partitions_def=landing_partitions,
        backfill_policy=backfill_policy,
        group_name=org_spec.group("labeling"),
        kinds={"pandas", "parquet"},
        deps=[organisations, domain_profiles],
        required_resource_keys={"warehouse", "artifacts"},
    )
    def org_features(context: AssetExecutionContext) -> MaterializeResult:
        """One row per organisation behind this partition's sites: what the org-type LFs read.

        ``page_id`` is the organisation id, so the weak-supervision factory runs on it unchanged.
        """
        wh, store = context.resources.warehouse.get(), context.resources.artifacts.get()
        per_partition = {
            key: _org_features_partition(wh, store, org_spec.features_asset, key)
            for key in context.partition_keys
        }
        return MaterializeResult(metadata=rollup(per_partition, totals=("organisations",)))

    return DomainAssets(domain_profiles, organisations, org_features)


@dataclass(frozen=True)
class DomainAndOrgDefinitions:
    """What ``build_domain_and_org_definitions`` adds to ``Definitions``, by role."""

    domains: DomainAssets
    org: TaskAssets
    jobs: list[Any]

    @property
    def assets(self) -> list[Any]:
        """The domain assets and the org-type task's family (its checks included)."""
        return [*self.domains.all, *self.org.all]

    @property
    def per_batch(self) -> list[AssetsDefinition]:
        """What runs with every new batch: domain profiles, organisations, org features, org votes."""
        return [*self.domains.all, self.org.chain.lf_votes]


def build_domain_and_org_definitions(page_spec: WeakSupervisionSpec | None = None) -> DomainAndOrgDefinitions:
    """Assets (and the org-type factory's checks) and jobs to add to ``Definitions``.

    Jobs: ``domains_and_organisations`` (partitioned: domain profiles, organisations, org
    features and org LF votes; run it after the page ``predict`` job), ``train_org_type`` and
    ``predict_org_type``. They need the ``org_task`` resource (``defs/resources.py``).
    """
    domains = build_domain_assets(page_spec, ORG_SPEC)
    org = build_task_assets(ORG_SPEC)
    domains_job = define_asset_job(
        DOMAINS_JOB,
        selection=AssetSelection.assets(*domains.all, org.chain.lf_votes),
        partitions_def=landing_partitions,
        description="Profile the batch's domains, identify their organisations, vote on organisation type.",
    )
    train_job = define_asset_job(
        ORG_TRAIN_JOB,
        selection=AssetSelection.assets(*org.chain.train_assets),
        description="Fit the org-type label model and classifier, gate promotion.",
    )
    predict_job = define_asset_job(
        ORG_PREDICT_JOB,
        selection=AssetSelection.assets(*org.scoring),
        partitions_def=landing_partitions,
        description=(
            "Score the batch's organisations with the org-type champion, check their drift, queue "
            "organisations for annotation."
        ),
    )
    return DomainAndOrgDefinitions(domains, org, [domains_job, train_job, predict_job])
