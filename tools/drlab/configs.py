"""Configuration files of the lab's OpenStack services.

Every function returns the text of one file for one site. The values come from a Site object
(ports, folders, passwords); see lab.py. The pitfalls these settings avoid are recorded in
../shared/lab-notes.md.
"""


def _auth(site, user, keystone_port=None):
    """A keystoneauth password block for a service user of `site`."""
    port = keystone_port or site.port('keystone')
    return f"""auth_url = http://127.0.0.1:{port}/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = {user}
password = {site.secrets['service']}
region_name = RegionOne
"""


def _authtoken(site, user):
    return f"""[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:{site.port('keystone')}/v3
{_auth(site, user)}service_token_roles_required = true
"""


def _db(site, name):
    return site.lab.db_url(f'{name}_{site.short}')


def keystone(site):
    return f"""[DEFAULT]
log_file = {site.logs}/keystone.log
[database]
connection = {_db(site, 'keystone')}
[token]
provider = fernet
[fernet_tokens]
key_repository = {site.data}/keystone/fernet-keys
[credential]
key_repository = {site.data}/keystone/credential-keys
[identity]
# bcrypt's minimum: token calls otherwise cost 0.4-0.6 s of CPU each.
password_hash_rounds = 4
[cache]
# Token validation without a cache costs about 1 s of CPU per call under load.
enabled = true
backend = dogpile.cache.memory
"""


def glance(site):
    return f"""[DEFAULT]
log_file = {site.logs}/glance-api.log
enabled_backends = file:file
workers = 1
[database]
connection = {_db(site, 'glance')}
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = {site.data}/glance/images
[os_glance_staging_store]
filesystem_store_datadir = {site.data}/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = {site.data}/glance/tasks
[paste_deploy]
flavor = keystone
config_file = {site.etc}/glance/glance-api-paste.ini
{_authtoken(site, 'glance')}
[oslo_policy]
enforce_new_defaults = true
"""


def placement(site):
    return f"""[DEFAULT]
log_file = {site.logs}/placement-api.log
[placement_database]
connection = {_db(site, 'placement')}
[api]
auth_strategy = keystone
{_authtoken(site, 'placement')}
"""


def cinder(site, vault):
    """Cinder with the NFS driver over a bind mount, backups into the vault's Swift."""
    return f"""[DEFAULT]
log_dir = {site.logs}
state_path = {site.data}/cinder
my_ip = 127.0.0.1
host = {site.name}-cinder
transport_url = {site.lab.rabbit_url(site.name)}
auth_strategy = keystone
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = {site.port('cinder')}
osapi_volume_workers = 1
# Its eventlet server answers 100 connections at a time and keeps an idle keep-alive one open
# for 15 minutes: clients leaving sockets open (the tests) silenced it for minutes.
wsgi_default_pool_size = 1000
client_socket_timeout = 60
api_paste_config = {site.etc}/cinder/api-paste.ini
resource_query_filters_file = {site.etc}/cinder/resource_filters.json
enabled_backends = nfs
default_volume_type = __DEFAULT__
rootwrap_config = {site.etc}/cinder/rootwrap.conf
# Volume backups go to the recovery vault: a dedicated project in {vault.name}'s Swift.
backup_driver = cinder.backup.drivers.swift.SwiftBackupDriver
backup_swift_auth = single_user
backup_swift_auth_version = 3
backup_swift_auth_url = http://127.0.0.1:{vault.port('keystone')}/v3
backup_swift_user = {vault.lab.VAULT_USER}
backup_swift_key = {vault.secrets['vault']}
backup_swift_project = {vault.lab.VAULT_PROJECT}
backup_swift_project_domain = Default
backup_swift_user_domain = Default
backup_swift_container = volumebackups
# Lab: no quota gets in the way of tests and benchmarks (draas' preflight checks real ones).
quota_volumes = -1
quota_snapshots = -1
quota_gigabytes = -1
quota_backups = -1
quota_backup_gigabytes = -1
[nfs]
# NfsDriver, taking snapshots of attached volumes without Nova's help (see cinder_driver.py)
volume_driver = draas_lab_cinder.LabNfsDriver
volume_backend_name = nfs
nfs_shares_config = {site.etc}/cinder/nfs_shares
nfs_mount_point_base = {site.nfs_mount_base}
nas_secure_file_operations = false
nas_secure_file_permissions = false
nfs_snapshot_support = true
nfs_sparsed_volumes = true
[database]
connection = {_db(site, 'cinder')}
[oslo_concurrency]
lock_path = {site.data}/cinder/locks
{_authtoken(site, 'cinder')}
[service_user]
send_service_user_token = true
{_auth(site, 'cinder')}
[nova]
{_auth(site, 'nova')}
[oslo_messaging_notifications]
driver = noop
[privsep_osbrick]
helper_command = {site.lab.venv}/bin/privsep-helper --config-file {site.etc}/cinder/cinder.conf
[cinder_sys_admin]
helper_command = {site.lab.venv}/bin/privsep-helper --config-file {site.etc}/cinder/cinder.conf
"""


