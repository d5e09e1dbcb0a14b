"""Start-up speed: the main group's options skip typer's converters while they are unset.

typer (0.29) builds a pydantic ``TypeAdapter`` for each option the parser processes, even an
option that was not given. For ``p2pchain <noun> --help`` that means importing pydantic for the
main group's options alone: about 0.1 s, a third of the start-up budget. :class:`FastGroup`
gives those options a converter that returns "unset" as it is and builds the real one only
when a value arrives, so nothing changes for options that are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer.core import TyperGroup

try:  # typer's runtime converters (0.29); older typers convert differently and need nothing
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
except ImportError:  # pragma: no cover - depends on the installed typer
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Deferred(RuntimeParam):
        """Converts unset values itself; builds typer's converter only for a real value."""

        descriptor: TypeDescriptor

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            real = build_runtime_param(self.descriptor)
            param._runtime_param = real
            return real._coerce_value(value, param=param, ctx=ctx)


class FastGroup(TyperGroup):
    """The main group: its options convert lazily (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _defer(param)

    def get_help_option(self, ctx: Any) -> Any:
        """The ``--help`` option, converting lazily too."""
        option = super().get_help_option(ctx)
        if option is not None:
            _defer(option)
        return option


def _defer(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if RuntimeParam is None or descriptor is None:
        return
    if getattr(param, "_runtime_param", "unset") is None:
        param._runtime_param = _Deferred(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            descriptor=descriptor,
        )
