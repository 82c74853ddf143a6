"""What distinguishes one weak-supervision task's assets from another's: names, resource, features."""

from dataclasses import dataclass

from dagster import AssetCheckExecutionContext, AssetExecutionContext

from beambell_assets.labeling.task import Task
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse


@dataclass(frozen=True)
class WeakSupervisionSpec:
    prefix: str = ""
    task_resource: str = "task"
    features_asset: str = "page_features"
    group_suffix: str = ""
    #: Whether the task's annotation queue is also exported to Label Studio (its project is
    #: configured for one task's label space: ``Settings.label_studio``).
    label_studio_export: bool = True

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def group(self, base: str) -> str:
        return f"{base}{self.group_suffix}"

    @property
    def resource_keys(self) -> set[str]:
        return {self.task_resource, "warehouse", "artifacts"}

    def task(self, context: AssetExecutionContext | AssetCheckExecutionContext) -> Task:
        """The task, from this spec's task resource."""
        return getattr(context.resources, self.task_resource).get()

    def parts(
        self, context: AssetExecutionContext | AssetCheckExecutionContext
    ) -> tuple[Task, Warehouse, ArtifactStore]:
        res = context.resources
        return self.task(context), res.warehouse.get(), res.artifacts.get()
