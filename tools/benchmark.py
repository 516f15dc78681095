"""draas benchmark: what a checkpoint and a failover cost as the workload grows (issue 7).

    tools/bench [--sizes 10,50,200] [--volume-every 10] [--checkpoints-only]
                [--replication backup|image|replication] [--member] [--out results]

Not a test: it runs on the lab (tools/lab up) and takes minutes per size. For each size N:

1. builds a workload of N servers on site-a in a project of its own: one network, and per
   server a port and a security group of its own; every `volume-every`-th server also has a
   1 GiB volume attached;
2. export: draas' discovery alone (wall time, API requests by service), and the floor: a
   plain openstacksdk script making only one list call per resource kind, in the same run;
3. checkpoints: draas.checkpoint.create through Mistral (wall time, task executions), three
   times: root disks not kept (root_disk base_image), kept (snapshot: every disk's bytes
   sent), kept again with nothing changed (no bytes sent);
4. with --replication replication (volumes of type "replicated", the lab's array and
   adapter): the replicas' lag, sampled every 0.5 s for 20 s at site-b's array while every
   volume takes a 4 KiB write each 50 ms;
5. failover: draas.failover.failover (unplanned) through Mistral (wall time, seconds and API
   requests per level, task executions);
6. baseline: N servers booted on site-b straight with openstacksdk, all at once (the
   target's own throughput), and failover / baseline;
7. memory: peak RSS of draas' export and of a restore's servers level (re-run: nothing left
   to make), each in a child process;
8. CPU: the CPU seconds of the busiest lab processes during the failover and the baseline;
then removes all of it (--checkpoints-only: steps 1 to 3). --member: a project member's
credentials at both sites (site-a-demo, site-b-demo): the workload in project demo, volume
data by the image method, no export floor (an admin's lists). Writes results.json, results.md
and results.png (time and requests against N) into <out>/<date>/, with the machine, the
versions and the date.
"""
import argparse
import collections
import concurrent.futures
import datetime
import glob
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import openstack  # noqa: E402

from actions import checkpoint  # noqa: E402
from actions import discovery  # noqa: E402
from actions import install  # noqa: E402
from actions import plan as plan_mod  # noqa: E402
from tests.functional import workload  # noqa: E402

# Restores run here read checkpoints as the lab's executor does: with its manifest key.
os.environ['DRAAS_MANIFEST_KEY_FILE'] = os.path.join(workload.LAB, 'mistral', 'manifest.key')
POOL = 16  # requests at once when building and in the baseline
BOOT_TIMEOUT = 1800


def log(start, text):
    print('[bench %6.1fs] %s' % (time.monotonic() - start, text), flush=True)


def in_parallel(function, items):
    with concurrent.futures.ThreadPoolExecutor(POOL) as pool:
        return list(pool.map(function, items))


def boot(conn, names, network_id, image_id, flavor_id, ports=None):
    """Create the servers all at once, then wait for every one to be ACTIVE (one list call
    per round, as a restore waits: a GET per server and second would load Nova itself)."""
    def create(i):
        nic = {'port': ports[i].id} if ports else {'uuid': network_id}
        return conn.compute.create_server(name=names[i], image_id=image_id,
                                          flavor_id=flavor_id, networks=[nic])
    servers = in_parallel(create, range(len(names)))
    pending = {s.id for s in servers}
    deadline = time.monotonic() + BOOT_TIMEOUT
    while pending:
        states = {s.id: s.status for s in conn.compute.servers() if s.id in pending}
        failed = [i for i, status in states.items() if status == 'ERROR']
        if failed:
            raise RuntimeError('servers went to ERROR: %s' % ', '.join(failed))
        pending -= {i for i, status in states.items() if status == 'ACTIVE'}
        if pending and time.monotonic() > deadline:
            raise RuntimeError('%d servers not ACTIVE after %d s' % (len(pending),
                                                                     BOOT_TIMEOUT))
        time.sleep(2 if pending else 0)
    return servers


