"""The draas lab: two independent OpenStack sites and one Mistral on 127.0.0.1.

Usage: tools/lab up [SITE] | down | status | stop-site SITE | kill PROCESS... | restart-mistral
       | env | reset | slowest [SINCE] | backups {local,shared} SITE

`up` installs what is missing (Debian packages, a virtualenv with the services from PyPI, draas
itself), then starts MariaDB and RabbitMQ (shared), site-a and site-b in parallel (Keystone,
Glance, Placement, Nova, Neutron, Cinder, Swift each), Mistral and Horizon with the Mistral UI
(its own virtualenv, on a loopback port chosen once: $DRAAS_LAB/horizon/url). It is idempotent: what runs
stays, what is missing is started; `up site-b` leaves site-a as it is. `stop-site site-a`
simulates the loss of site-a: every site-a process stops, site-b and Mistral keep running.
`kill` crashes lab processes (SIGKILL; names as `status` shows them, e.g. mistral-executor,
site-b-nova-api): `up` starts them again. `down` stops exactly what the lab started.
`slowest` lists the slowest API requests the services logged (a test that timed out: whom it
waited for, and when), since SINCE (seconds since the epoch) when given: logs outlive a run.
`backups local SITE` restarts SITE's cinder-backup writing to a directory of SITE (Cinder's
posix driver), as a deployment whose backups stay next to the source; `backups shared SITE`
puts it back to writing into site-b's vault Swift (the default, which the recovery site reads).

Runs as root on Debian. Everything lives in $DRAAS_LAB (default /opt/draas-lab).
"""
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ROOT = os.environ.get('DRAAS_LAB', '/opt/draas-lab')
VENV = os.path.join(ROOT, 'venv')
HORIZON_VENV = os.path.join(ROOT, 'horizon-venv')  # Horizon's Django apart from the services
DEBIAN_PACKAGES = ['rabbitmq-server', 'mariadb-server', 'nfs-common', 'qemu-utils',
                   'python3-venv',
                   # the browser of the Horizon test (tests/functional/test_horizon.py)
                   'chromium', 'chromium-driver', 'fonts-dejavu-core']
SITE_NAMES = ('site-a', 'site-b')
MISTRAL = ('mistral', 'mistral-executor')  # api, engine and periodic tasks; the executor
# Port of each API on site-a; site-b adds 10000.
BASE_PORTS = {'keystone': 5000, 'glance': 9292, 'cinder': 8776, 'nova': 8774,
              'placement': 8778, 'neutron': 9696, 'swift': 8080, 'swift-account': 6202,
              'swift-container': 6201, 'swift-object': 6200, 'array': 7480}
CLOUDS_MARK = '# Written by the draas lab (tools/lab).'
SYSTEM_CLOUDS_YAML = '/etc/openstack/clouds.yaml'
VAULT_ENTRY = 'site-b-vault'  # the clouds.yaml entry of the Swift account holding backups
REPLICATED_TYPE = 'replicated'  # volumes of this type replicate to the other site


def log(msg):
    sys.stdout.write('[lab %6.1fs] %s\n' % (time.monotonic() - START, msg))
    sys.stdout.flush()


START = time.monotonic()


class LabError(Exception):
    pass


def run(argv, env=None, cwd=None, check=True, quiet=True):
    """Run a command to completion; on failure raise with its output."""
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and proc.returncode != 0:
        raise LabError('command failed (%d): %s\n%s' % (
            proc.returncode, ' '.join(argv), proc.stdout[-4000:]))
    if not quiet:
        sys.stdout.write(proc.stdout)
    return proc


# --------------------------------------------------------------------------------------------
# Stage 1 (any python3): Debian packages and the virtualenv, then re-run inside the virtualenv.

