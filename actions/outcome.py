"""How a run ended, in a few short lines (what happened, RTO and RPO, what to do next): the
first key ("outcome") of the outputs of draas' main workflows, so that it is what Horizon's
output view and `openstack workflow execution output show` show first, one line each (a long
line would run out of Horizon's box). The details follow it."""
from actions.report import duration

FAILOVER = {'unplanned': 'an unplanned failover', 'planned': 'a planned failover',
            'drill': 'a drill'}


def sites(report):
    names = ', '.join(sorted(report['sites']))
    paths = []
    for pair, found in sorted(report.get('data_paths', {}).items()):
        source, target = pair.split(' -> ')
        probe = found['backup']
        if probe['readable']:
            paths.append('Backups of %s are readable at %s without it (probed %s).' % (
                source, target, probe['checked_at']))
        elif probe['readable'] is None:
            paths.append('Backups of %s at %s: %s.' % (source, target, probe['reason']))
        else:
            paths.append('Backups of %s are NOT readable at %s (%s): plans %s use '
                         'replication "image".' % (source, target, probe['reason'], pair))
    if report['healthy']:
        return ['Sites %s are healthy: every core service answered.' % names] + paths
    return ['Sites %s are not healthy:' % names] + report['problems'] + paths + [
        'Next: fix this before a failover.']


def _counts(counts):
    """What an operator counts first: servers and volumes, then everything."""
    return '%d servers, %d volumes, %d resources in all' % (
        counts.get('server', 0), counts.get('volume', 0), sum(counts.values()))


def checkpoint(plan, commit):
    lines = ['Checkpoint %s of plan %s committed' % (commit['checkpoint_id'], plan['name']),
             'at %s. It holds %s.' % (plan['target'], _counts(commit['counts'])),
             'Consistency: %s%s.' % (commit['consistency'], ' (servers: %s)' % ', '.join(
                 '%d %s' % (n, level) for level, n in sorted(
                     commit['servers_by_consistency'].items()))
                 if commit['servers_by_consistency'] else '')]
    if commit.get('not_protected'):
        lines.append('Member credentials at %s: not protected: %s.' % (
            plan['source'], ', '.join(k.replace('_', ' ') + 's'
                                      for k in sorted(commit['not_protected']))))
    if commit.get('pruned'):
        lines.append('Retention removed %d older checkpoints.' % len(commit['pruned']))
    return lines + ['Next: a drill (draas.drill.drill) proves that it restores.']


def preflight(plan, result, mode):
    """A dry run's: what the restore would do."""
    create = sum(c['create'] for c in result['counts'].values())
    warnings = result['warnings']
    return ['Dry run of %s of plan %s to %s:' % (FAILOVER[mode], plan['name'], plan['target']),
            'it would restore checkpoint %s (taken %s),' % (
                result['checkpoint_id'], result['checkpoint_created_at']),
            'creating %d resources, with %d warnings%s' % (
            create, len(warnings), ', first: %s.' % warnings[0] if warnings else '.'),
        'Nothing was changed. Next: run it without dry_run.']


def _against(name, seconds, target):
    return '%s %s (target %s%s)' % (name, duration(seconds), duration(target),
                                    ', MISSED' if seconds > target else '')


def restore(plan, summary):
    """A finished restore's: a failover, a failback (a planned failover of the reverse
    plan) or a drill."""
    rpo = _against('RPO', summary['rpo_seconds'], summary['rpo_target_seconds'])
    if summary.get('rpo_of') == 'replicas':
        rpo += ', the replicas\' lag (the metadata: the checkpoint of %s before)' % duration(
            summary['checkpoint_age_seconds'])
    times = '%s, %s.' % (_against('RTO', summary['rto_seconds'],
                                  summary['rto_target_seconds']), rpo)
    restored = 'Restored and verified: %s.' % _counts(summary['counts'])
    if summary['mode'] == 'drill':
        return ['Drill %s of plan %s passed.' % (summary['restore_id'], plan['name']),
                'Checkpoint %s restored in a bubble at %s.' % (summary['checkpoint_id'],
                                                               summary['target']),
                restored, times, 'Its bubble is removed next unless kept.']
    lines = ['Failover (%s) of plan %s to %s done.' % (summary['mode'], plan['name'],
                                                        summary['target']),
             'Checkpoint %s restored.' % summary['checkpoint_id'], restored, times]
    if summary['users_to_enable']:
        lines.append('Enable its users at %s: %s.' % (summary['target'],
                                                      ', '.join(summary['users_to_enable'])))
    return lines + ['Next: check the workload at %s;' % summary['target'],
                    'once %s is back, draas.failback.reprotect, then draas.failback.failback.'
                    % plan['source']]


def report(result):
    plans = result['plans']
    bad = [r['plan'] + (': ' + r['error'] if 'error' in r else '') for r in plans
           if 'error' in r or not (r['rpo_ok'] and r['rto_ok'] and r['schedule_ok'])]
    if not bad:
        return ['%d plans, all within their policy.' % len(plans)]
    return ['%d plans, %d not within their policy (the table says why):' % (
        len(plans), len(bad))] + bad


def verified(plan, result):
    return ['Checkpoint %s of plan %s is intact:' % (result['checkpoint_id'], plan['name']),
            'its %d parts match their manifest.' % len(result['parts'])]


def pruned(plan, result):
    lines = ['Retention of plan %s removed %d checkpoints and keeps %d.' % (
        plan['name'], len(result['pruned']), len(result['kept']))]
    if result['pending_deletions']:
        lines.append('%d deletions wait for their backups to be free; the next run retries.'
                     % result['pending_deletions'])
    return lines


def cleaned(plan, result):
    removed = sum(sum(counts.values()) for counts in result['cleaned'].values())
    return ['Drill cleanup of plan %s removed %d resources of %d drills%s.' % (
        plan['name'], removed, len(result['cleaned']),
        ' (left alone, too recent: %s)' % ', '.join(result['skipped'])
        if result['skipped'] else '')]