def small_image(conn, name):
    path = os.path.join(workload.LAB, 'sample-image.raw')
    if not os.path.exists(path):
        with open(path, 'wb') as f:
            f.write(workload.content_for('draas-sample-image', 1 << 20))
    return conn.image.create_image(name=name, filename=path, disk_format='raw',
                                   container_format='bare', wait=True)


def project_with_network(cloud, name, entry=None):
    """A new project with a network, an image and the flavor servers use there (with
    `entry`, a member's clouds.yaml entry: in its project); returns (project connection,
    network, image, flavor)."""
    if entry:
        c = openstack.connect(cloud=entry)
    else:
        admin = openstack.connect(cloud=cloud)
        project = admin.identity.create_project(name=name, domain_id='default')
        admin.identity.assign_project_role_to_user(project, admin.current_user_id,
                                                   admin.identity.find_role('admin'))
        c = workload.project_conn(cloud, name)
    net = c.network.create_network(name=name + '-net')
    c.network.create_subnet(network_id=net.id, ip_version=4, cidr='10.20.0.0/16',
                            name=name + '-subnet')
    return c, net, small_image(c, name + '-image'), c.compute.find_flavor('m1.tiny')


def build(name, n, volume_every, entry=None, volume_type=None):
    """The workload of N servers on site-a, in project `name` (or `entry`'s), its volumes
    of `volume_type` (default: the site's)."""
    c, net, image, flavor = project_with_network('site-a', name, entry)

    def sg_and_port(i):
        sg = c.network.create_security_group(name='%s-sg-%d' % (name, i))
        c.network.create_security_group_rule(security_group_id=sg.id, direction='ingress',
                                             protocol='tcp', port_range_min=22,
                                             port_range_max=22)
        return c.network.create_port(network_id=net.id, security_group_ids=[sg.id])
    ports = in_parallel(sg_and_port, range(n))
    names = ['%s-vm-%d' % (name, i) for i in range(n)]
    servers = boot(c, names, net.id, image.id, flavor.id, ports)
    with_volume = servers[::volume_every]
    typed = {'volume_type': volume_type} if volume_type else {}
    volumes = in_parallel(lambda s: c.block_storage.create_volume(
        size=1, name=s.name + '-data', **typed), with_volume)
    volumes = in_parallel(lambda v: workload.wait_status(
        lambda: c.block_storage.get_volume(v.id), 'available', what='volume'), volumes)
    for server, volume in zip(with_volume, volumes):
        c.compute.create_volume_attachment(server, volume_id=volume.id)
    in_parallel(lambda v: workload.wait_status(
        lambda: c.block_storage.get_volume(v.id), 'in-use', what='volume'), volumes)
    return {'servers': n, 'volumes': len(volumes), 'security_groups': n, 'ports': n,
            'volume_ids': [v.id for v in volumes]}


def replication_lag(volume_ids, seconds=20, every=0.05, block=4096):
    """The replicas' lag as site-b's array tells it (sampled every 0.5 s for `seconds`)
    while each volume takes a `block`-byte write every `every` seconds."""
    stop, samples = threading.Event(), []

    def writer(vid):
        with open(workload.backing_file('site-a', vid), 'r+b') as f:
            i = 0
            while not stop.is_set():
                f.seek((i % 4096) * 65536)  # a new 64 KiB block each time
                f.write(os.urandom(block))
                f.flush()
                i += 1
                time.sleep(every)
    writers = [threading.Thread(target=writer, args=(v,)) for v in volume_ids]
    for w in writers:
        w.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with urllib.request.urlopen('http://127.0.0.1:17480/replicas', timeout=10) as r:
                found = json.loads(r.read())
            samples += [found[v]['lag_seconds'] for v in volume_ids
                        if found.get(v, {}).get('lag_seconds') is not None]
            time.sleep(0.5)
    finally:
        stop.set()
        for w in writers:
            w.join()
    return {'volumes': len(volume_ids), 'writes_per_second': round(len(volume_ids) / every),
            'samples': len(samples), 'lag_max': max(samples),
            'lag_mean': round(statistics.mean(samples), 3),
            'lag_p95': sorted(samples)[int(len(samples) * 0.95)]}


