"""What a function's code finds in Lambda besides its asset, and the SDK each handler needs.

Pure Python (no CDK import): the asset staging (:mod:`infra.constructs.pipeline_function`), the
asset tests and the simulation (which loads every handler from its asset the way Lambda does) read
the same facts from here.

The Lambda Python runtime's SDK
    Lambda puts its own boto3/botocore on ``sys.path`` after the function's code and its layers.
    Which version is not published any more: "The version of the AWS SDK included in the Python
    runtime depends on the runtime version and your AWS Region" (AWS Lambda Developer Guide,
    "Building Lambda functions with Python" > "Runtime-included SDK versions", read 2026-12-07;
    it asks you to deploy a function that prints ``boto3.__version__``, which needs an account).
    So the version the runtime ships is UNCONFIRMED. The python3.14 runtime was released on
    2025-11-18 (AWS What's New "AWS Lambda adds support for Python 3.14"); botocore first declared
    Python 3.14 support in 1.39.9 (2025-07-18, botocore commit 55324d13b "Add official Python 3.14
    support"), so the runtime very likely carries at least that: an inference, not relied upon.
    What the project counts on is :data:`RUNTIME_SDK`: only what botocore had before 2025 (the
    last 2024 release, 1.35.90 of 2024-12-28), the same line the workflow draws for Step Functions'
    own SDK integrations. A handler calling anything newer gets the pinned SDK in its asset.

SDK floors
    :data:`API_FLOORS` says, per Bedrock API a handler calls (or request member it sends), the
    first botocore release whose service model has it. Each floor was found in botocore's own
    history (github.com/boto/botocore, tags 1.31.0 to 1.43.67): the named release has the operation
    (or member) in ``botocore/data/<service>/<version>/service-2.json`` and the release before it
    (``absent_in``) does not. Adding an API is one line here; ``tests/infra/test_lambda_assets.py``
    fails for a Bedrock call in a handler's code that has no line.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.metadata
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

RUNTIME: Final = "python3.14"


@dataclass(frozen=True)
class RuntimeSdk:
    """The SDK the project counts on finding in the Lambda runtime (see the module docstring)."""

    boto3: str
    botocore: str
    basis: str


RUNTIME_SDK: Final = RuntimeSdk(
    boto3="1.35.90",
    botocore="1.35.90",
    basis=(
        "UNCONFIRMED: AWS no longer publishes the runtime's SDK version; counted on: the last botocore "
        "of 2024 (1.35.90, 2024-12-28). Inferred but not relied upon: >= 1.39.9 (first botocore "
        "declaring Python 3.14 support; python3.14 runtime released 2025-11-18)"
    ),
)

# Top-level import names the Python runtime provides besides the standard library (the SDK and its
# dependencies, in /var/lang/lib/python3.x/site-packages).
RUNTIME_PACKAGES: Final = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# What the Powertools layer every function has provides (Powertools with its tracer extra; the
# layer leaves boto3 to the runtime). infra.constructs.pipeline_function pins the layer's release.
LAYER_PACKAGES: Final = ("aws_lambda_powertools", "aws_xray_sdk", "wrapt", "typing_extensions")
# The distributions bundled into an asset that needs a newer SDK than the runtime's: the SDK and
# everything it imports, at the versions this project pins and tests with (pyproject.toml).
BUNDLED_DISTRIBUTIONS: Final = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "urllib3",
    "six",
)
# Installer bookkeeping that means nothing in an asset.
_NOT_BUNDLED: Final = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


@dataclass(frozen=True)
class ApiFloor:
    """The first botocore release with ``service``'s ``operation`` (and, if given, the request
    ``member``, a dotted path through the input shape; list levels are skipped)."""

    service: str
    operation: str
    botocore: str
    released: str
    absent_in: str
    member: str | None = None

    @property
    def method(self) -> str:
        """The boto3 client method: ``GetCustomModelDeployment`` -> ``get_custom_model_deployment``."""
        return snake_case(self.operation)


# One line per API (or request member) a handler calls. Source of each: botocore's git history
# (see the module docstring): first release that has it, the release before that does not.
API_FLOORS: Final = (
    ApiFloor("bedrock", "GetFoundationModel", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "GetModelCustomizationJob", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "StopModelCustomizationJob", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "ListModelCustomizationJobs", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "TagResource", "1.31.57", "2023-09-28", "1.31.56"),
    # UNCONFIRMED against botocore's history (not looked up here): part of Bedrock's first control-
    # plane model (2023-04-20) with TagResource and GetModelCustomizationJob, so taken as theirs.
    ApiFloor("bedrock", "ListTagsForResource", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "GetCustomModel", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock", "GetProvisionedModelThroughput", "1.31.58", "2023-10-02", "1.31.57"),
    ApiFloor("bedrock", "ListProvisionedModelThroughputs", "1.31.58", "2023-10-02", "1.31.57"),
    ApiFloor("bedrock", "DeleteProvisionedModelThroughput", "1.31.58", "2023-10-02", "1.31.57"),
    ApiFloor("bedrock", "UpdateProvisionedModelThroughput", "1.31.58", "2023-10-02", "1.31.57"),
    ApiFloor("bedrock", "CreateEvaluationJob", "1.34.90", "2024-04-23", "1.34.89"),
    ApiFloor("bedrock", "GetEvaluationJob", "1.34.90", "2024-04-23", "1.34.89"),
    ApiFloor("bedrock", "ListEvaluationJobs", "1.34.90", "2024-04-23", "1.34.89"),
    ApiFloor("bedrock", "StopEvaluationJob", "1.34.90", "2024-04-23", "1.34.89"),
    ApiFloor(
        "bedrock",
        "CreateEvaluationJob",
        "1.35.72",
        "2024-12-02",
        "1.35.71",
        member="evaluationConfig.automated.evaluatorModelConfig",
    ),
    ApiFloor(
        "bedrock",
        "CreateEvaluationJob",
        "1.37.17",
        "2025-03-20",
        "1.37.16",
        member="inferenceConfig.models.precomputedInferenceSource",
    ),
    ApiFloor(
        "bedrock",
        "CreateEvaluationJob",
        "1.37.36",
        "2025-04-17",
        "1.37.35",
        member="evaluationConfig.automated.customMetricConfig",
    ),
    ApiFloor("bedrock", "GetCustomModelDeployment", "1.39.7", "2025-07-16", "1.39.6"),
    ApiFloor("bedrock", "ListCustomModelDeployments", "1.39.7", "2025-07-16", "1.39.6"),
    ApiFloor("bedrock", "DeleteCustomModelDeployment", "1.39.7", "2025-07-16", "1.39.6"),
    ApiFloor("bedrock", "CreateCustomModelDeployment", "1.39.7", "2025-07-16", "1.39.6"),
    ApiFloor("bedrock", "UpdateCustomModelDeployment", "1.42.2", "2025-12-03", "1.42.1"),
    ApiFloor("bedrock-runtime", "InvokeModel", "1.31.57", "2023-09-28", "1.31.56"),
    ApiFloor("bedrock-runtime", "Converse", "1.34.116", "2024-05-30", "1.34.115"),
)
# The services whose calls must each have a floor above.
FLOORED_SERVICES: Final = ("bedrock", "bedrock-runtime")


def version(text: str) -> tuple[int, ...]:
    """``"1.39.7"`` -> ``(1, 39, 7)`` (release numbers only; botocore has no pre-releases)."""
    return tuple(int(part) for part in text.split("."))


def snake_case(operation: str) -> str:
    """botocore's own ``xform_name``: the client method of an API operation."""
    from botocore import xform_name

    return str(xform_name(operation))


