"""Mistral actions of draas: thin adapters over the domain functions.

Each class is registered under a `draas.<area>.<verb>` name through the `mistral.actions`
entry point (setup.cfg). Its __init__ arguments are the action's inputs (JSON-safe values
only: Mistral serialises the instance to send it to an executor) and the `:param` lines of
its docstring describe them.
"""
import contextlib
import json
import logging

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from mistral_lib import actions
from mistralclient.api import base as mistral_api_base
from mistralclient.api import client as mistral_client

from actions import access
from actions import checkpoint
from actions import drill
from actions import errors
from actions import failback
from actions import hooks
from actions import inputs as inputs_mod
from actions import outcome
from actions import plan as plan_mod
from actions import protect
from actions import report
from actions.replication import location
from actions import restore
from actions import sites

LOG = logging.getLogger(__name__)


class DraasAction(actions.Action):
    """Runs `call()` once the caller may act on the action's plans (actions/access.py); a
    DraasError becomes the task's error message, anything else an 'internal error' message
    pointing at the executor log (never a traceback in outputs)."""
    role = access.WRITE_ROLE  # the caller's role an action needs in its plan's project
    who = None  # the caller, once run() has asked Keystone (access.caller)
    valid = ()  # self.plans(), validated once by run()

    def call(self):
        raise NotImplementedError

    def plans(self):
        """The validated plans the action acts on."""
        return [plan_mod.validate(self.plan)]

    def run(self, context):
        self.context = context
        try:
            self.who = access.caller(getattr(context, 'security', None))
            with sites.closing_connections():
                self.valid = self.plans()
                for plan in self.valid:
                    access.authorize(self.who, plan, self.role)
                return self.call()
        except errors.DraasError as exc:
            return actions.Result(error=str(exc))
        except Exception as exc:
            LOG.exception('%s failed', type(self).__name__)
            return actions.Result(error='internal error: %s: %s (see the Mistral executor '
                                        'log)' % (type(exc).__name__, exc))


class SitesCheck(actions.Action):
    """Check which OpenStack services of the given sites answer.

    Returns {healthy, problems, sites: {name: {healthy, problems, services}}}.

    :param sites: names of clouds.yaml entries to check, e.g. ["site-a", "site-b"]
    :param require_healthy: when true the task fails if a core service of a site does
        not answer (the error lists the problems); when false the report is returned as is
    :param timeout: seconds to wait for each API call
    :param data_paths: also say, for each ordered pair of healthy sites, whether the
        second reads the backups the first makes (location.check_pairs)
    :param reprobe: probe those pairs anew, not trusting a pass of the last day
    """

    def __init__(self, sites, require_healthy=True, timeout=sites.DEFAULT_TIMEOUT,
                 data_paths=True, reprobe=False):
        self.sites = sites
        self.require_healthy = require_healthy
        self.timeout = timeout
        self.data_paths = data_paths
        self.reprobe = reprobe

    def run(self, context):
        try:
            errors.flag('require_healthy', self.require_healthy)
            errors.flag('data_paths', self.data_paths)
            errors.flag('reprobe', self.reprobe)
            report = sites.check_sites(self.sites, timeout=self.timeout)
            if self.data_paths:
                with sites.closing_connections():
                    report['data_paths'] = location.check_pairs(
                        [name for name, r in report['sites'].items() if r['healthy']],
                        self.reprobe)
        except errors.DraasError as exc:
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
        report['outcome'] = outcome.sites(report)
        return report


class InputsValidate(DraasAction):
    """Read a workflow's inputs as the CLI, a cron trigger or Horizon's Execute form sent
    them (text included: actions/inputs.py) and validate its plan; returns them typed, the
    plan resolved and normalised. The first task of every draas workflow.

    :param inputs: the workflow's inputs, by name
    :param role: what the workflow needs of its caller: "member" (it changes something) or
        "reader" (it only reads)
    """

    def __init__(self, inputs, role=access.WRITE_ROLE):
        self.inputs = inputs
        self.role = role

    def typed(self):
        if getattr(self, '_typed', None) is None:  # plans() then call(): read once
            self._typed = self._read()
        return self._typed

    def _read(self):
        if self.role not in (access.WRITE_ROLE, access.READ_ROLE):
            raise errors.DraasError('role: expected member or reader, got %r' % (self.role,))
        if not isinstance(self.inputs, dict):
            raise errors.DraasError('inputs: expected an object, got %r' % (self.inputs,))
        typed = inputs_mod.read(self.inputs)
        if 'plan' in typed:
            typed['plan'] = plan_mod.validate(typed['plan'])
        return typed

    def plans(self):
        typed = self.typed()
        return ([typed['plan']] if 'plan' in typed else
                ReportPlans(typed['plans']).plans() if 'plans' in typed else [])

    def call(self):
        return self.typed()

    def run(self, context):
        result = super().run(context)
        execution = getattr(context, 'execution', None)
        if not isinstance(result, actions.Result) and execution:
            describe_execution(context, self.who, result)
        return result


