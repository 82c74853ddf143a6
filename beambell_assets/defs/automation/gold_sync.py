"""label_studio_gold_sensor: Label Studio annotations -> a gold-sync run, once per change set.

Every ``interval`` seconds it reads the project's current annotations (one JSON export) and
fingerprints them (annotation id, ``updated_at`` and label per page). A new fingerprint -- an
annotation added, changed or deleted -- requests one run of the gold job (``label_studio_gold``,
then ``stateful_lfs``) with the fingerprint as run key and cursor, so each change set is synced
exactly once and is visible in the UI; an unchanged project is a skip.
"""

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from beambell_assets.defs.automation.dagster_names import AssetJob
from beambell_assets.defs.resources import LabelStudioResource, TaskResource
from beambell_assets.feedback.label_studio import fetch_annotations

GOLD_SYNC_JOB = "label_studio_gold_sync"


def build_label_studio_gold_sensor(
    gold_job: AssetJob,
    interval_s: int = 60,
    name: str = "label_studio_gold_sensor",
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> SensorDefinition:
    @sensor(
        name=name,
        job=gold_job,
        minimum_interval_seconds=interval_s,
        default_status=default_status,
        description="Sync new, changed and deleted Label Studio annotations into gold_labels.",
    )
    def label_studio_gold_sensor(
        context: SensorEvaluationContext, task: TaskResource, label_studio: LabelStudioResource
    ) -> SensorResult | SkipReason:
        if not label_studio.configured:
            return SkipReason("Label Studio is not configured (BEAMBELL_LABEL_STUDIO_URL / _TOKEN)")
        current = task.get()
        client = label_studio.client()
        project_id = label_studio.project(client, current)
        batch = fetch_annotations(client, project_id, current)
        fingerprint = f"{project_id}:{batch.fingerprint()}"
        if fingerprint == context.cursor:
            return SkipReason(f"no annotation changed in project {project_id} ({len(batch.records)} labels)")
        return SensorResult(
            run_requests=[
                RunRequest(
                    run_key=f"ls-gold:{fingerprint}",
                    tags={
                        "beambell/trigger": "label_studio",
                        "beambell/reason": f"{len(batch.records)} annotated pages in project {project_id}",
                    },
                )
            ],
            cursor=fingerprint,
        )

    return label_studio_gold_sensor
