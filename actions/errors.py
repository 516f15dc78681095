"""The base of every error an operator can cause or fix: its message is the whole story."""


class DraasError(Exception):
    """A clear, complete message (names the plan, site, field or resource concerned)."""