def described(given, text):
    """An execution's description with `text` first. A cron trigger's is JSON that Mistral
    reads back (triggered_by: it deletes the trigger's trust with its last execution): its
    "description" field gets the text."""
    try:
        doc = json.loads(given or '')
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        doc['description'] = described(doc.get('description'), text)
        return json.dumps(doc)
    if not given:
        return text
    return given if given.startswith(text) else '%s; %s' % (text, given)


def describe_execution(context, who, typed):
    """Say first in the running execution's description what it is (inputs.describe of its
    `typed` inputs; Horizon shows it on the execution's page). Best effort: no workflow
    fails for its description."""
    execution_id = context.execution.workflow_execution_id
    if not execution_id:
        return
    try:
        with mistral_of(context, who) as client:
            if client is None:
                return  # Mistral without authentication, or no Mistral in the catalog
            text = inputs_mod.describe(context.execution.workflow_name, typed)
            given = client.executions.get(execution_id).description
            if described(given, text) != given:  # not a rerun of the task
                client.executions.update(execution_id, None,
                                         description=described(given, text))
    except Exception:
        LOG.warning('could not set the description of execution %s', execution_id,
                    exc_info=True)


@contextlib.contextmanager
def mistral_of(context, who):
    """A client of the Mistral running the action, as its caller (`who`: access.caller);
    None when Mistral runs without authentication or is not in the catalog."""
    if not (who and who.get('mistral_url')):
        yield None
        return
    url = who['mistral_url']
    session = ks_session.Session(auth=token_endpoint.Token(url, context.security.auth_token),
                                 timeout=access.TIMEOUT)
    try:
        yield mistral_client.client(mistral_url=url, session=session)
    finally:
        session.session.close()


def workflow_lookup(client):
    """name -> the workflow as Mistral has it, or None (hooks.check's `workflows`)."""
    def lookup(name):
        try:
            return client.workflows.get(name)
        except mistral_api_base.APIException as exc:
            if exc.error_code == 404:
                return None
            raise
    return lookup


class PlanValidate(DraasAction):
    """Validate a protection plan; returns it normalised (policy resolved, defaults set).

    :param plan: the plan, as an object, as YAML/JSON text, or as the reference
        "<name>@<site>" of a plan saved at its recovery site (draas-install --plans)
    """

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        return plan_mod.validate(self.plan)


class CheckpointBegin(DraasAction):
    """Start a checkpoint of a plan: validate it, take the plan's lock in the store.

    Returns {checkpoint_id, plan, store, hooks (the plan's hook workflows with their inputs,
    checked: hooks.check; null without)}; fails at once if a checkpoint of the plan runs.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    """

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        plan = self.valid[0]
        with mistral_of(self.context, self.who) as client:
            if client is None and plan['options'].get('hooks'):
                raise hooks.HookError('plan %r names hook workflows, and this Mistral cannot '
                                      'be asked for them (no authentication)' % plan['name'])
            lookup = client and workflow_lookup(client)
            ready = lookup and hooks.check(lookup, plan)  # before the lock: nothing to undo
            begun = protect.begin(self.plan)
            # The hooks' inputs with the run's checkpoint ID where they take one.
            begun['hooks'] = ready and hooks.check(lookup, plan, begun['checkpoint_id'])
            return begun


class _CheckpointStep(DraasAction):
    """A step of a checkpoint run: a function of actions.protect(plan, checkpoint_id)."""
    _step = None

    def __init__(self, plan, checkpoint_id):
        self.plan = plan
        self.checkpoint_id = checkpoint_id

    def call(self):
        return type(self)._step(self.plan, self.checkpoint_id)