def ensure_debian_packages():
    missing = [p for p in DEBIAN_PACKAGES
               if run(['dpkg-query', '-W', '-f=${Status}', p], check=False).stdout
               != 'install ok installed']
    if not missing:
        return
    log('installing Debian packages: %s' % ' '.join(missing))
    # Keep apt from starting the system's own rabbitmq/mariadb: the lab runs its own.
    guard = '/usr/sbin/policy-rc.d'
    own_guard = not os.path.exists(guard)
    if own_guard:
        with open(guard, 'w') as f:
            f.write('#!/bin/sh\nexit 101\n')
        os.chmod(guard, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        run(['apt-get', 'update', '-qq'], env=env)
        run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends'] + missing, env=env)
    finally:
        if own_guard:
            os.unlink(guard)


def _file_hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def ensure_venv():
    """The services' virtualenv (with draas, editable) and Horizon's, installed side by side."""
    parallel([_ensure_services_venv, _ensure_horizon_venv])


def _venv_marks(venv):
    path = os.path.join(venv, '.draas-lab-marks.json')
    if os.path.exists(path):
        with open(path) as f:
            return path, json.load(f)
    return path, {}


def _venv(venv, requirements, key, what):
    """Create `venv` when missing, pip install the file `requirements` into it when it
    changed (mark `key`); returns (python, marks file, marks, whether it installed)."""
    py = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(py):
        log('creating virtualenv %s' % venv)
        run([sys.executable, '-m', 'venv', venv])
    reqs = os.path.join(HERE, requirements)
    marks, state = _venv_marks(venv)
    want = _file_hash(reqs)
    installed = state.get(key) != want
    if installed:
        log('installing %s' % what)
        run([py, '-m', 'pip', 'install', '-q', '-r', reqs])
        state[key] = want
    return py, marks, state, installed


def _ensure_services_venv():
    py, marks, state, _ = _venv(VENV, 'requirements.txt', 'services',
                                'the OpenStack services into their virtualenv (about 90 s)')
    # draas itself, editable, so Mistral loads its actions from the entry points.
    want = '%s:%s' % (REPO, _file_hash(os.path.join(REPO, 'setup.cfg')))
    missing = subprocess.run([py, '-c', 'import importlib.metadata as m; m.distribution("draas")'],
                             capture_output=True).returncode != 0
    if state.get('draas') != want or missing:
        log('installing draas (%s) into the virtualenv' % REPO)
        run([py, '-m', 'pip', 'install', '-q', '-e', REPO])
        state['draas'] = want
        state['draas_changed'] = True
    with open(marks, 'w') as f:
        json.dump(state, f)


def _ensure_horizon_venv():
    _, marks, state, installed = _venv(
        HORIZON_VENV, 'horizon-requirements.txt', 'horizon',
        'Horizon and the Mistral UI into their virtualenv (about 60 s)')
    if installed:  # collected and compressed again by Lab.horizon
        shutil.rmtree(os.path.join(ROOT, 'horizon', 'static'), ignore_errors=True)
    with open(marks, 'w') as f:
        json.dump(state, f)


# --------------------------------------------------------------------------------------------
# Processes: each started in its own session and recorded by PID (+ start time against reuse).

def _proc_start_time(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except OSError:
        return None


def _lab_pids_by_cmdline(privsep_only=True):
    """(PID, command line) of processes whose command line names a path of the lab:
    privsep daemons (they re-parent to PID 1), or with privsep_only=False any leftover."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if (ROOT + '/') in cmd and 'drlab/lab.py' not in cmd and (
                'privsep-helper' in cmd or not privsep_only):
            found.append((int(entry), cmd))
    return found


class Processes:
    def __init__(self, root):
        self.dir = os.path.join(root, 'pids')
        os.makedirs(self.dir, exist_ok=True)

    def _file(self, name):
        return os.path.join(self.dir, name + '.pid')

    def pid(self, name):
        """PID of a running lab process called `name`, else None."""
        try:
            with open(self._file(name)) as f:
                pid, started = f.read().split()
        except (OSError, ValueError):
            return None
        return int(pid) if _proc_start_time(int(pid)) == started else None

    def names(self):
        return sorted(f[:-4] for f in os.listdir(self.dir) if f.endswith('.pid'))

    def record(self, name, pid):
        with open(self._file(name), 'w') as f:
            f.write('%d %s\n' % (pid, _proc_start_time(pid)))

    def start(self, name, argv, logfile, env=None, cwd=None):
        if self.pid(name):
            return False
        os.makedirs(os.path.dirname(logfile), exist_ok=True)
        with open(logfile, 'ab') as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                    start_new_session=True)
        self.record(name, proc.pid)
        return True

    def stop(self, names, timeout=15, first=signal.SIGTERM):
        """Send `first` to the process groups of `names`, SIGKILL what is left after
        `timeout`."""
        live = {n: self.pid(n) for n in names}
        live = {n: p for n, p in live.items() if p}
        for pid in live.values():
            _signal_group(pid, first)
        deadline = time.monotonic() + timeout
        while live and time.monotonic() < deadline:
            live = {n: p for n, p in live.items() if _proc_start_time(p)}
            time.sleep(0.2)
        for pid in live.values():
            _signal_group(pid, signal.SIGKILL)
        for n in names:
            pid = self.pid(n)
            # Wait for the kill to land, then forget the process.
            for _ in range(50):
                if not pid or not _proc_start_time(pid):
                    break
                time.sleep(0.1)
            try:
                os.unlink(self._file(n))
            except OSError:
                pass


def _signal_group(pid, sig):
    for target in (lambda: os.killpg(pid, sig), lambda: os.kill(pid, sig)):
        try:
            target()
            return
        except (ProcessLookupError, PermissionError):
            continue


def parallel(functions):
    """Run `functions` in daemon threads; raise the first failure once all have ended."""
    errors = []

    def call(fn):
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)
    threads = [threading.Thread(target=call, args=(fn,), daemon=True) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------------------------
# Readiness checks.

def wait_for(what, probe, timeout=120, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:  # the probe's own failure is the last reason we report
            last = exc
        time.sleep(interval)
    raise LabError('%s not ready after %d s (%s)' % (what, timeout, last))


def http_answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up (300 versions, 401)
    except OSError:
        return False


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(('127.0.0.1', port)) == 0


# --------------------------------------------------------------------------------------------
# The lab: shared infrastructure, two sites, Mistral.

class Lab:
    MYSQL_PORT = 3306
    RABBIT_PORT = 5672
    MISTRAL_PORT = 8989
    VAULT_PROJECT = 'draas-vault'
    VAULT_USER = 'cinder-backup-vault'
    # Backups of both sites' volumes live in this site's Swift; see README "The lab".
    VAULT_SITE = 'site-b'
    MISTRAL_SITE = 'site-b'

    def __init__(self, root=ROOT):
        self.root = root
        self.venv = VENV
        self.bin = os.path.join(root, 'bin')
        self.plugins = os.path.join(root, 'plugins')
        self.procs = Processes(root)
        self.secrets = self._load_secrets()
        self.sites = {n: Site(self, n, i) for i, n in enumerate(SITE_NAMES)}
        self.clouds_yaml = os.path.join(root, 'clouds.yaml')
        self.horizon_dir = os.path.join(root, 'horizon')

    def _load_secrets(self):
        """Passwords of this lab, random per lab so tests can grep for leaks of them."""
        path = os.path.join(self.root, 'lab.json')
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)

        def pw():
            return secrets.token_hex(12)
        data = {'db': pw(), 'rabbit': pw()}
        for name in SITE_NAMES:
            data[name] = {'admin': pw(), 'service': pw(), 'demo': pw(), 'vault': pw(),
                          'swift_hash': pw()}
        os.makedirs(self.root, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            json.dump(data, f, indent=1)
        return data

    def db_url(self, database):
        return 'mysql+pymysql://lab:%s@127.0.0.1:%d/%s?charset=utf8' % (
            self.secrets['db'], self.MYSQL_PORT, database)

    def rabbit_url(self, vhost):
        return 'rabbit://openstack:%s@127.0.0.1:%d/%s' % (
            self.secrets['rabbit'], self.RABBIT_PORT, vhost)

    def env(self):
        env = dict(os.environ)
        env['PATH'] = '%s:%s/bin:%s' % (self.bin, self.venv, env.get('PATH', ''))
        env['PYTHONWARNINGS'] = 'ignore'
        env['OS_CLIENT_CONFIG_FILE'] = self.clouds_yaml
        env.pop('PYTHONPATH', None)
        return env

    def write(self, path, text, mode=0o644):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)

    def mark(self, name):
        return os.path.join(self.root, 'state', name)

    def done(self, name):
        return os.path.exists(self.mark(name))

    def set_done(self, name):
        self.write(self.mark(name), time.strftime('%Y-%m-%dT%H:%M:%S\n'))

    # ---- shared infrastructure
    def mariadb(self):
        from drlab import configs
        d = os.path.join(self.root, 'mysql')
        cnf = os.path.join(d, 'my.cnf')
        self.write(cnf, configs.mariadb(self))
        if not os.path.isdir(os.path.join(d, 'data', 'mysql')):
            log('initialising MariaDB')
            run(['mariadb-install-db', '--defaults-file=' + cnf, '--user=root',
                 '--auth-root-authentication-method=socket', '--skip-test-db'])
        if self.procs.start('mariadb', ['/usr/sbin/mariadbd', '--defaults-file=' + cnf],
                            os.path.join(d, 'mariadbd.out')):
            log('started MariaDB')
        sock = os.path.join(d, 'mysqld.sock')
        wait_for('MariaDB', lambda: os.path.exists(sock) and port_open(self.MYSQL_PORT), 60)
        if not self.done('mysql-databases'):
            dbs = ['mistral'] + ['%s_%s' % (svc, s.short) for s in self.sites.values()
                                 for svc in ('keystone', 'glance', 'placement', 'cinder',
                                             'nova_api', 'nova_cell0', 'nova', 'neutron')]
            sql = ["CREATE USER IF NOT EXISTS 'lab'@'127.0.0.1' IDENTIFIED BY '%s';"
                   % self.secrets['db'],
                   "GRANT ALL PRIVILEGES ON *.* TO 'lab'@'127.0.0.1';"]
            sql += ['CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8;' % db for db in dbs]
            run(['mariadb', '--socket=' + sock, '-u', 'root', '-e', ' '.join(sql)])
            self.set_done('mysql-databases')

    def rabbitmq(self):
        from drlab import configs
        d = os.path.join(self.root, 'rabbitmq')
        env = dict(os.environ,
                   HOME=os.path.join(d, 'home'),
                   RABBITMQ_NODENAME='rabbit@localhost',
                   RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
                   RABBITMQ_NODE_PORT=str(self.RABBIT_PORT),
                   RABBITMQ_DIST_PORT='25672',
                   ERL_EPMD_ADDRESS='127.0.0.1',
                   RABBITMQ_MNESIA_BASE=os.path.join(d, 'mnesia'),
                   RABBITMQ_LOG_BASE=os.path.join(d, 'log'),
                   RABBITMQ_CONFIG_FILE=os.path.join(d, 'rabbitmq'),
                   RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(d, 'enabled_plugins'),
                   RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                       '-kernel inet_dist_use_interface {127,0,0,1}'))
        os.makedirs(env['HOME'], exist_ok=True)
        self.write(os.path.join(d, 'rabbitmq.conf'), configs.rabbitmq(self))
        self.write(env['RABBITMQ_ENABLED_PLUGINS_FILE'], '[].\n')
        ctl = '/usr/lib/rabbitmq/bin/rabbitmqctl'
        epmd_before = run(['pgrep', '-x', 'epmd'], check=False).stdout.split()
        if self.procs.start('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                            os.path.join(d, 'server.out'), env=env):
            log('started RabbitMQ')
        wait_for('RabbitMQ', lambda: port_open(self.RABBIT_PORT), 90)
        run([ctl, '-q', 'await_startup'], env=env)
        if not epmd_before and not self.procs.pid('epmd'):
            # rabbitmq-server starts epmd, which re-parents to PID 1: track it to stop it.
            for pid in run(['pgrep', '-x', 'epmd'], check=False).stdout.split():
                self.procs.record('epmd', int(pid))
        if not self.done('rabbitmq-users'):
            run([ctl, '-q', 'add_user', 'openstack', self.secrets['rabbit']], env=env,
                check=False)
            run([ctl, '-q', 'change_password', 'openstack', self.secrets['rabbit']], env=env)
            for vhost in SITE_NAMES + ('mistral',):
                run([ctl, '-q', 'add_vhost', vhost], env=env, check=False)
                run([ctl, '-q', 'set_permissions', '-p', vhost, 'openstack', '.*', '.*', '.*'],
                    env=env)
            self.set_done('rabbitmq-users')

    # ---- clouds.yaml
    def write_clouds_yaml(self):
        import yaml
        clouds = {}
        for site in self.sites.values():
            for suffix, user, project, pw in (('', 'admin', 'admin', 'admin'),
                                              ('-demo', 'demo', 'demo', 'demo')):
                clouds[site.name + suffix] = {
                    'auth': {'auth_url': 'http://127.0.0.1:%d/v3' % site.port('keystone'),
                             'username': user, 'password': site.secrets[pw],
                             'project_name': project, 'user_domain_name': 'Default',
                             'project_domain_name': 'Default'},
                    'region_name': 'RegionOne', 'identity_api_version': 3,
                    'interface': 'public'}
            # Both sites' Cinder back up into the vault: draas reads what each backup wrote.
            # Each site's array (tools/drlab/storage_array.py) for the lab's replication adapter.
            clouds[site.name]['draas'] = {
                'backup_store': VAULT_ENTRY,
                'replication': {'lab': {'url': 'http://127.0.0.1:%d' % site.port('array')}}}
        vault = self.sites[Lab.VAULT_SITE]
        clouds[VAULT_ENTRY] = {
            'auth': {'auth_url': 'http://127.0.0.1:%d/v3' % vault.port('keystone'),
                     'username': Lab.VAULT_USER, 'password': vault.secrets['vault'],
                     'project_name': Lab.VAULT_PROJECT, 'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': 'RegionOne', 'identity_api_version': 3, 'interface': 'public'}
        text = CLOUDS_MARK + '\n' + yaml.safe_dump({'clouds': clouds}, sort_keys=True)
        self.write(self.clouds_yaml, text, 0o600)
        # The system-wide file lets `openstack --os-cloud site-a ...` work without exports;
        # never overwrite one the lab did not write.
        existing = ''
        if os.path.exists(SYSTEM_CLOUDS_YAML):
            with open(SYSTEM_CLOUDS_YAML) as f:
                existing = f.read()
        if not existing or existing.startswith(CLOUDS_MARK):
            self.write(SYSTEM_CLOUDS_YAML, text, 0o600)
        # Same for the openstack CLI of the lab's virtualenv (with the workflow plugin).
        cli = '/usr/local/bin/openstack'
        if not os.path.lexists(cli):
            os.symlink(os.path.join(self.venv, 'bin', 'openstack'), cli)

    # ---- Mistral
    def mistral(self):
        from drlab import configs
        d = os.path.join(self.root, 'mistral')
        site = self.sites[self.MISTRAL_SITE]
        conf = os.path.join(d, 'mistral.conf')
        os.makedirs(os.path.join(d, 'logs'), exist_ok=True)
        self.write(conf, configs.mistral(self, site))
        env = dict(self.env(), PYTHONPATH=self.plugins)  # the lab's replication adapter
        # The key draas signs checkpoint manifests with: the executors' (and the tests').
        env['DRAAS_MANIFEST_KEY_FILE'] = key = os.path.join(d, 'manifest.key')
        if not os.path.exists(key):
            self.write(key, secrets.token_hex(32), 0o600)
        # stevedore caches entry points per interpreter and path mtimes, and has been seen
        # to serve a stale list after draas was reinstalled: Mistral gets its own cache,
        # emptied at each start, so it always loads draas' current actions.
        env['XDG_CACHE_HOME'] = os.path.join(d, 'cache')
        shutil.rmtree(env['XDG_CACHE_HOME'], ignore_errors=True)
        if not self.done('mistral-db'):
            log('mistral: database')
            run(['mistral-db-manage', '--config-file', conf, 'upgrade', 'head'], env=env)
            run(['mistral-db-manage', '--config-file', conf, 'populate'], env=env)
            self.set_done('mistral-db')
        # The executor is a process of its own: a test kills it in the middle of a failover.
        if self.procs.start('mistral', ['mistral-server', '--server', 'api,engine,periodic',
                                        '--config-file', conf],
                            os.path.join(d, 'logs', 'mistral-server.out'), env=env):
            log('started Mistral')
        if self.procs.start('mistral-executor', [
                'mistral-server', '--server', 'executor', '--config-file', conf,
                '--log-file', os.path.join(d, 'logs', 'mistral-executor.log')],
                os.path.join(d, 'logs', 'mistral-executor.out'), env=env):
            log('started the Mistral executor')
        wait_for('Mistral API', lambda: http_answers(
            'http://127.0.0.1:%d/' % self.MISTRAL_PORT), 120)

    # ---- Horizon with the Mistral UI
    def horizon_port(self):
        """A loopback port that was free when chosen, kept while nothing else takes it."""
        path = os.path.join(self.horizon_dir, 'port')
        if not os.path.exists(path) or (not self.procs.pid('horizon')
                                        and port_open(self._read_port(path))):
            with socket.socket() as s:
                s.bind(('127.0.0.1', 0))
                self.write(path, '%d\n' % s.getsockname()[1])
        return self._read_port(path)

    @staticmethod
    def _read_port(path):
        with open(path) as f:
            return int(f.read())

    def horizon(self):
        from drlab import configs
        site = self.sites[self.MISTRAL_SITE]
        py = os.path.join(HORIZON_VENV, 'bin', 'python')
        dashboard = run([py, '-c', 'import openstack_dashboard, os; '
                         'print(os.path.dirname(openstack_dashboard.__file__))']).stdout.strip()
        key = self.secrets.setdefault('horizon', secrets.token_hex(24))
        with open(os.path.join(self.root, 'lab.json'), 'w') as f:
            json.dump(self.secrets, f, indent=1)
        self.write(os.path.join(dashboard, 'local', 'local_settings.py'),
                   configs.horizon(self, site, key), 0o600)
        # The Mistral UI is a Horizon plugin: enabled by its file in local/enabled.
        shutil.copy(os.path.join(os.path.dirname(dashboard), 'mistraldashboard', 'enabled',
                                 '_50_mistral.py'), os.path.join(dashboard, 'local', 'enabled'))
        env = dict(os.environ, DJANGO_SETTINGS_MODULE='openstack_dashboard.settings',
                   PYTHONWARNINGS='ignore', PATH='%s/bin:%s' % (HORIZON_VENV, os.environ['PATH']))
        env.pop('PYTHONPATH', None)
        static = os.path.join(self.horizon_dir, 'static')
        if not os.path.isdir(static):
            log('horizon: collecting and compressing its static files')
            run([py, '-m', 'django', 'collectstatic', '--noinput'], env=env)
            run([py, '-m', 'django', 'compress', '--force'], env=env)
        port = self.horizon_port()
        if self.procs.start('horizon', [
                os.path.join(HORIZON_VENV, 'bin', 'uwsgi'), '--http-socket',
                '127.0.0.1:%d' % port, '--module', 'openstack_dashboard.wsgi:application',
                '--static-map', '/static=' + static, '--master', '--processes', '1',
                '--threads', '8', '--die-on-term', '--need-app', '--buffer-size', '65535'],
                os.path.join(self.horizon_dir, 'horizon.out'), env=env):
            log('started Horizon')
        wait_for('Horizon', lambda: http_answers(self.horizon_url() + 'auth/login/'), 60)
        self.write(os.path.join(self.horizon_dir, 'url'), self.horizon_url() + '\n')

    def horizon_url(self):
        return 'http://127.0.0.1:%d/' % self.horizon_port()

    # ---- commands
    def up(self, only=None):
        os.makedirs(self.bin, exist_ok=True)
        from drlab import configs
        self.write(os.path.join(self.bin, 'sudo'), configs.SUDO_SHIM, 0o755)
        self.write_clouds_yaml()
        self.mariadb()
        self.rabbitmq()
        parallel([s.up for s in self.sites.values() if only in (None, s.name)])
        marks, state = _venv_marks(VENV)
        if state.pop('draas_changed', False):
            self.procs.stop(MISTRAL)  # it loads draas' actions at start only
            with open(marks, 'w') as f:
                json.dump(state, f)
        self.mistral()
        self.horizon()
        log('lab ready: clouds.yaml at %s (also %s); Mistral at http://127.0.0.1:%d/v2 '
            '(Keystone of %s); Horizon at %s' % (
                self.clouds_yaml, SYSTEM_CLOUDS_YAML, self.MISTRAL_PORT, self.MISTRAL_SITE,
                self.horizon_url()))

    def stop_sites(self, names, also=()):
        """Stop every process of the sites `names` (and the processes `also`) at once."""
        procs = [n for n in self.procs.names()
                 if n in also or any(n.startswith(s + '-') for s in names)]
        # cinder-volume often ignores SIGTERM for more than 15 s: do not wait that long.
        self.procs.stop(procs, timeout=8)
        roots = [self.sites[s].root + '/' for s in names]
        for pid, cmd in _lab_pids_by_cmdline():
            if any(r in cmd for r in roots):
                _signal_group(pid, signal.SIGKILL)
        log('%s stopped (%d processes)' % (', '.join(list(names) + list(also)), len(procs)))

    def kill(self, names):
        """SIGKILL lab processes (a crash); `up` starts them again."""
        unknown = [n for n in names if n not in self.procs.names()]
        if unknown or not names:
            raise LabError('kill: not running: %s (running: %s)' % (
                ', '.join(unknown) or 'no name given', ', '.join(self.procs.names())))
        self.procs.stop(names, timeout=0, first=signal.SIGKILL)
        log('killed %s' % ', '.join(names))

    def down(self):
        self.stop_sites(SITE_NAMES, also=MISTRAL + ('horizon',))
        self.procs.stop(['rabbitmq'], timeout=30)
        self.procs.stop(['epmd', 'mariadb'], timeout=30)
        for site in self.sites.values():
            site.unmount()
        leftover = self.procs.names() + [
            '%d (%s)' % (pid, cmd[:100]) for pid, cmd in _lab_pids_by_cmdline(False)]
        if leftover:
            raise LabError('still running: %s' % '; '.join(leftover))
        log('lab down: no lab process left')

    # Cinder's API (not under uwsgi): ... "GET /v3/x HTTP/1.1" status: 200 ... time: 0.12
    _OSLO_REQUEST = re.compile(r'^(\S+ \S+) .*"(\w+) (\S+)[^"]*" status: (\d+).* time: ([\d.]+)')
    # uwsgi: ... [Sat Nov 21 13:00:42 2026] GET /v3 => generated 250 bytes in 8 msecs (HTTP/1.1 200)
    _UWSGI_REQUEST = re.compile(r'\[(\w{3} \w{3} +\d+ [\d:]+ \d+)\] (\w+) (\S+) => '
                                r'generated \d+ bytes in (\d+) msecs \(\S+ (\d+)\)')

    def slowest(self, since=0, top=15, floor=5.0):
        """Print the `top` slowest API requests over `floor` seconds in the sites' logs."""
        found = []
        for site in self.sites.values():
            for name in sorted(os.listdir(site.logs)) if os.path.isdir(site.logs) else ():
                with open(os.path.join(site.logs, name), errors='replace') as f:
                    for line in f:
                        m = name == 'cinder-api.log' and self._OSLO_REQUEST.search(line)
                        if m:
                            when, method, path, code, secs = m.groups()
                            secs = float(secs)
                        else:
                            m = self._UWSGI_REQUEST.search(line)
                            if not m:
                                continue
                            when, method, path, msecs, code = m.groups()
                            secs = int(msecs) / 1000.0
                        # Image data transfers are long by nature; not what a timeout meets.
                        if (secs >= floor and not path.endswith('/file')
                                and self._epoch(when) >= since):
                            found.append((secs, when, site.name, name.split('.')[0],
                                          '%s %s' % (method, path[:90]), code))
        found.sort(reverse=True)
        print('%d API requests took %.0f s or more%s' % (
            len(found), floor, ', the slowest:' if found else ''))
        for secs, when, site, service, request, code in found[:top]:
            print('  %7.1f s  %s  %s %s  %s -> %s' % (secs, when, site, service, request, code))

    @staticmethod
    def _epoch(when):
        # uwsgi logs 'Sat Nov 21 13:00:42 2026', oslo '2026-11-21 13:00:42.123' (local time)
        for fmt in ('%a %b %d %H:%M:%S %Y', '%Y-%m-%d %H:%M:%S'):
            try:
                return time.mktime(time.strptime(when.split('.')[0], fmt))
            except ValueError:
                pass
        return 0

    def status(self):
        names = ['mariadb', 'rabbitmq', 'epmd', 'horizon'] + list(MISTRAL)
        for site in self.sites.values():
            names += [site.name + '-' + p for p in site.PROCESSES]
        running = 0
        for n in names:
            pid = self.procs.pid(n)
            running += bool(pid)
            print('%-28s %s' % (n, 'running (pid %d)' % pid if pid else 'stopped'))
        print('%d of %d lab processes running' % (running, len(names)))
        return running


class Site:
    PROCESSES = ('keystone', 'glance', 'placement', 'neutron', 'nova-api', 'nova-conductor',
                 'nova-scheduler', 'nova-compute', 'cinder-api', 'cinder-scheduler',
                 'cinder-volume', 'cinder-backup', 'swift-account', 'swift-container',
                 'swift-object', 'swift-proxy', 'array')

    def __init__(self, lab, name, index):
        self.lab = lab
        self.name = name
        self.short = name[-1]
        self.offset = 10000 * index
        self.root = os.path.join(lab.root, name)
        self.etc = os.path.join(self.root, 'etc')
        self.data = os.path.join(self.root, 'data')
        self.logs = os.path.join(self.root, 'logs')
        self.secrets = lab.secrets[name]
        self.nfs_export = os.path.join(self.data, 'cinder', 'nfs-export')
        self.nfs_share = '127.0.0.1:' + self.nfs_export
        self.nfs_mount_base = os.path.join(self.data, 'cinder', 'mnt')
        self.nfs_mount = os.path.join(
            self.nfs_mount_base, hashlib.md5(self.nfs_share.encode()).hexdigest())

    def port(self, service):
        return BASE_PORTS[service] + self.offset

    def log(self, msg):
        log('%s: %s' % (self.name, msg))

    def start(self, proc, argv, env=None):
        if self.lab.procs.start('%s-%s' % (self.name, proc), argv,
                                os.path.join(self.logs, proc + '.out'), env=env or self.env()):
            self.log('started %s' % proc)

    def env(self, **extra):
        env = self.lab.env()
        env.update(extra)
        return env

    def uwsgi(self, proc, port, module, env, extra=()):
        argv = ['uwsgi', '--http-socket', '127.0.0.1:%d' % port, '--module', module,
                '--virtualenv', self.lab.venv, '--master', '--processes', '1',
                '--threads', '4', '--die-on-term', '--lazy-apps', '--need-app',
                '--buffer-size', '65535',
                # Without it keystoneauth meets random connection resets (keep-alive assumed).
                '--add-header', 'Connection:close'] + list(extra)
        self.start(proc, argv, self.env(**env))

    def once(self, step, fn):
        key = '%s-%s' % (self.name, step)
        if not self.lab.done(key):
            t = time.monotonic()
            fn()
            self.lab.set_done(key)
            self.log('%s done in %.1f s' % (step, time.monotonic() - t))

    # ---- configuration
    def write_configs(self):
        from drlab import configs
        w = self.lab.write
        venv_etc = os.path.join(self.lab.venv, 'etc')
        vault = self.lab.sites[Lab.VAULT_SITE]
        for d in ('keystone/fernet-keys', 'keystone/credential-keys', 'glance/images',
                  'cinder/locks', 'nova/instances', 'nova/locks', 'neutron/locks',
                  'swift/node/d1', 'swift/cache'):
            os.makedirs(os.path.join(self.data, d), exist_ok=True)
        os.makedirs(self.logs, exist_ok=True)
        w(f'{self.etc}/keystone/keystone.conf', configs.keystone(self))
        w(f'{self.etc}/glance/glance-api.conf', configs.glance(self))
        shutil.copy(f'{venv_etc}/glance/glance-api-paste.ini', f'{self.etc}/glance/')
        w(f'{self.etc}/placement/placement.conf', configs.placement(self))
        w(f'{self.etc}/cinder/cinder.conf', configs.cinder(self, vault))
        w(f'{self.etc}/cinder/rootwrap.conf', configs.rootwrap(self, 'cinder'))
        w(f'{self.etc}/cinder/nfs_shares', self.nfs_share + '\n')
        for f in ('api-paste.ini', 'resource_filters.json'):
            shutil.copy(f'{venv_etc}/cinder/{f}', f'{self.etc}/cinder/')
        w(f'{self.etc}/nova/nova.conf', configs.nova(self))
        w(f'{self.etc}/nova/nova-api.conf', configs.nova_api(self))
        w(f'{self.etc}/nova/nova-cpu.conf', configs.nova_compute(self))
        w(f'{self.etc}/nova/rootwrap.conf', configs.rootwrap(self, 'nova'))
        shutil.copy(f'{venv_etc}/nova/api-paste.ini', f'{self.etc}/nova/')
        w(f'{self.etc}/neutron/neutron.conf', configs.neutron(self))
        w(f'{self.etc}/neutron/plugins/ml2/ml2_conf.ini', configs.ml2(self))
        shutil.copy(f'{venv_etc}/neutron/api-paste.ini', f'{self.etc}/neutron/')
        w(f'{self.etc}/swift/swift.conf', configs.swift_conf(self))
        for kind in ('account', 'container', 'object'):
            w(f'{self.etc}/swift/{kind}-server.conf', configs.swift_server(self, kind))
        w(f'{self.etc}/swift/proxy-server.conf', configs.swift_proxy(self))
        self._plugins()

    def _plugins(self):
        """The lab's own Neutron, Cinder and Nova drivers, loadable by the services: the ML2
        driver by name through a hand-made dist-info (entry point), the Cinder one by module
        path, the Nova one in nova.virt (Nova loads compute_driver from there only)."""
        d = self.lab.plugins
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(HERE, 'ml2_driver.py'), os.path.join(d, 'draas_lab_ml2.py'))
        shutil.copy(os.path.join(HERE, 'cinder_driver.py'),
                    os.path.join(d, 'draas_lab_cinder.py'))
        shutil.copy(os.path.join(HERE, 'storage_array.py'),
                    os.path.join(d, 'draas_lab_array.py'))
        shutil.copy(os.path.join(HERE, 'storage_array_adapter.py'),
                    os.path.join(d, 'draas_lab_array_adapter.py'))
        # Both sites share the venv and set up in parallel: each replaces the file whole.
        driver = os.path.join(os.path.dirname(importlib.util.find_spec('nova').origin),
                              'virt', 'draas_lab.py')
        shutil.copy(os.path.join(HERE, 'nova_driver.py'), driver + '.' + self.name)
        os.replace(driver + '.' + self.name, driver)
        info = os.path.join(d, 'draas_lab_ml2-1.0.dist-info')
        self.lab.write(os.path.join(info, 'METADATA'),
                       'Metadata-Version: 2.1\nName: draas-lab-ml2\nVersion: 1.0\n')
        self.lab.write(os.path.join(info, 'entry_points.txt'),
                       '[neutron.ml2.mechanism_drivers]\n'
                       'draas_lab = draas_lab_ml2:LabMechanismDriver\n')
        # draas loads storage replication adapters the same way (Mistral's executor).
        info = os.path.join(d, 'draas_lab_array_adapter-1.0.dist-info')
        self.lab.write(os.path.join(info, 'METADATA'), 'Metadata-Version: 2.1\n'
                       'Name: draas-lab-array-adapter\nVersion: 1.0\n')
        self.lab.write(os.path.join(info, 'entry_points.txt'),
                       '[draas.replication]\nlab = draas_lab_array_adapter:LabAdapter\n')

    def swift_rings(self):
        """One device, one replica per ring. Built in a child process: importing swift
        (eventlet) in the lab's own process makes its threads impossible to join."""
        script = """
import os, sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for kind, port in zip(('account', 'container', 'object'), map(int, sys.argv[2:])):
    ring = os.path.join(etc, kind + '.ring.gz')
    if os.path.exists(ring):
        continue
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
                     'device': 'd1', 'weight': 100, 'meta': ''})
    builder.rebalance()
    builder.save(os.path.join(etc, kind + '.builder'))
    builder.get_ring().save(ring)
"""
        run([os.path.join(self.lab.venv, 'bin', 'python'), '-c', script,
             os.path.join(self.etc, 'swift')] +
            [str(self.port('swift-' + k)) for k in ('account', 'container', 'object')])

    def mount_nfs(self):
        os.makedirs(self.nfs_export, exist_ok=True)
        os.makedirs(self.nfs_mount, exist_ok=True)
        # os-brick only checks /proc/mounts, so a bind mount stands in for the NFS share.
        if not self.mounted():
            run(['mount', '--bind', self.nfs_export, self.nfs_mount])

    def mounted(self):
        with open('/proc/mounts') as f:
            return any(line.split()[1] == self.nfs_mount for line in f)

    def unmount(self):
        if self.mounted():
            run(['umount', self.nfs_mount], check=False)

    # ---- bring-up
    def up(self):
        t0 = time.monotonic()
        self.write_configs()
        self.swift_rings()
        self.mount_nfs()
        self.keystone()
        self.once('catalog', self.register_catalog)
        steps = [('neutron-db', self.db_neutron), ('nova-db', self.db_nova),
                 ('glance-db', self.db_glance), ('cinder-db', self.db_cinder),
                 ('placement-db', self.db_placement)]
        parallel([lambda s=s: self.once(*s) for s in steps[:2]])
        parallel([lambda s=s: self.once(*s) for s in steps[2:]])
        self.start_services()
        self.wait_services()
        self.once('resources', self.create_resources)
        self.once('quotas', self.lift_quotas)
        self.once('replicated-type', self.replicated_type)
        self.warm_up_neutron()
        self.log('ready in %.1f s' % (time.monotonic() - t0))

    def warm_up_neutron(self):
        """One network created and deleted right after Neutron starts: the first creates a
        fresh neutron-server handles concurrently may be refused by policy (HTTP 403, a
        race in its lazy policy set-up; seen with 2 threads), one alone never is."""
        conn = self.admin()
        conn.network.delete_network(conn.network.create_network(name='lab-warm-up'))

    def manage(self, argv):
        run(argv, env=self.env())

    def keystone(self):
        conf = ['--config-file', f'{self.etc}/keystone/keystone.conf']

        def init():
            self.manage(['keystone-manage'] + conf + ['db_sync'])
            for what in ('fernet_setup', 'credential_setup'):
                self.manage(['keystone-manage'] + conf + [
                    what, '--keystone-user', 'root', '--keystone-group', 'root'])
            url = 'http://127.0.0.1:%d/v3' % self.port('keystone')
            self.manage(['keystone-manage'] + conf + [
                'bootstrap', '--bootstrap-password', self.secrets['admin'],
                '--bootstrap-username', 'admin', '--bootstrap-project-name', 'admin',
                '--bootstrap-role-name', 'admin', '--bootstrap-service-name', 'keystone',
                '--bootstrap-region-id', 'RegionOne', '--bootstrap-admin-url', url,
                '--bootstrap-public-url', url, '--bootstrap-internal-url', url])
        self.once('keystone-db', init)
        self.uwsgi('keystone', self.port('keystone'), 'keystone.wsgi.api:application',
                   {'OS_KEYSTONE_CONFIG_DIR': f'{self.etc}/keystone'})
        wait_for('%s keystone' % self.name, lambda: http_answers(
            'http://127.0.0.1:%d/v3' % self.port('keystone')))

    def admin(self):
        import openstack
        return openstack.connect(
            auth_url='http://127.0.0.1:%d/v3' % self.port('keystone'), username='admin',
            password=self.secrets['admin'], project_name='admin', user_domain_name='Default',
            project_domain_name='Default', region_name='RegionOne', identity_api_version=3)

    def register_catalog(self):
        conn = self.admin()
        ident = conn.identity
        p = self.port
        services = [('image', 'glance', 'http://127.0.0.1:%d' % p('glance')),
                    ('placement', 'placement', 'http://127.0.0.1:%d' % p('placement')),
                    ('compute', 'nova', 'http://127.0.0.1:%d/v2.1' % p('nova')),
                    ('network', 'neutron', 'http://127.0.0.1:%d' % p('neutron')),
                    ('volumev3', 'cinderv3', 'http://127.0.0.1:%d/v3/%%(project_id)s'
                     % p('cinder')),
                    ('block-storage', 'cinder', 'http://127.0.0.1:%d/v3/%%(project_id)s'
                     % p('cinder')),
                    ('object-store', 'swift', 'http://127.0.0.1:%d/v1/AUTH_%%(project_id)s'
                     % p('swift'))]
        if self.name == Lab.MISTRAL_SITE:
            services.append(('workflowv2', 'mistral',
                             'http://127.0.0.1:%d/v2' % Lab.MISTRAL_PORT))
        known = {s.type for s in ident.services()}
        for stype, name, url in services:
            if stype in known:
                continue
            svc = ident.create_service(type=stype, name=name, is_enabled=True)
            for iface in ('public', 'internal'):
                ident.create_endpoint(service_id=svc.id, interface=iface, url=url,
                                      region_id='RegionOne')
        project = ident.find_project('service') or ident.create_project(
            name='service', domain_id='default')
        roles = {r.name: r for r in ident.roles()}
        for user in ('glance', 'cinder', 'nova', 'neutron', 'placement', 'swift', 'mistral'):
            u = ident.find_user(user) or ident.create_user(
                name=user, password=self.secrets['service'], domain_id='default')
            for role in ('admin', 'service'):
                ident.assign_project_role_to_user(project, u, roles[role])

    def db_glance(self):
        self.manage(['glance-manage', '--config-file', f'{self.etc}/glance/glance-api.conf',
                     'db_sync'])

    def db_placement(self):
        self.manage(['placement-manage', '--config-file',
                     f'{self.etc}/placement/placement.conf', 'db', 'sync'])

    def db_cinder(self):
        self.manage(['cinder-manage', '--config-file', f'{self.etc}/cinder/cinder.conf',
                     'db', 'sync'])

    def db_neutron(self):
        self.manage(['neutron-db-manage', '--config-file', f'{self.etc}/neutron/neutron.conf',
                     '--config-file', f'{self.etc}/neutron/plugins/ml2/ml2_conf.ini',
                     'upgrade', 'heads'])

    def db_nova(self):
        n = ['nova-manage', '--config-file', f'{self.etc}/nova/nova.conf']
        self.manage(n + ['api_db', 'sync'])
        self.manage(n + ['cell_v2', 'map_cell0', '--database_connection',
                         self.lab.db_url('nova_cell0_' + self.short)])
        cells = run(n + ['cell_v2', 'list_cells'], env=self.env()).stdout
        if ' cell1 ' not in cells:
            self.manage(n + ['cell_v2', 'create_cell', '--name', 'cell1'])
        self.manage(n + ['db', 'sync'])

    def start_services(self):
        e = self.etc
        self.uwsgi('glance', self.port('glance'), 'glance.wsgi.api:application',
                   {'OS_GLANCE_CONFIG_DIR': f'{e}/glance'},
                   # volume upload-to-image sends chunks larger than uwsgi's default limit
                   ['--http-chunked-input', '--http-auto-chunked', '--http-raw-body',
                    '--chunked-input-limit', '67108864'])
        self.uwsgi('placement', self.port('placement'), 'placement.wsgi.api:application',
                   {'OS_PLACEMENT_CONFIG_DIR': f'{e}/placement'})
        self.uwsgi('neutron', self.port('neutron'), 'neutron.wsgi.api:application',
                   {'OS_NEUTRON_CONFIG_DIR': f'{e}/neutron',
                    'OS_NEUTRON_CONFIG_FILES': 'neutron.conf;plugins/ml2/ml2_conf.ini',
                    'PYTHONPATH': self.lab.plugins})
        self.uwsgi('nova-api', self.port('nova'), 'nova.wsgi.osapi_compute:application',
                   {'OS_NOVA_CONFIG_DIR': f'{e}/nova',
                    # nova reads its paste pipeline from the first file of the list
                    'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf;nova-api.conf'})
        for svc in ('conductor', 'scheduler'):
            self.start('nova-' + svc, ['nova-' + svc, '--config-file', f'{e}/nova/nova.conf'])
        self.start('nova-compute', ['nova-compute', '--config-file', f'{e}/nova/nova-cpu.conf'])
        for svc in ('api', 'scheduler', 'volume', 'backup'):
            local = svc == 'backup' and os.path.exists(self.local_backups)
            self.start('cinder-' + svc, ['cinder-' + svc, '--config-file',
                                         f'{e}/cinder/cinder.conf'] +
                       (['--config-file', self.local_backups] if local else []),
                       self.env(PYTHONPATH=self.lab.plugins))
        for kind in ('account', 'container', 'object', 'proxy'):
            self.start('swift-' + kind, ['swift-%s-server' % kind,
                                         f'{e}/swift/{kind}-server.conf'])
        self.start('array', [os.path.join(self.lab.venv, 'bin', 'python'),
                             os.path.join(self.lab.plugins, 'draas_lab_array.py'),
                             '--site', self.name, '--port', str(self.port('array')),
                             '--folder', os.path.join(self.data, 'array'),
                             '--export', self.nfs_export,
                             '--host', '%s-cinder@nfs#nfs' % self.name])

    @property
    def local_backups(self):
        """Present: this site's cinder-backup keeps its backups at this site (`backups`)."""
        return f'{self.etc}/cinder/backups-local.conf'

    def backups(self, where):
        """Restart cinder-backup writing `where`: 'local' (posix, at this site) or 'shared'
        (the vault's Swift at site-b)."""
        if where == 'local':
            with open(self.local_backups, 'w') as f:
                f.write('[DEFAULT]\nbackup_driver = cinder.backup.drivers.posix.'
                        'PosixBackupDriver\nbackup_posix_path = %s/cinder/backups\n'
                        % self.data)
        elif os.path.exists(self.local_backups):
            os.unlink(self.local_backups)
        self.lab.procs.stop(['%s-cinder-backup' % self.name])
        since = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())
        self.start_services()
        self.wait_services()
        conn = self.admin()
        # Up once the new process has reported (the old one's last report looks alive).
        wait_for('%s cinder-backup restarted' % self.name, lambda: any(
            s.binary == 'cinder-backup' and (s.updated_at or '') > since
            for s in conn.block_storage.services()), 120, 1)
        self.log('cinder-backup writes %s' % (
            'to %s/cinder/backups' % self.data if where == 'local' else "to the vault's Swift"))

    def wait_services(self):
        for svc in ('glance', 'placement', 'neutron', 'nova', 'cinder', 'swift', 'array'):
            wait_for('%s %s API' % (self.name, svc), lambda: http_answers(
                'http://127.0.0.1:%d/' % self.port(svc)))
        conn = self.admin()

        def cinder_up():
            up = {s.binary for s in conn.block_storage.services() if s.state == 'up'}
            return {'cinder-volume', 'cinder-backup', 'cinder-scheduler'} <= up
        wait_for('%s cinder services' % self.name, cinder_up, 120, 2)

        def compute_up():
            return any(s.binary == 'nova-compute' and s.state == 'up'
                       for s in conn.compute.services())
        wait_for('%s nova-compute' % self.name, compute_up, 120, 2)

        def hypervisor_mapped():
            self.manage(['nova-manage', '--config-file', f'{self.etc}/nova/nova.conf',
                         'cell_v2', 'discover_hosts'])
            return any(True for _ in conn.compute.hypervisors())
        wait_for('%s compute host mapping' % self.name, hypervisor_mapped, 120, 3)

    def lift_quotas(self):
        """No quota of the lab gets in the way of tests and benchmarks (Cinder's defaults
        live in its database, so the config alone is not enough)."""
        conn = self.admin()
        resp = conn.block_storage.put('/os-quota-class-sets/default', json={
            'quota_class_set': {k: -1 for k in ('volumes', 'snapshots', 'gigabytes',
                                                'backups', 'backup_gigabytes')}})
        if resp.status_code != 200:
            raise LabError('%s: cannot lift Cinder quotas: %s' % (self.name, resp.text))

    def create_resources(self):
        """What every site of the lab offers: an external network, flavors, a demo project."""
        conn = self.admin()
        ident = conn.identity
        member = ident.find_role('member')
        projects = [('demo', 'demo', self.secrets['demo'])]
        if self.name == Lab.VAULT_SITE:
            projects.append((Lab.VAULT_PROJECT, Lab.VAULT_USER, self.secrets['vault']))
        for pname, uname, pw in projects:
            project = ident.find_project(pname) or ident.create_project(
                name=pname, domain_id='default')
            user = ident.find_user(uname) or ident.create_user(
                name=uname, password=pw, domain_id='default', default_project_id=project.id)
            ident.assign_project_role_to_user(project, user, member)
        net = conn.network.find_network('public') or conn.network.create_network(
            name='public', is_router_external=True, is_shared=False,
            provider_network_type='flat', provider_physical_network='public')
        if not list(conn.network.subnets(network_id=net.id)):
            third = 4 + self.offset // 10000
            conn.network.create_subnet(
                name='public-subnet', network_id=net.id, ip_version=4,
                cidr='172.24.%d.0/24' % third, gateway_ip='172.24.%d.1' % third,
                allocation_pools=[{'start': '172.24.%d.10' % third,
                                   'end': '172.24.%d.250' % third}], is_dhcp_enabled=False)
        for name, ram, disk in (('m1.tiny', 512, 1), ('m1.small', 2048, 10)):
            if not conn.compute.find_flavor(name):
                conn.compute.create_flavor(name=name, ram=ram, vcpus=1, disk=disk)

    def replicated_type(self):
        """The volume type whose volumes the site's array replicates."""
        conn = self.admin()
        if not conn.block_storage.find_type(REPLICATED_TYPE):
            conn.block_storage.create_type(name=REPLICATED_TYPE, extra_specs={
                'replication_enabled': '<is> True', 'volume_backend_name': 'nfs'})


