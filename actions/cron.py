"""Cron patterns of checkpoint schedules, checked before Mistral sees them, with croniter
(what Mistral itself reads cron triggers with).

Mistral only rejects a bad pattern when the cron trigger is made, after draas-install has
replaced the plan's old trigger; and a pattern firing less often than the RPO can never
meet it.
"""
import datetime

import croniter

FIELDS = (('minute', '0-59'), ('hour', '0-23'), ('day of month', '1-31'),
          ('month', '1-12 or jan-dec'), ('day of week', '0-7 or sun-sat'))
# Days looked at for the longest gap: 8 years hold every calendar, 29 February included.
SPAN_DAYS = 8 * 366
START = datetime.datetime(2024, 1, 1)


class CronError(ValueError):
    pass


def parse(pattern):
    """croniter's expansion of a five-field pattern; raises CronError naming the field that
    is wrong."""
    parts = pattern.split()
    if len(parts) != 5:
        raise CronError('expected five fields (minute hour day month weekday), got %d'
                        % len(parts))
    try:
        return croniter.croniter.expand(pattern)[0]
    except (croniter.CroniterError, ValueError) as exc:
        for i, (name, values) in enumerate(FIELDS):
            alone = ' '.join(part if j == i else '*' for j, part in enumerate(parts))
            try:
                croniter.croniter.expand(alone)
            except (croniter.CroniterError, ValueError):
                raise CronError('%s %r: expected %s, with "*", ranges, lists and "/steps"'
                                % (name, parts[i], values)) from None
        raise CronError('%r: %s' % (pattern, exc)) from None


def _days(pattern):
    """Offsets from START of the days `pattern` fires on within SPAN_DAYS (croniter's day
    rules: when both day of month and day of week are restricted, either fires)."""
    day_pattern = '0 0 ' + ' '.join(pattern.split()[2:])
    it = croniter.croniter(day_pattern, START - datetime.timedelta(minutes=1))
    days = []
    try:
        while True:
            offset = (it.get_next(datetime.datetime) - START).days
            if offset >= SPAN_DAYS:
                return days
            days.append(offset)
    except croniter.CroniterBadDateError:
        return days  # fires no more (or never)


def longest_gap_minutes(pattern):
    """The longest time between two firings of `pattern`, in minutes."""
    minutes, hours = parse(pattern)[:2]
    minutes = range(60) if minutes == ['*'] else minutes
    hours = range(24) if hours == ['*'] else hours
    times = sorted(h * 60 + m for h in hours for m in minutes)
    fired = _days(pattern)
    if not fired:
        raise CronError('%r never fires (no such day)' % pattern)
    gaps = [b - a for a, b in zip(times, times[1:])]
    gaps += [(b - a) * 1440 - times[-1] + times[0] for a, b in zip(fired, fired[1:])]
    return max(gaps)  # every pattern fires more than once in SPAN_DAYS