class CheckpointExport(_CheckpointStep):
    """Discover the workload on the source and store its metadata in the checkpoint.

    Returns {counts per kind, requests (total, by service), seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the ID returned by draas.checkpoint.begin
    """
    _step = staticmethod(protect.export)


class CheckpointSnapshot(_CheckpointStep):
    """The point-in-time step: snapshot the root disks (Nova) and volumes (Cinder) of the
    checkpoint's workload, back to back, and wait until each has its bytes taken.

    Returns {root_disks, volumes, seconds, freeze_seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the ID returned by draas.checkpoint.begin
    :param freeze_seconds: when hook workflows froze the application: the seconds the
        snapshots may take (else they fail, and are deleted); null without hooks
    """

    def __init__(self, plan, checkpoint_id, freeze_seconds=None):
        super().__init__(plan, checkpoint_id)
        self.freeze_seconds = freeze_seconds

    def call(self):
        return protect.snapshot(self.plan, self.checkpoint_id, self.freeze_seconds)


class CheckpointReplicate(_CheckpointStep):
    """Copy images, root disk snapshots and volume data to the target per the plan's
    policy; record the consistency each server reached.

    Returns {images, image_bytes_copied, root_disks, root_disk_bytes_copied, volumes,
    incremental_backups, volume_bytes_copied, consistency, servers_by_consistency, seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the ID returned by draas.checkpoint.begin
    :param hooks: the hook workflows that ran around the snapshots ({pre, post: {workflow,
        finished_at}}), null without
    """

    def __init__(self, plan, checkpoint_id, hooks=None):
        super().__init__(plan, checkpoint_id)
        self.hooks = hooks

    def call(self):
        return protect.replicate(self.plan, self.checkpoint_id, self.hooks)


class CheckpointCommit(DraasAction):
    """Commit a checkpoint: write its manifest, apply retention, release the lock.

    Returns {checkpoint_id, committed_at, counts (resources per kind), pruned (checkpoints
    retention removed), outcome (lines, actions/outcome.py)}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the ID returned by draas.checkpoint.begin
    :param summary: a small object recorded in the manifest (e.g. the other steps' results)
    """

    def __init__(self, plan, checkpoint_id, summary=None):
        self.plan = plan
        self.checkpoint_id = checkpoint_id
        self.summary = summary

    def call(self):
        result = protect.commit(self.plan, self.checkpoint_id, self.summary)
        result['outcome'] = outcome.checkpoint(self.valid[0], result)
        return result


class CheckpointAbort(_CheckpointStep):
    """Abandon a checkpoint run: remove its uncommitted parts, release the lock.

    Returns {checkpoint_id, aborted: true}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the ID returned by draas.checkpoint.begin
    """
    _step = staticmethod(protect.abort)


class CheckpointList(DraasAction):
    """List the committed checkpoints of a plan, oldest first.

    Returns [{checkpoint_id, created_at}].

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    """

    role = access.READ_ROLE

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        checkpoints = protect.checkpoints_of(self.plan)
        return [{'checkpoint_id': cid,
                 'created_at': checkpoint.iso(checkpoint.checkpoint_time(cid))}
                for cid in checkpoints.list()]


class _CheckpointRead(DraasAction):
    """Reads a committed checkpoint: a function of actions.protect(plan, checkpoint_id)."""
    _read = None

    role = access.READ_ROLE

    def __init__(self, plan, checkpoint_id=None):
        self.plan = plan
        self.checkpoint_id = checkpoint_id

    def call(self):
        return type(self)._read(self.plan, self.checkpoint_id)


class CheckpointVerify(_CheckpointRead):
    """Verify a checkpoint against its manifest (every part's sha256).

    Returns the manifest's summary and an outcome (lines, actions/outcome.py); fails naming
    the part that does not match.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint to verify (default: the latest committed one)
    """
    _read = staticmethod(protect.verify)

    def call(self):
        result = super().call()
        result['outcome'] = outcome.verified(self.valid[0], result)
        return result


