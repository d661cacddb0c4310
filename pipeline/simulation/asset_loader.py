"""Import each Lambda handler from its own synthesized asset, alone, the way Lambda loads it.

Lambda unpacks a function's asset into /var/task and imports the handler from there, with nothing
else of this repository: only the asset, the layer (Powertools) and the runtime (its SDK). The
simulation and the sandbox do the same, in-process (moto's backends, the fake Bedrock and the
virtual clock live in this process, and the handlers' boto3 calls must reach them):

- each asset (a zip of the cloud assembly, unpacked once per content by
  :func:`infra.lambda_runtime.unpacked`) gets a namespace of its own: its ``lambdas`` and
  ``pipeline`` packages are imported from its files as ``_lambda_asset_<sha>.lambdas...``, so eleven
  assets never share a module with each other or with the repository's ``pipeline`` the simulation
  itself runs on;
- every module of an asset runs with an ``__import__`` of its own (its ``__builtins__``): an import
  of ``lambdas.*`` or ``pipeline.*`` resolves in the same asset and nowhere else (a module the
  asset does not ship is a ``ModuleNotFoundError``, as in Lambda); any other import must be the
  standard library, the runtime's SDK or the layer's packages (:mod:`infra.lambda_runtime`), taken
  from this process (which pins the same releases), or it fails as it would in Lambda.

A bundled SDK in an asset is not imported: the process's boto3 (the same pinned release, checked
by the asset tests) is the one moto intercepts.

One thing differs from Lambda because eleven functions share this process: Python's logging
registry. Powertools names a function's logger after its service (``logging.getLogger(service)``)
and configures it once per process; the second function would find it configured by the first and
be left without a formatter. In Lambda each function has a process, so a registry, of its own: the
loader gives each asset that, by naming the service loggers created while its modules load
``<namespace>.<service>``. Nothing the handlers log or emit changes (the ``service`` in every log
line and metric is still the function's).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import importlib.machinery
import logging
import sys
import threading
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from infra.lambda_runtime import LAYER_PACKAGES, RUNTIME_PACKAGES, unpacked

_PROJECT: Final = frozenset({"lambdas", "pipeline"})
_ALLOWED: Final = frozenset(sys.stdlib_module_names) | frozenset(RUNTIME_PACKAGES) | frozenset(LAYER_PACKAGES)
PREFIX: Final = "_lambda_asset_"


class AssetImportError(ModuleNotFoundError):
    """A module an asset's code imports is neither in the asset nor in the Lambda runtime or layer."""


class AssetNamespace:
    """The project modules of one unpacked asset, imported under a prefix of their own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        key = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
        self.prefix = f"{PREFIX}{key}"
        self._builtins = dict(vars(builtins))
        self._builtins["__import__"] = self._import
        self._lock = threading.RLock()
        package = types.ModuleType(self.prefix)
        package.__path__ = []
        sys.modules.setdefault(self.prefix, package)

    def load(self, module: str) -> types.ModuleType:
        """The asset's ``module`` (e.g. ``lambdas.cleanup.handler``), importing it on first use."""
        import aws_lambda_powertools  # noqa: F401 - its own module loggers keep their names

        with self._lock, self._private_loggers():
            return self._module(module)

    @contextlib.contextmanager
    def _private_loggers(self) -> Iterator[None]:
        """Service loggers (undotted names) created meanwhile are this asset's own (module docstring)."""
        real = logging.getLogger

        def get_logger(name: str | None = None) -> logging.Logger:
            if name is None or "." in name or name == "root" or name.startswith(PREFIX):
                return real(name)
            return real(f"{self.prefix}.{name}")

        logging.getLogger = get_logger
        try:
            yield
        finally:
            logging.getLogger = real

    def loaded(self, module: str) -> types.ModuleType | None:
        found = sys.modules.get(f"{self.prefix}.{module}")
        return found if isinstance(found, types.ModuleType) else None

    def _module(self, name: str) -> types.ModuleType:
        real = f"{self.prefix}.{name}"
        existing = sys.modules.get(real)
        if existing is not None:
            return existing
        parent_name, _, child = name.rpartition(".")
        parent = self._module(parent_name) if parent_name else None
        base = self.directory.joinpath(*name.split("."))
        if (base / "__init__.py").is_file():
            path, package = base / "__init__.py", True
        elif base.with_suffix(".py").is_file():
            path, package = base.with_suffix(".py"), False
        else:
            raise ModuleNotFoundError(
                f"No module named {name!r} (not in the asset {self.directory})", name=name
            )
        module = types.ModuleType(real)
        module.__file__ = str(path)
        module.__builtins__ = self._builtins  # type: ignore[attr-defined]
        module.__package__ = real if package else real.rpartition(".")[0]
        module.__spec__ = importlib.machinery.ModuleSpec(real, None, origin=str(path), is_package=package)
        module.__spec__.has_location = True
        if package:
            module.__path__ = [str(base)]
        sys.modules[real] = module
        try:
            exec(_compiled(path), module.__dict__)  # noqa: S102 - the asset's own code, as Lambda runs it
        except BaseException:
            sys.modules.pop(real, None)
            raise
        if parent is not None:
            setattr(parent, child, module)
        return module

    def _import(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level:
            package = str((globals or {}).get("__package__") or "")
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - level + 1])
            name = f"{base}.{name}" if name else base
            name = name.removeprefix(f"{self.prefix}.")
        top = name.partition(".")[0]
        if top not in _PROJECT:
            if top not in _ALLOWED:
                raise AssetImportError(
                    f"No module named {top!r}: Lambda has it neither in the asset, the runtime nor the "
                    "Powertools layer",
                    name=top,
                )
            module: types.ModuleType = builtins.__import__(name, globals, locals, fromlist or (), 0)
            return module
        with self._lock:
            module = self._module(name)
            if not fromlist:
                return self._module(top)
            for item in fromlist:
                if item != "*" and not hasattr(module, item):
                    try:
                        self._module(f"{name}.{item}")
                    except ModuleNotFoundError as error:
                        # `from package import missing`: ImportError from the import statement itself.
                        if error.name != f"{name}.{item}":
                            raise
            return module


_compiled_cache: dict[tuple[str, int, int], types.CodeType] = {}
_namespaces: dict[Path, AssetNamespace] = {}
_namespaces_lock = threading.Lock()


def _compiled(path: Path) -> types.CodeType:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    code = _compiled_cache.get(key)
    if code is None:
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        _compiled_cache[key] = code
    return code


def namespace(asset: Path) -> AssetNamespace:
    """The namespace of an asset of the cloud assembly (a zip or a folder), one per asset content."""
    directory = unpacked(asset)
    with _namespaces_lock:
        found = _namespaces.get(directory)
        if found is None:
            found = _namespaces[directory] = AssetNamespace(directory)
        return found
