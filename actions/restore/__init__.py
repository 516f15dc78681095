"""Restore: rebuild a workload on the target site from a committed checkpoint.

    preflight (dry run: checks the target, returns what would be made, touches nothing)
    -> apply(level) for each of LEVELS, in order -> finish (verify, fidelity, RTO/RPO).

Only the target site is contacted: an unplanned failover works with the source gone.
Every resource made carries its source ID and the restore ID (Neutron/Nova tags, Cinder
metadata) and the ID map (source ID -> target ID) is saved in the checkpoint store (after
each copy; once per level for copies found by their tags), so a re-run of the same restore
finds what exists and creates only what is missing.

One job per module: context (the restore, its documents and ID map), checks (preflight),
levels (the levels runner), standby (warm staging), summary (finish).
"""
from actions.restore.context import DRILL_ID
from actions.restore.context import MODES
from actions.restore.context import Restore
from actions.restore.context import restore_id_for
from actions.restore.context import RestoreError
from actions.restore.context import standby_id_for
from actions.restore.context import StoppedByRequest
from actions.restore.levels import apply
from actions.restore.levels import check_stop_after
from actions.restore.levels import LEVELS
from actions.restore.checks import preflight
from actions.restore.standby import stage
from actions.restore.summary import compare
from actions.restore.summary import finish

__all__ = ['DRILL_ID', 'MODES', 'Restore', 'restore_id_for', 'RestoreError', 'standby_id_for',
           'StoppedByRequest', 'apply', 'check_stop_after', 'LEVELS', 'preflight', 'stage',
           'finish', 'compare']