# -- what a handler's code calls ------------------------------------------------------------------


# The code of an asset: ``{path in the asset: file}`` (a folder on disk reads as one, too).
Tree = Mapping[str, Path]


def tree_of(root: Path) -> dict[str, Path]:
    """The ``.py`` files under ``root`` as a :data:`Tree`."""
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*.py") if "__pycache__" not in p.parts}


def _module_file(tree: Tree, module: str) -> tuple[str, Path] | None:
    base = module.replace(".", "/")
    for name in (f"{base}/__init__.py", f"{base}.py"):
        if name in tree:
            return name, tree[name]
    return None


def import_lines(tree: ast.AST, module: str, is_package: bool) -> Iterable[tuple[int, str]]:
    """(line, module name) for every module an import in ``tree`` may load (``from a import b``:
    ``a`` and ``a.b``); relative imports resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


@dataclass(frozen=True)
class _Parsed:
    imports: tuple[str, ...]
    attributes: frozenset[str]
    strings: frozenset[str]


@functools.lru_cache(maxsize=4096)
def _parse(path: str, stamp: tuple[int, int], module: str, is_package: bool) -> _Parsed:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    attributes: set[str] = set()
    strings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
    imported = tuple(name for _, name in import_lines(tree, module, is_package))
    return _Parsed(imported, frozenset(attributes), frozenset(strings))


def _parsed(path: Path, module: str, is_package: bool) -> _Parsed:
    stat = path.stat()
    return _parse(str(path), (stat.st_mtime_ns, stat.st_size), module, is_package)


def reachable_modules(code: Tree | Path, module: str) -> dict[str, Path]:
    """The modules of ``code`` that importing ``module`` can load, its own lazy imports included."""
    tree = tree_of(code) if isinstance(code, Path) else code
    found: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        located = _module_file(tree, name)
        if located is None:
            continue
        found[name] = located[1]
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        parents = name.split(".")
        pending.extend(".".join(parents[:i]) for i in range(1, len(parents)))
        pending.extend(_parsed(located[1], name, located[0].endswith("__init__.py")).imports)
    return found


@dataclass(frozen=True)
class CodeNames:
    """Attribute names and string constants in a set of modules: how client calls show up."""

    attributes: frozenset[str]
    strings: frozenset[str]


def code_names(modules: Mapping[str, Path]) -> CodeNames:
    """The attribute names and string constants of ``{module name: file}``."""
    attributes: set[str] = set()
    strings: set[str] = set()
    for module, path in modules.items():
        parsed = _parsed(path, module, path.name == "__init__.py")
        attributes |= parsed.attributes
        strings |= parsed.strings
    return CodeNames(frozenset(attributes), frozenset(strings))


def floors_used(names: CodeNames, floors: Iterable[ApiFloor] = API_FLOORS) -> list[ApiFloor]:
    """The floors whose API the code calls (a method, or a paginator by name) and, for a member
    floor, whose member it also names."""
    used = []
    for floor in floors:
        if floor.method not in names.attributes and floor.method not in names.strings:
            continue
        if floor.member is not None and floor.member.rpartition(".")[2] not in names.strings:
            continue
        used.append(floor)
    return used


@functools.cache
def _operations(service: str) -> frozenset[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.operation_names)


def unfloored_calls(names: CodeNames) -> list[str]:
    """``service:Operation`` of every floored service's API the code calls without a floor line."""
    floored = {(f.service, f.operation) for f in API_FLOORS if f.member is None}
    missing = []
    for service in FLOORED_SERVICES:
        for operation in sorted(_operations(service)):
            method = snake_case(operation)
            if (method in names.attributes or method in names.strings) and (
                service,
                operation,
            ) not in floored:
                missing.append(f"{service}:{operation}")
    return missing


