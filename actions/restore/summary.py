"""Finish: verify the restored workload, compare it with the checkpoint, sum it up."""
import time

from actions import checkpoint
from actions import fidelity
from actions.restore.context import Restore
from actions.restore.levels import LEVELS
from actions import sites
from actions import verify


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
        'rpo_seconds': round(r.state.get('started_at', finished) - created_at, 1),
        'rpo_target_seconds': r.plan['policy']['rpo_minutes'] * 60,
        'fidelity': fidelity_report,
        'users_to_enable': sorted(r.state['users_to_enable']),
        'replaced_servers': r.state.get('replaced_servers', []),
        'finished_at': checkpoint.iso(checkpoint.now()),
    }
    r.state['summary'] = summary
    r.save_state()
    return summary