def rootwrap(site, service):
    return f"""[DEFAULT]
filters_path = {site.lab.venv}/etc/{service}/rootwrap.d
exec_dirs = {site.lab.bin},/sbin,/usr/sbin,/bin,/usr/bin,{site.lab.venv}/bin
use_syslog = False
"""


def nova(site):
    def section(name, user, extra=''):
        return f'[{name}]\n{_auth(site, user)}{extra}'
    return f"""[DEFAULT]
log_dir = {site.logs}
state_path = {site.data}/nova
instances_path = {site.data}/nova/instances
my_ip = 127.0.0.1
host = {site.name}-compute
transport_url = {site.lab.rabbit_url(site.name)}
# Nova's FakeDriverWithoutFakeNodes (a node identity kept across restarts) with a real root
# disk file per server: tools/drlab/nova_driver.py.
compute_driver = draas_lab.LabDriver
osapi_compute_listen = 127.0.0.1
osapi_compute_workers = 1
metadata_workers = 1
rootwrap_config = {site.etc}/nova/rootwrap.conf
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = {site.etc}/nova/api-paste.ini
[api_database]
connection = {_db(site, 'nova_api')}
[database]
connection = {_db(site, 'nova')}
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[oslo_concurrency]
lock_path = {site.data}/nova/locks
[oslo_messaging_notifications]
driver = noop
{_authtoken(site, 'nova')}
[service_user]
send_service_user_token = true
{_auth(site, 'nova')}
{section('placement', 'placement')}
{section('glance', 'nova')}
{section('cinder', 'nova', 'os_region_name = RegionOne' + chr(10))}
{section('neutron', 'neutron')}
[vnc]
enabled = false
[quota]
instances = -1
cores = -1
ram = -1
server_groups = -1
server_group_members = -1
key_pairs = -1
[oslo_policy]
enforce_new_defaults = true
enforce_scope = false
"""


def nova_api(site):
    # Under uwsgi the API log name defaults to "<frozen importlib._bootstrap>.log".
    return f"""[DEFAULT]
log_file = {site.logs}/nova-api.log
"""


def nova_compute(site):
    """nova-compute's own file: without database sections (compute must not touch the DB)."""
    text = nova(site)
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith('['):
            skip = line in ('[api_database]', '[database]')
        if not skip:
            out.append(line)
    return '\n'.join(out) + '\n'


def neutron(site):
    return f"""[DEFAULT]
log_file = {site.logs}/neutron-api.log
state_path = {site.data}/neutron
core_plugin = ml2
service_plugins = router,tag
auth_strategy = keystone
api_paste_config = {site.etc}/neutron/api-paste.ini
transport_url = {site.lab.rabbit_url(site.name)}
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
api_workers = 1
rpc_workers = 0
[database]
connection = {_db(site, 'neutron')}
[oslo_concurrency]
lock_path = {site.data}/neutron/locks
{_authtoken(site, 'neutron')}
[nova]
{_auth(site, 'nova')}
[placement]
{_auth(site, 'placement')}
[agent]
root_helper = {site.lab.bin}/sudo
[quotas]
quota_network = -1
quota_subnet = -1
quota_port = -1
quota_router = -1
quota_floatingip = -1
quota_security_group = -1
quota_security_group_rule = -1
[oslo_messaging_notifications]
driver = noop
[action_heartbeat]
# An action of a crashed executor fails after 30 s without a heartbeat (default: 15 x 20 s),
# one no executor took after 2 minutes (default: an hour); then its workflow can run again.
max_missed_heartbeats = 6
check_interval = 5
first_heartbeat_timeout = 120
"""


