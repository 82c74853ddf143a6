"""One partition per landed batch file; the key is the file name (see ``ingest/contract.py``).

Partitioned assets loop over ``context.partition_keys``: a backfill groups up to
``BACKFILL_PARTITIONS_PER_RUN`` partitions into one run, so 30 historical batches cost three run
start-ups (imports, resource set-up, loading the LF models) instead of thirty.
"""

import warnings

from dagster import BackfillPolicy, BetaWarning, DynamicPartitionsDefinition

# `backfill_policy=` on @asset is marked beta in Dagster 1.13; the behaviour we rely on is tested
# (tests/integration/test_backfill.py), so the warning at every import is noise.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

landing_partitions = DynamicPartitionsDefinition(name="landing_batches")

BACKFILL_PARTITIONS_PER_RUN = 10
batch_backfill_policy = BackfillPolicy.multi_run(max_partitions_per_run=BACKFILL_PARTITIONS_PER_RUN)
