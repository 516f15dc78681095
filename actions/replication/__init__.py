"""Data movers: copy what a workload's data needs to the recovery site.

images.copy_images() copies the images servers boot from (by hash, skipping copies already
there); volumes.replicate() runs a policy's volume replication method and returns, per volume,
what a restore on the target needs.
"""