def floor_export(project_name):
    """The plain script: one list call per resource kind, one after the other."""
    c = openstack.connect(cloud='site-a', timing=True)
    started = time.monotonic()
    project = c.identity.find_project(project_name)
    servers = list(c.compute.servers(all_projects=True, project_id=project.id))
    list(c.identity.users(domain_id=project.domain_id))
    list(c.identity.role_assignments(scope_project_id=project.id))
    list(c.compute.flavors(is_public=None))
    list(c.compute.keypairs())
    list(c.compute.server_groups(all_projects=True))
    list(c.image.images(id='in:' + ','.join({s.image['id'] for s in servers if s.image})))
    list(c.block_storage.types())
    list(c.block_storage.volumes(all_projects=True, project_id=project.id))
    for call in ('networks', 'subnets', 'security_groups', 'routers', 'ports', 'ips'):
        list(getattr(c.network, call)(project_id=project.id))
    seconds = time.monotonic() - started
    return {'seconds': round(seconds, 3), 'requests': discovery.request_counts(c)}


def draas_export(plan):
    c = openstack.connect(cloud=plan['source'], timing=True)
    started = time.monotonic()
    wl = discovery.discover(c, plan)
    return {'seconds': round(time.monotonic() - started, 3),
            'requests': discovery.request_counts(c), 'counts': wl.counts()}


def peak_rss_mib(code):
    """Peak resident memory (MiB) of a child Python running `code` with draas importable."""
    script = code + ('\nimport resource\nprint("PEAK", resource.getrusage('
                     'resource.RUSAGE_SELF).ru_maxrss)\n')
    out = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return round(int(out.split('PEAK')[-1]) / 1024, 1)


def cpu_seconds():
    """CPU seconds each lab process (with its children: uwsgi workers, forks) has used."""
    tick = os.sysconf('SC_CLK_TCK')
    used, children = {}, collections.defaultdict(list)
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()  # after "pid (name)"
        except (OSError, IndexError):
            continue
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        children[int(fields[1])].append(int(entry))

    def tree(pid):
        return used.get(pid, 0) + sum(tree(child) for child in children[pid])
    out = {}
    for path in glob.glob(os.path.join(workload.LAB, 'pids', '*.pid')):
        with open(path) as f:
            out[os.path.basename(path)[:-4]] = tree(int(f.read().split()[0]))
    out['bench (this process)'] = sum(os.times()[:2])
    return out


def busiest(before, after, top=6):
    """The processes that used most CPU between two cpu_seconds(), {name: seconds}, after
    'all': every lab process and the benchmark (how busy the machine was)."""
    spent = {name: round(after[name] - before.get(name, 0), 1) for name in after}
    return dict([('all', round(sum(spent.values()), 1))] +
                sorted(spent.items(), key=lambda kv: -kv[1])[:top])


def through_mistral(mistral, workflow, inputs, timeout=3600):
    """Run a workflow; its execution, wall seconds and task executions (sub-workflows too)."""
    started = time.monotonic()
    ex = mistral.executions.create(workflow, workflow_input=inputs)
    while ex.state not in ('SUCCESS', 'ERROR', 'CANCELLED'):
        if time.monotonic() - started > timeout:
            raise RuntimeError('%s still %s after %d s' % (workflow, ex.state, timeout))
        time.sleep(1)
        ex = mistral.executions.get(ex.id)
    seconds = time.monotonic() - started
    if ex.state != 'SUCCESS':
        raise RuntimeError('%s: %s %s' % (workflow, ex.state, ex.state_info))

    def tasks(execution_id):
        found = mistral.tasks.list(workflow_execution_id=execution_id)
        return len(found) + sum(tasks(sub.id) for t in found if t.type == 'WORKFLOW'
                                for sub in mistral.executions.list(task=t.id))
    return json.loads(ex.output), round(seconds, 1), tasks(ex.id)