def ml2(site):
    # tag_ports_during_bulk_creation: ports take their tags in the create request (draas
    # then restores ports in bulk); without it draas tags each port after making it.
    return """[ml2]
type_drivers = flat,vlan,vxlan,local
tenant_network_types = vxlan
mechanism_drivers = draas_lab
extension_drivers = port_security,tag_ports_during_bulk_creation
[ml2_type_flat]
flat_networks = public
[ml2_type_vlan]
network_vlan_ranges = public:100:200
[ml2_type_vxlan]
vni_ranges = 1:1000
"""


def swift_conf(site):
    return f"""[swift-hash]
swift_hash_path_prefix = {site.secrets['swift_hash']}
swift_hash_path_suffix = {site.name}
[storage-policy:0]
name = Policy-0
default = yes
"""


def swift_server(site, kind):
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {site.port('swift-' + kind)}
workers = 0
user = root
swift_dir = {site.etc}/swift
devices = {site.data}/swift/node
mount_check = false
disable_fallocate = true
recon_cache_path = {site.data}/swift/cache
[pipeline:main]
pipeline = healthcheck {kind}-server
[app:{kind}-server]
use = egg:swift#{kind}
[filter:healthcheck]
use = egg:swift#healthcheck
"""


def swift_proxy(site):
    # The proxy adds catch_errors, gatekeeper, listing_formats, copy, dlo and versioned_writes
    # itself. No memcache: keystonemiddleware then caches tokens in process.
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {site.port('swift')}
workers = 0
user = root
swift_dir = {site.etc}/swift
[pipeline:main]
pipeline = healthcheck authtoken keystoneauth proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://127.0.0.1:{site.port('keystone')}/v3
{_auth(site, 'swift')}delay_auth_decision = true
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
"""


def mistral(lab, site):
    """The one Mistral of the lab: it lives at the recovery site (`site`), trusts its
    Keystone."""
    return f"""[DEFAULT]
log_file = {lab.root}/mistral/logs/mistral.log
transport_url = {lab.rabbit_url('mistral')}
[api]
host = 127.0.0.1
port = {lab.MISTRAL_PORT}
api_workers = 1
[database]
connection = {lab.db_url('mistral')}
[pecan]
auth_enable = true
{_authtoken(site, 'mistral')}
[cron_trigger]
# With run_in_api the API worker can fork while a DB-polling thread holds mistral's tx_lock
# and then hangs forever (seen in 2 of 4 runs); the periodic server runs the triggers instead.
run_in_api = false
[oslo_messaging_notifications]
driver = noop
[action_heartbeat]
# An action of a crashed executor fails after 30 s without a heartbeat (default: 15 x 20 s),
# one no executor took after 2 minutes (default: an hour); then its workflow can run again.
max_missed_heartbeats = 6
check_interval = 5
first_heartbeat_timeout = 120
"""


def mariadb(lab):
    return f"""[mysqld]
user = root
datadir = {lab.root}/mysql/data
socket = {lab.root}/mysql/mysqld.sock
pid-file = {lab.root}/mysql/mysqld.pid
log-error = {lab.root}/mysql/error.log
port = {lab.MYSQL_PORT}
bind-address = 127.0.0.1
skip-name-resolve
max_connections = 2000
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
character-set-server = utf8mb4
"""


def rabbitmq(lab):
    return f"""listeners.tcp.default = 127.0.0.1:{lab.RABBIT_PORT}
loopback_users = none
vm_memory_high_watermark.absolute = 512MiB
disk_free_limit.absolute = 100MB
"""


# Runs as root without sudo: drop sudo's options and run the command.
SUDO_SHIM = """#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done
exec "$@"
"""


def horizon(lab, site, secret_key):
    """Horizon's local_settings.py: logs in at the Keystone of Mistral's site (`site`)."""
    return f"""# Written by the draas lab (tools/lab).
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
SECRET_KEY = {secret_key!r}
# One uwsgi process, no memcached: sessions live in signed cookies.
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
CACHES = {{'default': {{'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}}}
OPENSTACK_KEYSTONE_URL = 'http://127.0.0.1:{site.port('keystone')}/v3'
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = 'Default'
OPENSTACK_KEYSTONE_DEFAULT_ROLE = 'member'
STATIC_ROOT = {lab.horizon_dir + '/static'!r}
COMPRESS_OFFLINE = True
"""
