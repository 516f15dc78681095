"""Cron patterns of checkpoint schedules, checked before Mistral sees them.

Mistral only rejects a bad pattern when the cron trigger is made, after draas-install has
replaced the plan's old trigger; and a pattern firing less often than the RPO can never
meet it. Five fields (minute hour day-of-month month day-of-week), each a list of `*`,
`N`, `N-M`, with an optional `/STEP`; months and weekdays also by name (jan, mon).
"""
import datetime

FIELDS = (('minute', 0, 59), ('hour', 0, 23), ('day of month', 1, 31), ('month', 1, 12),
          ('day of week', 0, 7))
NAMES = {3: ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov',
             'dec'),
         4: ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat')}
# Days looked at for the longest gap: 8 years hold every calendar, 29 February included.
SPAN_DAYS = 8 * 366


class CronError(ValueError):
    pass


def _value(text, field):
    name, low, high = FIELDS[field]
    names = NAMES.get(field, ())
    if text.lower() in names:
        return names.index(text.lower()) + (1 if field == 3 else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise CronError('%s %r: expected %d-%d%s' % (
            name, text, low, high, ' or a name (%s-%s)' % (names[0], names[-1])
            if names else ''))
    return int(text)


def _field(text, field):
    name, low, high = FIELDS[field]
    values = set()
    for item in text.split(','):
        span, _, step = item.partition('/')
        if step and (not step.isdigit() or int(step) < 1):
            raise CronError('%s %r: expected a step of 1 or more after "/"' % (name, item))
        if span == '*':
            first, last = low, high
        elif '-' in span:
            first, last = (_value(v, field) for v in span.split('-', 1))
            if first > last:
                raise CronError('%s %r: the range goes backwards' % (name, item))
        else:
            first = _value(span, field)
            last = high if step else first  # "5/15": from 5 on, as cron reads it
        values |= set(range(first, last + 1, int(step or 1)))
    if field == 4 and 7 in values:  # 7 is Sunday too
        values = (values - {7}) | {0}
    return values


def parse(pattern):
    """The five value sets of a cron pattern and whether the day fields are restricted;
    raises CronError naming the field that is wrong."""
    parts = pattern.split()
    if len(parts) != 5:
        raise CronError('expected five fields (minute hour day month weekday), got %d'
                        % len(parts))
    return [_field(text, i) for i, text in enumerate(parts)], \
        parts[2] != '*', parts[4] != '*'


def longest_gap_minutes(pattern):
    """The longest time between two firings of `pattern`, in minutes (cron's rule: when
    both day of month and day of week are restricted, a day matching either fires)."""
    (minutes, hours, days, months, weekdays), by_day, by_weekday = parse(pattern)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    start = datetime.date(2024, 1, 1)
    fired = []
    for offset in range(SPAN_DAYS):
        day = start + datetime.timedelta(days=offset)
        in_month = day.day in days
        in_week = day.isoweekday() % 7 in weekdays
        matches = (in_month or in_week) if by_day and by_weekday else in_month and in_week
        if day.month in months and matches:
            fired.append(offset)
    if not fired:
        raise CronError('%r never fires (no such day)' % pattern)
    gaps = [b - a for a, b in zip(times, times[1:])]
    gaps += [(b - a) * 1440 - times[-1] + times[0] for a, b in zip(fired, fired[1:])]
    return max(gaps)  # every pattern fires more than once in SPAN_DAYS
