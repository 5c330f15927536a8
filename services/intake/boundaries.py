"""Which community a city system's request is in, when it names none: the community boundaries the
operator configures, and the deployment's default community.

`YISHI_COMMUNITY_BOUNDARIES` (default `<var dir>/communities.geojson`, if present) is a GeoJSON
FeatureCollection, one (Multi)Polygon per community, `properties.community` its name and, optionally,
`properties.jurisdiction_id` the id city systems know it by. `YISHI_DEFAULT_COMMUNITY` names the community
a request that says nothing of its place belongs to (a deployment for one community sets it).
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, shape

from shared.errors import InvalidInput


@dataclass(frozen=True)
class Community:
    name: str
    jurisdiction_id: str | None
    area: Any  # a prepared shapely geometry


@dataclass(frozen=True)
class Boundaries:
    communities: tuple[Community, ...] = ()
    default: str | None = None

    def of_jurisdiction(self, jurisdiction_id: str) -> str | None:
        return next((c.name for c in self.communities if jurisdiction_id in (c.jurisdiction_id, c.name)), None)

    def at(self, lat: float, lon: float) -> str | None:
        point = Point(lon, lat)  # GeoJSON's order: longitude first
        return next((c.name for c in self.communities if c.area.covers(point)), None)


def parse(text: str, default: str | None = None) -> Boundaries:
    """A FeatureCollection's communities, refused by name when it is not one."""
    try:
        doc = json.loads(text)
        communities = []
        for feature in doc["features"]:
            props = feature.get("properties") or {}
            area = shape(feature["geometry"])
            shapely.prepare(area)
            communities.append(Community(str(props["community"]), props.get("jurisdiction_id"), area))
    except (ValueError, KeyError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InvalidInput(f"community boundaries are not a FeatureCollection of communities: {exc}",
                           "YISHI_COMMUNITY_BOUNDARIES", "社区边界文件格式不正确,应为各社区边界的要素集合") from None
    return Boundaries(tuple(communities), default)


def configured(var_dir: Path) -> Boundaries:
    """The boundaries as configured now (the file is read again when it changes)."""
    path = Path(os.environ.get("YISHI_COMMUNITY_BOUNDARIES") or var_dir / "communities.geojson")
    default = os.environ.get("YISHI_DEFAULT_COMMUNITY") or None
    try:
        changed = path.stat().st_mtime_ns
    except FileNotFoundError:
        return Boundaries((), default)
    return _read(path, changed, default)


@functools.lru_cache(maxsize=4)
def _read(path: Path, _changed: int, default: str | None) -> Boundaries:
    return parse(path.read_text(encoding="utf-8"), default)
