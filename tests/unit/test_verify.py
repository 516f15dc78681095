"""Verification of a restored workload (actions/verify.py) with a fake target."""
from unittest import mock

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from oslotest import base

from actions import verify


class FakeRestore:
    """What verify reads of a restore: one server with one port and one data volume."""

    restore_id = 'failover-x'
    project_id = 'p1'
    member = False

    def __init__(self, volume_calls, timeout_seconds=5):
        self.plan = {'options': {'verify': {'probes': [], 'timeout_seconds': timeout_seconds}}}
        server = mock.Mock(id='s1', status='ACTIVE', addresses={})
        port = mock.Mock(id='p1', device_id='s1', status='ACTIVE', binding_vif_type='ovs')
        volume = mock.Mock(id='v1', attachments=[{'server_id': 's1'}])
        self.conn = mock.Mock()
        self.conn.compute.servers.return_value = [server]
        self.conn.network.ports.return_value = [port]
        self.conn.block_storage.volumes.side_effect = [
            call if isinstance(call, Exception) else [volume] for call in volume_calls]

    def docs(self, kind):
        return [{'id': 'src-s1', 'name': 'web', 'port_ids': ['src-p1'],
                 'volume_ids': ['src-v1']}]

    def map(self, kind, source_id):
        return source_id[len('src-'):]

    def name(self, name):
        return name


@mock.patch('time.sleep', lambda s: None)
class TestVerify(base.BaseTestCase):

    def test_a_slow_api_is_asked_again_until_the_deadline(self):
        timeout = ks_exc.ConnectTimeout('Request to http://cinder/v3/volumes/detail timed out')
        restore = FakeRestore([timeout, sdk_exc.HttpException(http_status=503), 'ok'])
        self.assertEqual(['1 servers ACTIVE', '1 ports bound and up', '1 volumes attached'],
                         verify.workload(restore))
        self.assertEqual(3, restore.conn.block_storage.volumes.call_count)

    def test_an_api_that_stays_down_fails_naming_it(self):
        timeout = ks_exc.ConnectTimeout('Request to http://cinder/v3/volumes/detail timed out')
        restore = FakeRestore([timeout] * 1000, timeout_seconds=0)
        err = self.assertRaises(verify.VerifyError, verify.workload, restore)
        self.assertIn('listing the restored resources: timed out '
                      '(http://cinder/v3/volumes/detail)', str(err))

    def test_a_refusal_is_not_waited_for(self):
        restore = FakeRestore([sdk_exc.ForbiddenException('policy'), 'ok'])
        self.assertRaises(sdk_exc.ForbiddenException, verify.workload, restore)
        self.assertEqual(1, restore.conn.block_storage.volumes.call_count)

    def test_a_member_sees_no_binding_an_active_port_is_bound(self):
        restore = FakeRestore(['ok'] * 1000, timeout_seconds=0)
        restore.conn.network.ports.return_value[0].binding_vif_type = None
        err = self.assertRaises(verify.VerifyError, verify.workload, restore)
        self.assertIn('port p1 of server web is not bound and up (ACTIVE, None)', str(err))
        restore.member = True
        self.assertIn('1 ports bound and up', verify.workload(restore))

    def test_a_volume_left_detached_is_named(self):
        restore = FakeRestore(['ok'] * 1000, timeout_seconds=0)
        restore.conn.block_storage.volumes.side_effect = None
        restore.conn.block_storage.volumes.return_value = [mock.Mock(id='v1', attachments=[])]
        err = self.assertRaises(verify.VerifyError, verify.workload, restore)
        self.assertIn('volume v1 is not attached to server web', str(err))
