"""Mistral actions of draas: thin adapters over the domain functions.

Each class is registered under a `draas.<area>.<verb>` name through the `mistral.actions`
entry point (setup.cfg). Its __init__ arguments are the action's inputs (JSON-safe values
only: Mistral serialises the instance to send it to an executor) and the `:param` lines of
its docstring describe them.
"""
import logging

from mistral_lib import actions

from actions import sites

LOG = logging.getLogger(__name__)


class SitesCheck(actions.Action):
    """Check which OpenStack services of the given sites answer.

    Returns {healthy, problems, sites: {name: {healthy, problems, services}}}.

    :param sites: names of clouds.yaml entries to check, e.g. ["site-a", "site-b"]
    :param require_healthy: when true the task fails if a core service of a site does
        not answer (the error lists the problems); when false the report is returned as is
    :param timeout: seconds to wait for each API call
    """

    def __init__(self, sites, require_healthy=True, timeout=sites.DEFAULT_TIMEOUT):
        self.sites = sites
        self.require_healthy = require_healthy
        self.timeout = timeout

    def run(self, context):
        try:
            report = sites.check_sites(self.sites, timeout=self.timeout)
        except sites.SiteError as exc:
            # Bad input: the same shape as a report, so workflows publish it alike.
            return actions.Result(error={'healthy': False, 'problems': [str(exc)]})
        except Exception as exc:
            LOG.exception('draas.sites.check failed')
            return actions.Result(error={'healthy': False, 'problems': [
                'internal error: %s: %s (see the Mistral executor log)'
                % (type(exc).__name__, exc)]})
        if self.require_healthy and not report['healthy']:
            # Only the problems: Mistral repeats the error in the execution's state info.
            return actions.Result(error={'healthy': False, 'problems': report['problems']})
        return report
