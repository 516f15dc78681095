"""Finish: verify the restored workload, compare it with the checkpoint, sum it up."""
import re
import time

from actions import checkpoint
from actions import fidelity
from actions.restore.context import Restore
from actions.restore.context import RestoreError
from actions.restore.levels import LEVELS
from actions import sites
from actions import verify

# The restores draas makes (context.restore_id_for, DRILL_ID, standby_id_for).
RESTORE_ID = re.compile(r'^(failover-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}|drill-[a-z0-9]{4,16}|'
                        r'standby-[0-9a-f]{12})$')


def finish(document, checkpoint_id, restore_id):
    """Verify the restored workload (actions.verify) and compare it with the checkpoint
    (actions.fidelity); record and return the restore's summary (counts, timings per level,
    checks passed, measured RTO, achieved RPO, fidelity, users needing action)."""
    r = Restore(document, checkpoint_id, restore_id)
    started = time.monotonic()
    with sites.calls_to(r.site, 'verification'):
        verified = verify.workload(r)
    finished = time.time()
    with sites.calls_to(r.site, 'fidelity report'):
        fidelity_report = fidelity.report(r)
    created_at = checkpoint.checkpoint_time(r.checkpoint_id).timestamp()
    # A planned failover's checkpoint follows the stop: nothing lost.
    age = max(0.0, round(r.state.get('started_at', finished) - created_at, 1))
    # Volumes an array replicates hold what was written until their replica's last sync:
    # their lag, not the checkpoint's age, is what the data lost.
    lags = [x.get('lag_seconds') for x in (r.state.get('replicas') or {}).values()]
    replicated = bool(lags) and None not in lags and len(lags) == len(r.data['volumes'])
    summary = {
        'restore_id': r.restore_id, 'checkpoint_id': r.checkpoint_id,
        'target': r.site, 'project_id': r.project_id,
        'mode': r.state.get('mode'),
        'counts': {k: len(v) for k, v in sorted(r.idmap.items())},
        'levels': [r.state['levels'][lv] for lv in LEVELS if lv in r.state['levels']],
        'verified': verified,
        'verify_seconds': checkpoint.elapsed(started),
        'rto_seconds': round(finished - r.state.get('started_at', finished), 1),
        'rto_target_seconds': r.plan['policy']['rto_minutes'] * 60,
        'rpo_seconds': round(max(lags), 1) if replicated else age,
        'rpo_of': 'replicas' if replicated else 'checkpoint',
        'checkpoint_age_seconds': age,
        'rpo_target_seconds': r.plan['policy']['rpo_minutes'] * 60,
        'fidelity': fidelity_report,
        'users_to_enable': sorted(r.state['users_to_enable']),
        'replaced_servers': r.state.get('replaced_servers', []),
        'finished_at': checkpoint.iso(checkpoint.now()),
    }
    r.state['summary'] = summary
    r.save_state()
    return summary


def compare(document, checkpoint_id=None, restore_id=None):
    """Compare what a restore made with its checkpoint, now (actions.fidelity): the restore
    `restore_id` (default: the failover of the checkpoint; a drill kept with keep, or
    standby-... for a warm standby) of `checkpoint_id` (default: the latest). Returns
    {restore_id, checkpoint_id, resources, fields, differences} (or {error} when the restored
    project cannot be described); changes nothing."""
    if restore_id is not None and not (isinstance(restore_id, str) and
                                       RESTORE_ID.match(restore_id)):
        raise RestoreError('restore_id: expected failover-<checkpoint id>, drill-<id> or '
                           'standby-<id> (a summary\'s restore_id), got %r' % (restore_id,))
    r = Restore(document, checkpoint_id, restore_id)
    if not r.project_id:
        raise RestoreError('restore %s of checkpoint %s has made nothing on %s yet (no '
                           'project in its ID map)' % (r.restore_id, r.checkpoint_id, r.site))
    with sites.calls_to(r.site, 'fidelity report'):
        return dict(fidelity.report(r), restore_id=r.restore_id,
                    checkpoint_id=r.checkpoint_id)
