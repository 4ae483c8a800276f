"""Hook specifications a backend plugin implements.

A plugin is any module or object with functions marked ``@dlcore.hookimpl``, exposed through
an entry point in the ``dlcore`` group::

    [project.entry-points.dlcore]
    mybackend = "mypackage.dlcore_plugin"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .backend import BackendInfo

hookspec = pluggy.HookspecMarker("dlcore")
hookimpl = pluggy.HookimplMarker("dlcore")


@hookspec
def dlcore_backends() -> list[BackendInfo]:
    """Describe the backends this plugin provides.

    Must be cheap: return :class:`dlcore.BackendInfo` records whose ``load`` callable imports
    the framework only when the backend is selected.
    """