def handler_module(handler: str) -> str:
    return f"lambdas.{handler}.handler"


def required_botocore(code: Tree | Path, module: str) -> tuple[str, list[ApiFloor]]:
    """The botocore version ``module`` (in ``code``) needs, and the floors behind it."""
    used = floors_used(code_names(reachable_modules(code, module)))
    needed = max((f.botocore for f in used), key=version, default=RUNTIME_SDK.botocore)
    return needed, used


def needs_bundled_sdk(code: Tree | Path, module: str) -> bool:
    """Does ``module`` call an API newer than the SDK the runtime is counted on to have?"""
    needed, _ = required_botocore(code, module)
    return version(needed) > version(RUNTIME_SDK.botocore)


# -- bundling the pinned SDK into an asset -------------------------------------------------------


@functools.cache
def sdk_files() -> dict[str, Path]:
    """The installed (pinned) SDK distributions as ``{path in an asset: file}``, laid out as
    ``pip install --target`` would (packages and their .dist-info with licences)."""
    files: dict[str, Path] = {}
    for name in BUNDLED_DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            relative = PurePosixPath(str(file))
            if relative.parts[0] in ("..", "/") or "__pycache__" in relative.parts:
                continue
            if relative.suffix == ".pyc" or relative.name in _NOT_BUNDLED:
                continue
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                files[relative.as_posix()] = source
    return files


