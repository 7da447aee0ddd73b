"""backproof's own process runs without pydantic plugins, unless the user says otherwise.

pydantic looks for plugins when it builds its first model: it imports ``importlib.metadata`` and
reads the entry points of every installed distribution (about 27 M instructions of ``list``'s
845 M with the ~100 distributions of a development install, whether or not any plugin exists).
A pydantic plugin (logfire's, say) observes the validations of the application that installs it;
backproof's models are its own configuration, manifests and records, which such a plugin was not
installed for. So the command line sets pydantic's documented ``PYDANTIC_DISABLE_PLUGINS`` to
``__all__`` for its own process when the variable is not set. A user who wants plugins in
backproof sets it (to an empty value: every plugin; to names: all but those) before running it.

The processes backproof starts (dump tools, hooks) get the environment as the user left it:
:func:`child_environment` leaves the variable out when backproof set it.
"""

from __future__ import annotations

import os

VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
ALL = "__all__"
_SET_HERE: set[str] = set()


def disable_pydantic_plugins() -> None:
    """Turn pydantic's plugins off for this process, unless ``PYDANTIC_DISABLE_PLUGINS`` is set."""
    if VARIABLE not in os.environ:
        os.environ[VARIABLE] = ALL
        _SET_HERE.add(VARIABLE)


def child_environment() -> dict[str, str]:
    """Return ``os.environ`` for a process backproof starts: without the variable it set."""
    environment = dict(os.environ)
    if _SET_HERE and environment.get(VARIABLE) == ALL:
        del environment[VARIABLE]
    return environment