def main(argv):
    usage = '\n'.join(__doc__.strip().splitlines()[2:4])
    if not argv or argv[0] not in ('up', 'down', 'status', 'stop-site', 'kill',
                                   'restart-mistral', 'env', 'reset', 'slowest', 'backups'):
        print(usage, file=sys.stderr)
        return 2
    cmd = argv[0]
    if os.geteuid() != 0:
        print('tools/lab must run as root (it installs packages and mounts).', file=sys.stderr)
        return 2
    if cmd == 'env':
        print('export OS_CLIENT_CONFIG_FILE=%s/clouds.yaml' % ROOT)
        print('export PATH=%s/bin:$PATH' % VENV)
        return 0
    site = argv[1:]
    if (cmd == 'stop-site' or cmd == 'up' and site) and (
            len(site) != 1 or site[0] not in SITE_NAMES):
        print('usage: tools/lab %s {%s}' % (cmd, ','.join(SITE_NAMES)), file=sys.stderr)
        return 2
    if cmd == 'backups' and (len(site) != 2 or site[0] not in ('local', 'shared') or
                             site[1] not in SITE_NAMES):
        print('usage: tools/lab backups {local,shared} {%s}' % ','.join(SITE_NAMES),
              file=sys.stderr)
        return 2
    if cmd == 'up' and sys.prefix != VENV:
        try:
            ensure_debian_packages()
            ensure_venv()
        except LabError as exc:
            log('ERROR: %s' % exc)
            return 1
    if sys.prefix != VENV:
        if not os.path.exists(os.path.join(VENV, 'bin', 'python')):
            print('the lab was never set up: run tools/lab up', file=sys.stderr)
            return 1
        os.execv(os.path.join(VENV, 'bin', 'python'),
                 [os.path.join(VENV, 'bin', 'python'), os.path.abspath(__file__)] + argv)
    sys.path.insert(0, os.path.dirname(HERE))
    lab = Lab()
    try:
        if cmd == 'up':
            lab.up(argv[1] if len(argv) > 1 else None)
        elif cmd == 'down':
            lab.down()
        elif cmd == 'reset':
            lab.down()
            for d in os.listdir(ROOT):
                if d not in ('venv', 'horizon-venv'):
                    path = os.path.join(ROOT, d)
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            log('lab data removed (the virtualenv is kept)')
        elif cmd == 'status':
            lab.status()
        elif cmd == 'slowest':
            lab.slowest(since=float(argv[1]) if len(argv) > 1 else 0)
        elif cmd == 'stop-site':
            lab.stop_sites([argv[1]])
        elif cmd == 'restart-mistral':
            ensure_venv()  # new entry points (setup.cfg) need draas reinstalled
            lab.procs.stop(MISTRAL)
            lab.mistral()
        elif cmd == 'kill':
            lab.kill(argv[1:])
        elif cmd == 'backups':
            lab.sites[argv[2]].backups(argv[1])
    except LabError as exc:
        log('ERROR: %s' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