class CheckpointShow(_CheckpointRead):
    """Show a committed checkpoint, verified: manifest (counts, times, consistency,
    summary) and per image/volume what a restore uses (backup IDs, not the records).

    Returns the manifest's fields (checkpoint_id, counts, times, consistency, summary...)
    without hashes, with parts (names), images and volumes.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint to show (default: the latest committed one)
    """
    _read = staticmethod(protect.show)


class CheckpointPrune(DraasAction):
    """Apply the plan's retention now: remove expired checkpoints and the backups only they
    used; retry backup deletions left pending. Fails at once if a checkpoint runs.

    Returns {pruned, kept, pending_deletions, outcome (lines, actions/outcome.py)}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    """

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        result = protect.prune_now(self.plan)
        result['outcome'] = outcome.pruned(self.valid[0], result)
        return result


class FailoverStopSource(DraasAction):
    """Planned failover: stop the workload's servers on the source site and wait until
    they are quiet, so that a final checkpoint loses nothing. Returns {stopped, current
    (the latest checkpoint when it is still the final one: a re-run restores it again)}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    """

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        return protect.stop_servers(self.plan)


class RestorePreflight(DraasAction):
    """Check the target site for a restore of a checkpoint, touching nothing there.

    Verifies the checkpoint's hashes, the mapped external networks, flavors, image copies,
    volume data, keypairs and quotas; fails listing every problem. Returns {restore_id,
    checkpoint_id, checkpoint_created_at, levels, preview (readable lines of what would be
    made), warnings, counts} and, with dry_run, an outcome (lines, actions/outcome.py).

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint to restore (default: the latest committed one)
    :param mode: "unplanned" or "planned" (recorded in the restore's summary), or "drill"
        (a restore into an isolated bubble: needs a restore_id "drill-<id>")
    :param restore_id: the restore to resume or start (default: failover-<checkpoint_id>;
        a drill's ID, "drill-" and 4 to 16 lower-case letters or digits)
    :param dry_run: true when nothing follows: the restore's start is not recorded
    :param stop_after: fault injection for tests (the execution's env draas_stop_after,
        never a workflow input): the level to stop after, checked here so that a wrong one
        fails before anything is recorded
    :param started_at: when the restore began (a planned failover's stop of the source,
        seconds since the epoch; default: now): its RTO counts from there
    """

    def __init__(self, plan, checkpoint_id=None, mode='unplanned', restore_id=None,
                 dry_run=False, stop_after=None, started_at=None):
        self.plan = plan
        self.checkpoint_id = checkpoint_id
        self.mode = mode
        self.restore_id = restore_id
        self.dry_run = dry_run
        self.stop_after = stop_after
        self.started_at = started_at

    def call(self):
        result = restore.preflight(self.plan, self.checkpoint_id, self.mode, self.restore_id,
                                   self.dry_run, self.stop_after, self.started_at)
        if self.dry_run:
            result['outcome'] = outcome.preflight(self.valid[0], result, self.mode)
        return result


class RestoreApply(DraasAction):
    """Apply one dependency level of a restore: create what is missing, in parallel,
    recording the ID map in the checkpoint store. Returns {level, created, existing,
    seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint being restored
    :param restore_id: the restore ID returned by draas.restore.preflight
    :param level: one of identity, compute, volumes, network, network_links, ports,
        servers, attach
    :param stop_after: fault injection for tests (the execution's env draas_stop_after):
        fail right after this level
    """

    def __init__(self, plan, checkpoint_id, restore_id, level, stop_after=None):
        self.plan = plan
        self.checkpoint_id = checkpoint_id
        self.restore_id = restore_id
        self.level = level
        self.stop_after = stop_after

    def call(self):
        return restore.apply(self.plan, self.checkpoint_id, self.restore_id, self.level,
                             self.stop_after)


class RestoreFinish(DraasAction):
    """Verify the restored workload (actions/verify.py), compare it with the checkpoint
    (actions/fidelity.py) and finish the restore.

    Returns its summary: {restore_id, checkpoint_id, target, project_id, mode, counts,
    levels (created, existing, seconds per level), verified (the checks passed),
    verify_seconds, rto_seconds, rto_target_seconds, rpo_seconds, rpo_target_seconds,
    rpo_of (checkpoint, or replicas: the RPO is the replicas' largest lag),
    checkpoint_age_seconds, fidelity (resources, fields, differences), users_to_enable,
    replaced_servers, finished_at, outcome (lines, actions/outcome.py)}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint restored
    :param restore_id: the restore ID returned by draas.restore.preflight
    """

    def __init__(self, plan, checkpoint_id, restore_id):
        self.plan = plan
        self.checkpoint_id = checkpoint_id
        self.restore_id = restore_id

    def call(self):
        summary = restore.finish(self.plan, self.checkpoint_id, self.restore_id)
        summary['outcome'] = outcome.restore(self.valid[0], summary)
        return summary


