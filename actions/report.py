"""The DR report: per plan, RPO achieved now and RTO last measured, against the policy.

Read from the checkpoint store at each plan's recovery site only (the source may be gone):
- RPO: now minus the creation time of the last committed checkpoint (what a failover now would
  lose), against the policy's rpo_minutes;
- RTO: the measured RTO of the last finished drill or failover, against rto_minutes; its
  status: ok, violated, unproven (the newest drill or failover failed), stale (the last
  proof is older than the policy's drill_days) or untested;
- schedule: the longest time between two checkpoints the policy's schedule starts, against
  rpo_minutes (longer, and the RPO is violated before every checkpoint);
- checkpoints: how many, their metadata size, the retention; drift: resources added, removed
  and changed between the last two checkpoints.
"""
import argparse
import datetime
import html
import json
import sys

from actions import checkpoint
from actions import cron
from actions import errors
from actions import plan as plan_mod
from actions.replication import adapters
from actions import sites

DRIFT_IGNORED = ('status', 'updated_at', 'revision_number')  # not a change of the workload


def drift(old, new):
    """{kind: {added, removed, changed}} (names) between two checkpoints' resources."""
    out = {}
    for kind in sorted(set(old) | set(new)):
        before = {d['id']: d for d in old.get(kind, [])}
        after = {d['id']: d for d in new.get(kind, [])}

        def name(d):
            return d.get('name') or d['id']

        def same(a, b):
            return ({k: v for k, v in a.items() if k not in DRIFT_IGNORED} ==
                    {k: v for k, v in b.items() if k not in DRIFT_IGNORED})
        change = {'added': sorted(name(after[i]) for i in set(after) - set(before)),
                  'removed': sorted(name(before[i]) for i in set(before) - set(after)),
                  'changed': sorted(name(after[i]) for i in set(after) & set(before)
                                    if not same(before[i], after[i]))}
        if any(change.values()):
            out[kind] = change
    return out


def _restores(checkpoints, now, timeout_seconds):
    """The plan's drills and failovers that ended, {restore ID: entry}: its summary when it
    finished; {restore_id, checkpoint_id, failed, started_at} when it ended without one (a
    drill removed by its cleanup, or anything older than the restore timeout). One still
    running is not counted yet."""
    out = {}
    for rid in checkpoints.restores():
        if not rid.startswith(('drill-', 'failover-')):
            continue  # a warm standby's staging proves no RTO
        state = checkpoints.get_restore(rid, 'state') or {}
        started = state.get('started_at')
        if started is None:
            continue
        if state.get('summary'):
            out[rid] = dict(state['summary'], started_at=started)
        elif state.get('cleaned_at') or now.timestamp() - started > timeout_seconds:
            out[rid] = {'restore_id': rid, 'checkpoint_id': state.get('checkpoint_id'),
                        'failed': True, 'started_at': started}
    return out


def _newest(entries):
    return max(entries, key=lambda e: e['started_at']) if entries else None


def rto_status(restores, target_seconds, drill_days, now):
    """ok, violated, unproven (the newest drill or failover failed), stale (the newest
    proof is older than drill_days) or untested."""
    newest = _newest(list(restores.values()))
    if newest is None:
        return 'untested'
    if newest.get('failed'):
        return 'unproven'
    if newest['rto_seconds'] > target_seconds:
        return 'violated'
    if now.timestamp() - newest['started_at'] > drill_days * 86400:
        return 'stale'
    return 'ok'


