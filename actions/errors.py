"""The base of every error an operator can cause or fix: its message is the whole story."""


class DraasError(Exception):
    """A clear, complete message (names the plan, site, field or resource concerned)."""


def flag(name, value):
    """`value` if it is true or false; a DraasError naming input `name` otherwise (a string
    "false" would count as true)."""
    if not isinstance(value, bool):
        raise DraasError('%s: expected true or false, got %r' % (name, value))
    return value