class RestoreCompare(DraasAction):
    """Compare a restored workload with its checkpoint now, field by field (the fidelity
    report of a failover's or drill's summary, on demand); changes nothing.
    Returns {restore_id, checkpoint_id, resources, fields, differences}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the checkpoint restored (default: the latest)
    :param restore_id: the restore (default: the failover of the checkpoint; a drill's ID for
        a drill kept with keep)
    """
    role = access.READ_ROLE

    def __init__(self, plan, checkpoint_id=None, restore_id=None):
        self.plan = plan
        self.checkpoint_id = checkpoint_id
        self.restore_id = restore_id

    def call(self):
        return restore.compare(self.plan, self.checkpoint_id, self.restore_id)


class DrillCleanup(DraasAction):
    """Remove what a drill made on the recovery site (its project and everything tagged
    with or named after its ID); safe to run again. Returns {cleaned: {drill ID: counts per
    kind}, skipped (drills left alone), seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param drill_id: the drill to remove (default: every drill of the plan left behind:
        kept ones, and unfinished ones older than min_age_minutes)
    :param min_age_minutes: without drill_id, unfinished drills younger than this are left
        alone, they may still run (default: the plan's options.restore.timeout_minutes)
    """

    def __init__(self, plan, drill_id=None, min_age_minutes=None):
        self.plan = plan
        self.drill_id = drill_id
        self.min_age_minutes = min_age_minutes

    def call(self):
        result = drill.cleanup(self.plan, self.drill_id, self.min_age_minutes)
        result['outcome'] = outcome.cleaned(self.valid[0], result)
        return result


class ReportPlans(DraasAction):
    """The DR report of plans: per plan the RPO achieved now (last committed checkpoint)
    and the RTO last measured (drill or failover) against the policy, checkpoint count,
    size and retention, drift between the last two checkpoints. Returns {plans, table,
    violations, outcome (lines, actions/outcome.py)}.

    :param plans: a list of protection plans (objects, YAML/JSON text or "<name>@<site>")
    :param fail_on_violation: the workflow's input, checked here (true or false)
    """

    role = access.READ_ROLE

    def __init__(self, plans, fail_on_violation=False):
        self.documents = plans
        self.fail_on_violation = fail_on_violation

    def plans(self):
        valid = []
        for document in self.documents if isinstance(self.documents, list) else ():
            try:
                valid.append(plan_mod.validate(document))
            except errors.DraasError:
                pass  # a plan that is not valid is a row of the report saying why
        return valid

    def call(self):
        errors.flag('fail_on_violation', self.fail_on_violation)
        result = report.report(self.documents)
        result['outcome'] = outcome.report(result)
        return result


class StandbyStage(_CheckpointStep):
    """Warm standby: stage on the target, from a committed checkpoint, what changes rarely
    (identity, flavors, keypairs, networks, subnets, security groups, routers, ports,
    floating IPs), so that a failover only restores volumes and boots servers. Does nothing
    unless the plan's policy has standby "warm". Returns {staged, restore_id, levels,
    backups_imported, seconds}.

    :param plan: the protection plan (object, YAML/JSON text or "<name>@<site>")
    :param checkpoint_id: the committed checkpoint to stage from
    """
    _step = staticmethod(restore.stage)


class FailbackReprotect(DraasAction):
    """Make the reverse plan of a failed-over plan (source and target swapped, mappings
    inverted, named "<plan>-back") and save it at the original site; volumes an array
    replicated replicate back from now on (adapters that can reverse). Returns {plan,
    reference, replicas_reversed}.

    :param plan: the plan that was failed over (object, YAML/JSON text or "<name>@<site>")
    """

    def __init__(self, plan):
        self.plan = plan

    def call(self):
        return failback.reprotect(self.plan)