def bundled_versions() -> list[str]:
    """``name==version`` of each distribution a bundled SDK holds."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in BUNDLED_DISTRIBUTIONS]


def bundled_botocore(asset: Path) -> str | None:
    """The botocore version an asset bundles, or None when it relies on the runtime's."""
    init = asset / "botocore" / "__init__.py"
    if not init.is_file():
        return None
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    return None


# -- the functions of a synthesized template, and their assets ------------------------------------


class AssetError(RuntimeError):
    """A function's asset cannot be found in the cloud assembly."""


@dataclass(frozen=True)
class FunctionAsset:
    """One ``AWS::Lambda::Function`` of a template with the asset its ``Code`` deploys."""

    logical_id: str
    handler: str  # as the template says: lambdas.<name>.handler.lambda_handler
    path: Path  # the asset in the cloud assembly: a zip file (or a folder)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


def function_assets(template_path: Path) -> dict[str, FunctionAsset]:
    """Every function of a synthesized template, by logical id, with its asset in the cloud
    assembly: the template's ``Code.S3Key`` is the object key the stack's asset manifest
    (``<stack>.assets.json`` beside the template) uploads the asset to."""
    template = json.loads(template_path.read_text(encoding="utf-8"))
    manifest_path = template_path.with_name(template_path.name.replace(".template.json", ".assets.json"))
    if not manifest_path.is_file():
        raise AssetError(
            f"{manifest_path} does not exist: the template must be read from the cloud assembly that "
            "`cdk synth` wrote (cdk.out), where its functions' code is"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    by_key = {
        str(destination.get("objectKey")): str(entry["source"]["path"])
        for entry in (manifest.get("files") or {}).values()
        for destination in (entry.get("destinations") or {}).values()
    }
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        props = resource.get("Properties") or {}
        key = (props.get("Code") or {}).get("S3Key")
        if not isinstance(key, str) or key not in by_key:
            raise AssetError(f"{logical_id}: Code.S3Key {key!r} is not an asset of {manifest_path.name}")
        path = template_path.parent / by_key[key]
        if not path.exists():
            raise AssetError(f"{logical_id}: its asset {path} is missing from the cloud assembly")
        found[logical_id] = FunctionAsset(logical_id, str(props.get("Handler")), path)
    return found


def asset_contents(asset: Path) -> dict[str, int]:
    """``{path in the asset: size}`` of an asset zip (or folder), without unpacking it."""
    if asset.is_dir():
        return {p.relative_to(asset).as_posix(): p.stat().st_size for p in asset.rglob("*") if p.is_file()}
    with zipfile.ZipFile(asset) as archive:
        return {info.filename: info.file_size for info in archive.infolist() if not info.is_dir()}


# Unpacked assets unused for this long are removed (each synth of changed code makes new ones).
_CACHE_DAYS: Final = 3


def _prune(cache: Path) -> None:
    import time

    old = time.time() - _CACHE_DAYS * 86400
    for entry in cache.iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and entry.stat().st_mtime < old:
                shutil.rmtree(entry)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, stamp: tuple[int, int, int]) -> str:
    return _sha256(Path(path))


def _content_key(path: Path) -> str:
    """The SHA-256 of a file, computed once per (path, inode, size, mtime) in this process."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), (stat.st_ino, stat.st_size, stat.st_mtime_ns))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpacked(asset: Path, cache: Path | None = None) -> Path:
    """The asset as Lambda sees it in /var/task: a folder asset as is, a zip unpacked.

    Unpacked once per content (keyed by the zip's own SHA-256, so an asset changed in place is never
    mistaken for the original) into ``cache`` (default: a folder of the system's temp directory),
    atomically, so parallel processes can share it.
    """
    if asset.is_dir():
        return asset
    cache = cache or Path(tempfile.gettempdir()) / "bedrock-customize-assets"
    target = cache / _content_key(asset)
    if target.is_dir():
        with contextlib.suppress(OSError):
            target.touch()  # recently used: kept by _prune
        return target
    cache.mkdir(parents=True, exist_ok=True)
    _prune(cache)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=cache))
    with zipfile.ZipFile(asset) as archive:
        archive.extractall(partial)
    try:
        partial.rename(target)
    except OSError:  # another process unpacked the same asset first
        if not target.is_dir():
            raise
        with contextlib.suppress(OSError):
            shutil.rmtree(partial)
    return target
