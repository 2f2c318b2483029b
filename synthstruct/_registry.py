"""Name -> component registries with lazy imports.

Built-in components are registered exactly like third-party ones: a name mapped to a dotted path
``"package.module:Attribute"`` that is imported only when the component is first used, so that
``import synthstruct`` stays light (no torch, no SDV, no spaCy). Third-party packages add components
through entry points in the group ``synthstruct.<kind>`` (e.g. ``synthstruct.engines``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from synthstruct.errors import InputError, Problem

__all__ = ["ENGINES", "Registry", "TEXT_GENERATORS"]


class Registry:
    """A lazy registry of named components of one kind.

    Args:
        kind: Human name of the component kind, used in messages ("engine").
        group: Entry-point group scanned for plugins.
        builtins: Built-in name -> ``"module:attribute"`` paths.
    """

    def __init__(self, kind: str, group: str, builtins: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self._paths: dict[str, str] = dict(builtins)
        self._plugins_loaded = False

    def register(self, name: str, path: str) -> None:
        """Register ``name`` -> ``"module:attribute"`` (overrides an existing name)."""
        self._paths[name] = path

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            self._paths.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_plugins()
        return sorted(self._paths)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._paths

    def get(self, name: str) -> Any:
        """Import and return the component registered as ``name``.

        Raises:
            InputError: ``name`` is not registered.
        """
        self._load_plugins()
        try:
            path = self._paths[name]
        except KeyError:
            raise InputError(
                f"unknown {self.kind} {name!r}",
                [Problem(self.kind, f"{name!r} is not registered", f"use one of: {', '.join(self.names())}")],
            ) from None
        module_name, _, attribute = path.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attribute) if attribute else module


#: The engine used when none is named.
DEFAULT_ENGINE = "fast_copula"

ENGINES = Registry(
    "engine",
    "synthstruct.engines",
    {
        "fast_copula": "synthstruct.synthesizers.fast_copula:FastCopulaEngine",
        "gaussian_copula": "synthstruct.synthesizers.sdv_engines:SDVGaussianCopulaEngine",
        "ctgan": "synthstruct.synthesizers.sdv_engines:SDVCTGANEngine",
        "tvae": "synthstruct.synthesizers.sdv_engines:SDVTVAEEngine",
        "dp": "synthstruct.synthesizers.dp_engine:DPEngine",
    },
)


TEXT_GENERATORS = Registry(
    "text generator",
    "synthstruct.text_generators",
    {
        "template": "synthstruct.text.template:TemplateTextGenerator",
        "local": "synthstruct.text.local:LocalTextGenerator",
        "openai": "synthstruct.text.openai:OpenAITextGenerator",
    },
)