def replicas(plan, data, checkpoint_age, target):
    """{replicas, rpo_seconds, rpo_of, rpo_ok} of a plan whose volumes an array replicates:
    each replica's state and lag as the recovery site's array tells them now; when every
    volume is replicated, the RPO is their largest lag (the checkpoint's age is the
    metadata's). {} for other plans."""
    replicated = {vid: d['replica'] for vid, d in ((data or {}).get('volumes') or {}).items()
                  if d.get('method') == 'replication' and 'replica' in d}
    if not replicated:
        return {}
    try:
        with sites.calls_to(plan['target'], 'replication adapter'):
            states = adapters.load(plan).status(replicated)
    except errors.DraasError as exc:
        return {'replicas': {'error': str(exc)}, 'rpo_ok': False}
    found = {vid: {'state': s.get('state'), 'lag_seconds': s.get('lag_seconds')}
             for vid, s in states.items()}
    lags = [s['lag_seconds'] for s in found.values()]
    healthy = all(s['state'] == 'replicating' for s in found.values())
    if None in lags or len(replicated) < len(data['volumes']):
        return {'replicas': found, 'rpo_ok': checkpoint_age <= target and healthy}
    return {'replicas': found, 'rpo_seconds': max(lags), 'rpo_of': 'replicas',
            'checkpoint_age_seconds': checkpoint_age,
            'rpo_ok': max(lags) <= target and healthy}


def plan_report(document, now=None):
    """The report of one plan (a small JSON-able dict)."""
    plan = plan_mod.validate(document)
    now = now or checkpoint.now()
    policy = plan['policy']
    site = plan['target']
    with sites.calls_to(site, 'checkpoint store'):
        admin = sites.connect(site)
        checkpoints = checkpoint.Checkpoints(
            checkpoint.open_store(plan['options']['store'], admin), plan['name'])
        manifests, damaged = [], []
        for cid in checkpoints.list():
            try:
                manifests.append(checkpoints.manifest(cid))
            except checkpoint.StoreError:
                damaged.append(cid)  # unsigned, signed with another key, unreadable
        resources, newest_data = [], None
        while manifests and len(resources) < 2:  # the newest two whole ones
            m = manifests[-1 - len(resources)]
            try:
                parts = (checkpoints.read(m['checkpoint_id'])[1] if not resources else
                         {'resources': checkpoints.get_part(m['checkpoint_id'], 'resources',
                                                            m['parts']['resources'])})
            except checkpoint.StoreError:
                damaged.append(m['checkpoint_id'])  # a part changed or gone
                manifests.remove(m)
                continue
            resources.insert(0, parts['resources']['resources'])
            newest_data = newest_data or parts.get('data')
            if len(manifests) < 2:
                break
        ids = [m['checkpoint_id'] for m in manifests]
        restores = _restores(checkpoints, now,
                             plan['options']['restore']['timeout_minutes'] * 60)
    out = {'plan': plan['name'], 'source': plan['source'], 'target': site,
           'policy': policy['name'], 'at': checkpoint.iso(now),
           'rpo_target_seconds': policy['rpo_minutes'] * 60,
           'rto_target_seconds': policy['rto_minutes'] * 60,
           'checkpoints': {'count': len(ids),
                           'metadata_bytes': sum(p['size'] for m in manifests
                                                 for p in m['parts'].values()),
                           'volume_gib': sum(v.get('size') or 0
                                             for v in resources[-1].get('volume', []))
                           if resources else 0,
                           # creation times (retention keeps the list short)
                           'times': [checkpoint.iso(checkpoint.checkpoint_time(c))
                                     for c in ids],
                           'retention': policy['retention'],
                           # not counted: a restore refuses them (README "Checkpoints")
                           'damaged': sorted(damaged)}}
    if ids:
        last = checkpoint.checkpoint_time(ids[-1])
        out['last_checkpoint'] = {'checkpoint_id': ids[-1], 'created_at': checkpoint.iso(last),
                                  'consistency': manifests[-1].get('consistency'),
                                  # per server: actions/replication/consistency.py
                                  'servers': manifests[-1].get('server_consistency', {})}
        out['rpo_seconds'] = round((now - last).total_seconds(), 1)
        out['rpo_ok'] = out['rpo_seconds'] <= out['rpo_target_seconds']
        out.update(replicas(plan, newest_data, out['rpo_seconds'], out['rpo_target_seconds']))
    else:
        out['last_checkpoint'] = None
        out['rpo_seconds'] = None
        out['rpo_ok'] = False  # nothing to recover from
    # A schedule firing less often than the RPO cannot hold it, however fast checkpoints are.
    out['schedule_gap_seconds'] = cron.longest_gap_minutes(policy['schedule']) * 60
    out['schedule_ok'] = out['schedule_gap_seconds'] <= out['rpo_target_seconds']
    out['drift'] = drift(resources[0], resources[1]) if len(resources) == 2 else {}
    for kind in ('drill', 'failover'):
        entry = _newest([e for rid, e in restores.items() if rid.startswith(kind + '-')])
        out['last_' + kind] = entry and dict(
            {k: entry.get(k) for k in ('restore_id', 'checkpoint_id')},
            started_at=checkpoint.iso(datetime.datetime.fromtimestamp(
                entry['started_at'], datetime.timezone.utc)),
            **({'failed': True} if entry.get('failed') else {
                'finished_at': entry['finished_at'], 'rto_seconds': entry['rto_seconds']}))
    latest = _newest([e for e in restores.values() if not e.get('failed')])
    out['rto_seconds'] = latest['rto_seconds'] if latest else None
    out['rto_status'] = rto_status(restores, out['rto_target_seconds'],
                                   policy['drill_days'], now)
    out['rto_ok'] = out['rto_status'] == 'ok'
    return out