def baseline(n, name):
    """Boot N servers on site-b straight, all at once; seconds from the first request."""
    c, net, image, flavor = project_with_network('site-b', name)
    started = time.monotonic()
    boot(c, ['%s-vm-%d' % (name, i) for i in range(n)], net.id, image.id, flavor.id)
    return round(time.monotonic() - started, 1)


CHECKPOINT_RUNS = (('without root disks', 'base_image'), ('with root disks', 'snapshot'),
                   ('with root disks, unchanged', 'snapshot'))


MEMBERS = {'site-a': 'site-a-demo', 'site-b': 'site-b-demo'}  # of project demo


def run_size(n, volume_every, mistral, start, checkpoints_only=False, replication='backup',
             member=False):
    name = 'bench%d-%x' % (n, int(time.time()))
    result = {'n': n, 'project': name, 'replication': replication,
              'credentials': 'member' if member else 'admin'}
    entries = MEMBERS if member else {'site-a': 'site-a', 'site-b': 'site-b'}
    plan = plan_mod.validate({'name': name, 'source': entries['site-a'],
                              'target': entries['site-b'],
                              'scope': {'project': 'demo' if member else name},
                              'policy': {'name': 'silver', 'replication': replication},
                              'options': {'replication': {'adapter': 'lab'}}})
    store = checkpoint.SwiftStore(openstack.connect(cloud=plan['target']),
                                  'draas-checkpoints')
    try:
        t = time.monotonic()
        result['workload'] = build(name, n, volume_every, member and plan['source'],
                                   'replicated' if replication == 'replication' else None)
        result['build_seconds'] = round(time.monotonic() - t, 1)
        log(start, 'N=%d: workload built in %.0f s' % (n, result['build_seconds']))

        result['export'] = draas_export(plan)
        result['export']['peak_rss_mib'] = peak_rss_mib(
            'import openstack\nfrom actions import discovery, plan\n'
            'discovery.discover(openstack.connect(cloud=%r), plan.validate(%r))' % (
                plan['source'], plan))
        log(start, 'N=%d: export %s requests in %.2f s' % (
            n, result['export']['requests']['total'], result['export']['seconds']))
        if not member:  # the floor lists every project's: an admin's calls
            result['floor'] = floor_export(name)
            log(start, 'N=%d: export floor %s requests in %.2f s' % (
                n, result['floor']['requests']['total'], result['floor']['seconds']))

        result['checkpoints'] = []
        for label, root_disk in CHECKPOINT_RUNS:
            plan['options']['root_disk'] = root_disk
            out, seconds, tasks = through_mistral(mistral, 'draas.checkpoint.create',
                                                  {'plan': plan})
            replicated = out['summary']['replicate']
            result['checkpoints'].append({
                'run': label, 'seconds': seconds, 'task_executions': tasks,
                'snapshot_seconds': out['summary']['snapshot']['seconds'],
                'root_disks': replicated['root_disks'],
                'root_disk_bytes_copied': replicated['root_disk_bytes_copied'],
                'volumes': replicated['volumes'],
                'volume_bytes_copied': replicated['volume_bytes_copied'],
                'summary': out['summary']})
            log(start, 'N=%d: checkpoint %s %.0f s, %d root disks, %d bytes, %d volumes '
                '(%s), %s bytes, %d task executions' % (
                    n, label, seconds, replicated['root_disks'],
                    replicated['root_disk_bytes_copied'], replicated['volumes'], replication,
                    replicated['volume_bytes_copied'], tasks))
        result['checkpoint'] = result['checkpoints'][1]
        if replication == 'replication':
            result['lag'] = replication_lag(result['workload']['volume_ids'])
            log(start, 'N=%d: replication lag under %d writes/s: max %.2f s, mean %.2f s' % (
                n, result['lag']['writes_per_second'], result['lag']['lag_max'],
                result['lag']['lag_mean']))
        if checkpoints_only:
            return result

        cpu = cpu_seconds()
        out, seconds, tasks = through_mistral(mistral, 'draas.failover.failover',
                                              {'plan': plan})
        summary = out['summary']
        result['failover'] = {'seconds': seconds, 'task_executions': tasks,
                              'rto_seconds': summary['rto_seconds'],
                              'levels': summary['levels'],
                              'requests': sum(lv.get('requests', 0)
                                              for lv in summary['levels']),
                              'cpu_seconds': busiest(cpu, cpu_seconds())}
        result['failover']['servers_level_peak_rss_mib'] = peak_rss_mib(
            'from actions import restore\nrestore.apply(%r, %r, %r, "servers")' % (
                plan, summary['checkpoint_id'], summary['restore_id']))
        log(start, 'N=%d: failover %.0f s (RTO %.1f s), %d task executions' % (
            n, seconds, summary['rto_seconds'], tasks))

        # The baseline boots on a site-b as empty as the failover found it: this Nova's
        # boots slow down with the servers already on its one host (N=200 next to the 200
        # restored ones: 93 ACTIVE after 1150 s).
        workload.delete('site-b', name)
        cpu = cpu_seconds()
        result['baseline_seconds'] = baseline(n, name + '-base')
        result['baseline_cpu_seconds'] = busiest(cpu, cpu_seconds())
        servers_level = [lv for lv in summary['levels'] if lv['level'] == 'servers'][0]
        result['failover_vs_baseline'] = round(
            summary['rto_seconds'] / result['baseline_seconds'], 2)
        result['servers_level_vs_baseline'] = round(
            servers_level['seconds'] / result['baseline_seconds'], 2)
        log(start, 'N=%d: baseline boot %.0f s; failover/baseline %.2f' % (
            n, result['baseline_seconds'], result['failover_vs_baseline']))
    finally:
        t = time.monotonic()
        cps = checkpoint.Checkpoints(store, name)
        in_parallel(lambda args: workload.delete(*args),
                    [('site-a', name, member and plan['source']),
                     ('site-b', name, member and plan['target']),
                     ('site-b', name + '-base', None)])
        workload.delete_checkpoints(cps)
        for key in store.list(name + '/'):
            store.delete(key)
        result['cleanup_seconds'] = round(time.monotonic() - t, 1)
        log(start, 'N=%d: cleaned up in %.0f s' % (n, result['cleanup_seconds']))
    return result


