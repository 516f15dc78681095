"""The one way draas waits: poll until something is there, or fail naming what is not.

Every wait of a restore, a checkpoint or a drill cleanup goes through until(), over
openstacksdk's own timer (openstack.utils.iterate_timeout).
"""
from openstack import exceptions
from openstack import utils


def until(check, timeout, interval, timed_out):
    """Call check() every `interval` seconds until it returns something other than None,
    and return that; after `timeout` seconds raise timed_out() (an exception to raise).
    check() runs at least once, and may raise to end the wait at once (e.g. a resource in
    error)."""
    ticks = utils.iterate_timeout(timeout, 'timed out', wait=interval)
    try:
        next(ticks)  # starts the clock, no sleep
    except exceptions.ResourceTimeout:
        ticks = iter(())  # no time at all: one check
    while True:
        result = check()
        if result is not None:
            return result
        try:
            next(ticks)  # sleeps `interval`, or raises once `timeout` is over
        except (exceptions.ResourceTimeout, StopIteration):
            raise timed_out() from None