def duration(seconds):
    if seconds is None:
        return '-'
    seconds = int(seconds)
    if seconds < 120:
        return '%ds' % seconds
    if seconds < 7200:
        return '%dm' % (seconds // 60)
    return '%dh%02dm' % (seconds // 3600, seconds % 3600 // 60)


def table(reports):
    """A plain-text table of plan reports (the operator's view)."""
    header = ('PLAN', 'POLICY', 'LAST CHECKPOINT', 'CONSISTENCY', 'RPO (TARGET)',
              'RTO (TARGET)', 'CHECKPOINTS', 'DRIFT', 'STATUS')
    rows = [header]
    for r in reports:
        if 'error' in r:
            rows.append((r['plan'],) + ('-',) * 7 + ('ERROR: ' + r['error'],))
            continue
        drift_text = ', '.join(
            '%s +%d -%d ~%d' % (k, len(v['added']), len(v['removed']), len(v['changed']))
            for k, v in sorted(r['drift'].items())) or 'none'
        status = [] if r['rpo_ok'] else ['RPO VIOLATED' if r['last_checkpoint']
                                         else 'NO CHECKPOINT']
        bad = sorted('%s %s' % (vid, s['state']) for vid, s in r.get('replicas', {}).items()
                     if vid != 'error' and s['state'] != 'replicating')
        if bad or 'error' in r.get('replicas', {}):
            status.append('REPLICAS: %s' % (', '.join(bad) or r['replicas']['error']))
        if not r['schedule_ok']:
            status.append('SCHEDULE GAP %s > RPO' % duration(r['schedule_gap_seconds']))
        if not r['rto_ok']:
            status.append('RTO ' + r['rto_status'].upper())
        if r['checkpoints']['damaged']:
            status.append('%d DAMAGED' % len(r['checkpoints']['damaged']))
        rows.append((r['plan'], r['policy'],
                     (r['last_checkpoint'] or {}).get('created_at', '-'),
                     (r['last_checkpoint'] or {}).get('consistency') or '-',
                     '%s (%s)' % (duration(r['rpo_seconds']),
                                  duration(r['rpo_target_seconds'])),
                     '%s (%s)' % (duration(r['rto_seconds']),
                                  duration(r['rto_target_seconds'])),
                     '%d, %d KiB' % (r['checkpoints']['count'],
                                     r['checkpoints']['metadata_bytes'] // 1024),
                     drift_text, ', '.join(status) or 'OK'))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    return '\n'.join('  '.join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in rows)


def _timeline(r, width=640, height=120):
    """An SVG plot of one plan's RPO over time: it grows from each checkpoint until the
    next; the dashed line is the target."""
    now = datetime.datetime.strptime(r['at'], '%Y-%m-%dT%H:%M:%SZ')
    times = [datetime.datetime.strptime(t, '%Y-%m-%dT%H:%M:%SZ')
             for t in r['checkpoints']['times']]
    target = r['rpo_target_seconds']
    start = min(times + [now - datetime.timedelta(seconds=2 * target)])
    span = max((now - start).total_seconds(), 1)
    top = max([target * 1.5] + [(b - a).total_seconds() for a, b in
                                zip(times, times[1:] + [now])])

    def x(t):
        return 10 + (width - 20) * (t - start).total_seconds() / span

    def y(seconds):
        return height - 10 - (height - 20) * seconds / top
    points, last = [], None
    for t in sorted(times) + [now]:
        if last is not None:
            points += ['%.1f,%.1f' % (x(t), y((t - last).total_seconds()))]
        if t != now:
            points += ['%.1f,%.1f' % (x(t), y(0))]
        last = t
    ticks = ''.join('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#36c"/>' % (
        x(t), x(t), height - 10, height - 4) for t in times)
    return ('<svg width="%d" height="%d" role="img"><title>RPO of %s</title>'
            '<line x1="10" x2="%d" y1="%.1f" y2="%.1f" stroke="#c33" stroke-dasharray="4"/>'
            '<polyline fill="none" stroke="#333" points="%s"/>%s</svg>' % (
                width, height, html.escape(r['plan']), width - 10, y(target), y(target),
                ' '.join(points), ticks))


def html_page(result):
    """A self-contained HTML page of a report(): the table, and per plan a timeline of
    its checkpoints and RPO against the target."""
    parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>draas DR report'
             '</title></head><body style="font-family:sans-serif">',
             '<h1>DR report</h1><pre>%s</pre>' % html.escape(result['table'])]
    for r in result['plans']:
        if 'error' in r or not r['checkpoints']['times']:
            continue
        parts.append('<h2>%s (%s, RPO target %s)</h2>%s' % (
            html.escape(r['plan']), html.escape(r['policy']),
            duration(r['rpo_target_seconds']), _timeline(r)))
    parts.append('</body></html>')
    return '\n'.join(parts)


def report(documents):
    """The report of every plan given: {plans: [...], table, violations}. A plan that
    cannot be read gets a row with its error; the others are still reported."""
    if not isinstance(documents, list) or not documents:
        raise errors.DraasError('plans: expected a non-empty list of plans (objects, YAML '
                                'text or "<name>@<site>"), got %r' % (documents,))
    reports = []
    for doc in documents:
        try:
            reports.append(plan_report(doc))
        except errors.DraasError as exc:
            name = doc if isinstance(doc, str) else (doc or {}).get('name', '?')
            reports.append({'plan': str(name)[:80], 'error': str(exc)})
    violations = sum(1 for r in reports if 'error' in r
                     or not (r['rpo_ok'] and r['rto_ok'] and r['schedule_ok']))
    return {'plans': reports, 'table': table(reports), 'violations': violations}


def main(argv=None):
    """draas-report: the DR report of plans, from where this runs (clouds.yaml)."""
    parser = argparse.ArgumentParser(prog='draas-report', description=main.__doc__)
    parser.add_argument('plans', nargs='+', help='plan files (YAML: a plan or a list, as '
                        'for draas-install --plans) or references "<name>@<site>"')
    parser.add_argument('--json', action='store_true', help='print the JSON report')
    parser.add_argument('--html', metavar='FILE',
                        help='also write an HTML page with a timeline of checkpoints and RPO')
    args = parser.parse_args(argv)
    from actions import install  # plan files are read as the installer reads them
    try:
        plans = []
        for item in args.plans:
            if plan_mod.REFERENCE.match(item):
                plans.append(item)
            else:
                plans += install.load_plans(item)
        result = report(plans)
    except (OSError, errors.DraasError) as exc:
        print('draas-report: %s' % exc, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else result['table'])
    if args.html:
        with open(args.html, 'w') as f:
            f.write(html_page(result))
    return 1 if result['violations'] else 0
