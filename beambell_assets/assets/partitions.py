"""One partition per landed batch file; the key is the file name without its extension."""

from dagster import DynamicPartitionsDefinition

landing_partitions = DynamicPartitionsDefinition(name="landing_batches")
