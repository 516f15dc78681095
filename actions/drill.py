"""Drills: restores into an isolated bubble of the recovery site, verified, then removed.

A drill is a restore (actions/restore/) whose ID is "drill-<id>". It makes a project of its
own and names it, and every resource in it, with the suffix "-drill-<id>"; Neutron resources,
servers and the project carry the tag "draas-restore=drill-<id>" (volumes the same in their
metadata). It never touches the target's users, gives routers no gateway and servers no
floating IP unless the plan names options.drill.external_network, and reads nothing from the
source site: checkpoints keep running meanwhile.

cleanup() removes what a drill made, found by its tag, its ID map and its suffix (never
anything else): each kind removes its own (Kind.remove), in the reverse of the order a restore
makes them; it is safe to run again; the drill's record stays in the checkpoint store with
its summary (the report's measured RTO) and the time it was cleaned.
"""
import re
import time

from openstack import exceptions

from actions import checkpoint
from actions import errors
from actions import plan as plan_mod
from actions import resources
from actions import restore
from actions import sites
from actions import waits

class DrillError(errors.DraasError):
    pass


def drill_id_for(seed):
    """A drill ID from any unique text (the workbook gives its Mistral execution ID)."""
    chars = re.sub('[^a-z0-9]', '', str(seed).lower())[:8]
    if len(chars) < 4:
        raise DrillError('drill_id: cannot make a drill ID of %r' % seed)
    return 'drill-' + chars


def _checkpoints(plan, admin):
    return checkpoint.Checkpoints(checkpoint.open_store(plan['options']['store'], admin),
                                  plan['name'])


class Bubble:
    """What drill `drill_id` made on the target, for the kinds to remove (Kind.remove): its
    tag, its name suffix, its ID map, its projects (tagged or in the ID map, and named with
    the suffix: never another project), the checkpoint data it restored."""

    def __init__(self, admin, checkpoints, drill_id, timeout):
        self.admin, self.drill_id, self.timeout = admin, drill_id, timeout
        self.tag = resources.RESTORE_TAG + drill_id
        self.suffix = '-' + drill_id
        self.idmap = checkpoints.get_restore(drill_id, 'idmap') or {}
        # A member's drill is in the entry's own project (it makes none; never removed).
        member = sites.mode(admin) != sites.ADMIN
        projects = {} if member else {p.id: p for p in admin.identity.projects(tags=self.tag)}
        for pid in () if member else self.idmap.get('project', {}).values():
            found = admin.identity.find_project(pid, ignore_missing=True)
            if found is not None:
                projects[found.id] = found
        self.projects = [p for p in projects.values() if p.name.endswith(self.suffix)]
        self.project_ids = {p.id for p in self.projects}
        try:
            state = checkpoints.get_restore(drill_id, 'state') or {}
            self.data = checkpoints.get_part(state['checkpoint_id'], 'data')
        except (KeyError, checkpoint.StoreError):
            self.data = {}  # the checkpoint is gone (pruned since)

    def made(self, name):
        """Whether a resource named `name` was made by the drill (carries its suffix)."""
        return (name or '').endswith(self.suffix)

    def wait(self, what, listing, done):
        """Poll listing() (one list call per round) until done(items); returns the items."""
        def check():
            items = list(listing())
            return items if done(items) else None
        return waits.until(check, self.timeout, 1, lambda: DrillError(
            '%s of %s: still waiting after %d s' % (what, self.drill_id, self.timeout)))


def _cleanup_one(admin, checkpoints, drill_id, timeout):
    """Delete what drill `drill_id` made on the target, kind by kind in the reverse of the
    order a restore makes them; returns counts per kind."""
    bubble = Bubble(admin, checkpoints, drill_id, timeout)
    deleted, mode = {}, sites.mode(admin)
    for kind in reversed(list(resources.all_kinds().values())):
        if not kind.allowed(mode):
            continue  # a member's drill made none, nor may list them
        count = kind.remove(bubble)
        if count:
            deleted[kind.name] = count
    return deleted


def _left_behind(checkpoints, min_age_minutes):
    """Drills of the plan not cleaned: finished ones (kept), and unfinished ones older than
    `min_age_minutes` (younger ones may still be running). Returns (IDs, skipped IDs)."""
    ids, skipped = [], []
    limit = time.time() - min_age_minutes * 60
    for rid in checkpoints.restores():
        state = checkpoints.get_restore(rid, 'state') or {}
        if not restore.DRILL_ID.match(rid) or state.get('cleaned_at'):
            continue
        if 'summary' in state or state.get('started_at', 0) <= limit:
            ids.append(rid)
        else:
            skipped.append(rid)
    return ids, skipped


def cleanup(document, drill_id=None, min_age_minutes=None, timeout_minutes=10):
    """Remove what a drill made on the target: `drill_id`, or every drill of the plan left
    behind (kept, or whose run died: unfinished and older than `min_age_minutes`, default
    the plan's restore timeout). Returns {cleaned: {drill ID: counts per kind}, skipped,
    seconds}; raises DrillError naming what could not be removed (run it again)."""
    plan = plan_mod.validate(document)
    if drill_id is not None and not (isinstance(drill_id, str) and
                                     restore.DRILL_ID.match(drill_id)):
        raise DrillError('drill_id: expected "drill-" and 4 to 16 lower-case letters or '
                         'digits, got %r' % drill_id)
    if min_age_minutes is None:
        min_age_minutes = plan['options']['restore']['timeout_minutes']
    if not isinstance(min_age_minutes, int) or min_age_minutes < 0:
        raise DrillError('min_age_minutes: expected a number of minutes (0 or more), got %r'
                         % (min_age_minutes,))
    started = time.monotonic()
    site = plan['target']
    admin = sites.connect(site)
    cleaned, failures = {}, []
    with sites.calls_to(site, 'drill cleanup'):
        checkpoints = _checkpoints(plan, admin)
        ids, skipped = ([drill_id], []) if drill_id else _left_behind(checkpoints,
                                                                      min_age_minutes)
        for did in ids:
            try:
                cleaned[did] = _cleanup_one(admin, checkpoints, did, timeout_minutes * 60)
            except (exceptions.SDKException, DrillError) as exc:
                failures.append('%s: %s' % (did, sites.explain(exc, site)
                                            if isinstance(exc, exceptions.SDKException)
                                            else exc))
                continue
            state = checkpoints.get_restore(did, 'state')
            if state is None and not any(cleaned[did].values()):
                continue  # no such drill: leave no record of one
            state = state or {'restore_id': did}
            state['cleaned_at'] = checkpoint.iso(checkpoint.now())
            state['cleanup'] = cleaned[did]
            checkpoints.put_restore(did, 'state', state)
    if failures:
        raise DrillError('drill cleanup on %s did not finish (run draas.drill.cleanup '
                         'again): %s' % (site, '; '.join(failures)))
    return {'cleaned': cleaned, 'skipped': skipped, 'seconds': checkpoint.elapsed(started)}
