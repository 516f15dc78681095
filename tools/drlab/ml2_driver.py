"""ML2 mechanism driver of the lab: binds every port without an agent.

Neutron ships no agentless driver that binds ports (its `test` driver binds magic host names
only), and Nova's fake virt driver needs bound ports to boot servers. Loaded by the lab's
neutron-server through the `neutron.ml2.mechanism_drivers` entry point `draas_lab`.
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class LabMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