def environment():
    versions = {}
    for dist in ('openstacksdk', 'mistral', 'mistral-lib', 'nova', 'neutron', 'cinder',
                 'glance', 'keystone', 'swift'):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    with open('/proc/meminfo') as f:
        mem_kib = int(f.readline().split()[1])
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'machine': {'cpus': os.cpu_count(), 'memory_gib': round(mem_kib / 2 ** 20, 1),
                        'platform': platform.platform(), 'python': platform.python_version()},
            'versions': versions, 'draas_commit': commit}


def markdown(results):
    env = results['environment']
    lines = ['# draas benchmark, %s' % env['date'], '',
             'Machine: %(cpus)d CPUs, %(memory_gib)s GiB, %(platform)s, Python %(python)s.'
             % env['machine'],
             'Versions: %s; draas %s.' % (', '.join('%s %s' % kv for kv in sorted(
                 env['versions'].items())), env['draas_commit']), '',
             '| N | export requests (floor) | export s (floor s) | checkpoint s | '
             'checkpoint tasks | failover s (RTO) | failover requests | failover tasks | '
             'baseline boot s | RTO / baseline | export / servers level peak MiB |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in results['sizes']:
        if 'error' in r:
            lines.append('| %d | failed: %s |' % (r['n'], r['error']))
        if 'failover' not in r:
            continue
        baseline = r.get('baseline_seconds')
        lines.append('| %d | %d (%d) | %.2f (%.2f) | %.0f | %d | %.0f (%.1f) | %d | %d | %s '
                     '| %s | %.0f / %.0f |' % (
                         r['n'], r['export']['requests']['total'],
                         r['floor']['requests']['total'], r['export']['seconds'],
                         r['floor']['seconds'], r['checkpoint']['seconds'],
                         r['checkpoint']['task_executions'], r['failover']['seconds'],
                         r['failover']['rto_seconds'], r['failover']['requests'],
                         r['failover']['task_executions'],
                         '%.0f' % baseline if baseline else r.get('baseline_note', '-'),
                         '%.2f' % r['failover_vs_baseline'] if baseline else '-',
                         r['export']['peak_rss_mib'],
                         r['failover']['servers_level_peak_rss_mib']))
    lines += ['', 'Checkpoints without and with root disks (every server boots from an '
              'image):', '', '| N | run | seconds | snapshot step s | root disks | root disk '
              'bytes sent | volumes (method, credentials) | volume bytes sent |',
              '|---|---|---|---|---|---|---|---|']
    for r in results['sizes']:
        for c in r.get('checkpoints', ()):
            lines.append('| %d | %s | %.0f | %.1f | %d | %d | %s (%s, %s) | %s |' % (
                r['n'], c['run'], c['seconds'], c['snapshot_seconds'], c['root_disks'],
                c['root_disk_bytes_copied'], c.get('volumes', '-'),
                r.get('replication', 'backup'), r.get('credentials', 'admin'),
                c.get('volume_bytes_copied', '-')))
    lags = [r for r in results['sizes'] if 'lag' in r]
    if lags:
        lines += ['', 'Replication lag (site-b\'s array, sampled every 0.5 s for 20 s) '
                  'under writes to every volume:', '',
                  '| N | volumes | writes/s | lag max s | mean s | p95 s |',
                  '|---|---|---|---|---|---|']
        lines += ['| %d | %d | %d | %.2f | %.2f | %.2f |' % (
            r['n'], r['lag']['volumes'], r['lag']['writes_per_second'], r['lag']['lag_max'],
            r['lag']['lag_mean'], r['lag']['lag_p95']) for r in lags]
    lines += ['', 'Failover seconds per level:', '',
              '| N | ' + ' | '.join(lv['level'] for lv in next(
                  (r['failover']['levels'] for r in results['sizes'] if 'failover' in r),
                  [])) + ' |', '|---' * 9 + '|']
    for r in results['sizes']:
        if 'failover' in r:
            lines.append('| %d | ' % r['n'] + ' | '.join(
                '%.1f s, %d req' % (lv['seconds'], lv.get('requests', 0))
                for lv in r['failover']['levels']) + ' |')
    lines += ['', 'CPU seconds of the busiest processes (the machine has %d CPUs):'
              % env['machine']['cpus'], '']
    for r in results['sizes']:
        for what, spent, wall in (
                ('failover', r.get('failover', {}).get('cpu_seconds'),
                 r.get('failover', {}).get('seconds')),
                ('baseline', r.get('baseline_cpu_seconds'), r.get('baseline_seconds'))):
            if spent:
                spent = dict(spent)
                busy = ''
                if 'all' in spent and wall:
                    busy = 'all %.1f in %.0f s = %.0f %% of the CPUs; ' % (
                        spent['all'], wall, 100 * spent.pop('all') / wall /
                        env['machine']['cpus'])
                lines.append('- N=%d, %s: %s%s' % (r['n'], what, busy, ', '.join(
                    '%s %.1f' % kv for kv in spent.items())))
    return '\n'.join(lines) + '\n'


def plot(results, path):
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'matplotlib'],
                       check=True)
        import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    done = [r for r in results['sizes'] if 'failover' in r]
    if not done:  # --checkpoints-only: the table says it all
        return
    ns = [r['n'] for r in done]
    fig, (times, requests) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    for label, values in (
            ('export', [r['export']['seconds'] for r in done]),
            ('export floor', [r['floor']['seconds'] for r in done]),
            ('checkpoint', [r['checkpoint']['seconds'] for r in done]),
            ('failover (RTO)', [r['failover']['rto_seconds'] for r in done]),
            ('baseline boot', [r.get('baseline_seconds') for r in done])):
        points = [(n, v) for n, v in zip(ns, values) if v is not None]
        times.plot([n for n, _ in points], [v for _, v in points], marker='o', label=label)
    times.set(xlabel='servers (N)', ylabel='seconds', title='Wall time')
    times.legend()
    for label, values in (
            ('export', [r['export']['requests']['total'] for r in done]),
            ('export floor', [r['floor']['requests']['total'] for r in done]),
            ('failover', [r['failover']['requests'] for r in done]),
            ('Mistral tasks: checkpoint', [r['checkpoint']['task_executions'] for r in done]),
            ('Mistral tasks: failover', [r['failover']['task_executions'] for r in done])):
        requests.plot(ns, values, marker='o', label=label)
    requests.set(xlabel='servers (N)', ylabel='count', title='API requests, Mistral tasks',
                 yscale='log')
    requests.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='tools/bench', description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='10,50,200',
                        help='numbers of servers, comma-separated (default 10,50,200)')
    parser.add_argument('--volume-every', type=int, default=10,
                        help='every Nth server gets a 1 GiB volume (default 10)')
    parser.add_argument('--checkpoints-only', action='store_true',
                        help='measure the checkpoints only (no failover, no baseline)')
    parser.add_argument('--replication', choices=('backup', 'image', 'replication'),
                        default='backup',
                        help='the volume data method of the plan (default backup; image: '
                             'the one member credentials may use; replication: the lab\'s '
                             'array, its lag measured under writes)')
    parser.add_argument('--member', action='store_true',
                        help='a project member\'s credentials at both sites (site-a-demo, '
                             'site-b-demo: project demo, which must hold nothing else); '
                             'implies --replication image and needs --checkpoints-only')
    parser.add_argument('--out', default=os.path.join(ROOT, 'results'),
                        help='results folder (default results/)')
    args = parser.parse_args(argv)
    try:
        sizes = [int(n) for n in args.sizes.split(',')]
    except ValueError:
        parser.error('--sizes: expected numbers separated by commas, got %r' % args.sizes)
    if not sizes or min(sizes) < 1 or args.volume_every < 1:
        parser.error('--sizes and --volume-every must be positive')
    if args.member and not args.checkpoints_only:
        parser.error('--member measures checkpoints only: add --checkpoints-only')
    if args.member:
        args.replication = 'image'  # members may not run the backup method
    start = time.monotonic()
    mistral = install.mistral_for('site-b')
    install.upload(mistral)
    results = {'environment': environment(), 'volume_every': args.volume_every,
               'sizes': []}
    folder = os.path.join(args.out, results['environment']['date'].replace(':', ''))
    os.makedirs(folder, exist_ok=True)
    failed = False
    for n in sizes:
        try:
            results['sizes'].append(run_size(n, args.volume_every, mistral, start,
                                             args.checkpoints_only, args.replication,
                                             args.member))
        except Exception as exc:  # keep what the other sizes measured
            failed = True
            log(start, 'N=%d failed: %s' % (n, exc))
            results['sizes'].append({'n': n, 'error': str(exc)[:500]})
        with open(os.path.join(folder, 'results.json'), 'w') as f:
            json.dump(results, f, indent=1, sort_keys=True)
    with open(os.path.join(folder, 'results.md'), 'w') as f:
        f.write(markdown(results))
    plot(results, os.path.join(folder, 'results.png'))
    print(markdown(results))
    log(start, 'results in %s' % folder)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
