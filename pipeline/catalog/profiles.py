"""System-defined cross-Region inference profiles: which geography serves a region, and the profile id.

A profile id is the model id with a geography prefix, e.g. ``us.amazon.nova-pro-v1:0``
[UG:inference-profiles-support]. Teachers, judges and bases invoked through a profile all name it
this way; this module is the one table of geographies.
"""

from __future__ import annotations

from typing import Final

# Geography prefix of a profile id -> the prefix of the regions it serves.
PROFILE_GEOGRAPHIES: Final = {"us": "us-", "eu": "eu-", "apac": "ap-", "us-gov": "us-gov-"}


def geography(region: str) -> str | None:
    """The profile geography of ``region``: the longest matching region prefix wins (us-gov, not us)."""
    for name, prefix in sorted(PROFILE_GEOGRAPHIES.items(), key=lambda item: len(item[1]), reverse=True):
        if region.startswith(prefix):
            return name
    return None


def split_profile(identifier: str) -> tuple[str | None, str]:
    """(geography, model id) of a profile id; (None, identifier) for anything else."""
    for name in sorted(PROFILE_GEOGRAPHIES, key=len, reverse=True):
        if identifier.startswith(name + "."):
            return name, identifier[len(name) + 1 :]
    return None, identifier


def serves(geography_name: str, region: str) -> bool:
    """Whether a profile of ``geography_name`` may be called from ``region``."""
    return region.startswith(PROFILE_GEOGRAPHIES[geography_name])


def profile_id(model_id: str, region: str) -> str:
    """The system-defined cross-Region inference profile of ``model_id`` for ``region``'s geography.

    The longest region prefix wins (``us-gov-west-1`` is in ``us-gov``, not ``us``); an id that is
    already a profile id, or a region of no known geography, is returned unchanged.
    """
    if split_profile(model_id)[0] is not None:
        return model_id
    name = geography(region)
    return f"{name}.{model_id}" if name is not None else model_id
