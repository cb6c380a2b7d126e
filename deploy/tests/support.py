"""Shared pieces of the fleet suite: the repository's paths, the Kubernetes example's documents, and the
ConfigMap files written out the way the kubelet mounts them."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = REPO_ROOT / "deploy" / "kubernetes"
SPUTTER = Path(shutil.which(os.environ["SPUTTER"]) or os.environ["SPUTTER"]).resolve() if os.environ.get("SPUTTER") \
    else REPO_ROOT / ".build" / "debug" / "sputter"

# The processes are started with the sputter-testing package (clients/python), from the source tree.
sys.path.insert(0, str(REPO_ROOT / "clients" / "python" / "src"))
from sputter_testing import DemoOriginProcess, SputterProcess, wait_until  # noqa: E402


def manifests() -> dict[str, list[dict[str, Any]]]:
    """Every YAML file of deploy/kubernetes, as its documents (empty documents dropped)."""
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            for p in sorted(KUBERNETES.glob("*.yaml"))}


def objects() -> list[dict[str, Any]]:
    """The Kubernetes objects (the kustomization excluded)."""
    return [d for docs in manifests().values() for d in docs if d.get("kind") != "Kustomization"]


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]


def mount_config_map(config_map: dict[str, Any], directory: Path) -> Path:
    """Writes a ConfigMap's data as the kubelet mounts it: the files in a hidden timestamped directory,
    a `..data` symlink to it, and one symlink per key (`name.yaml -> ..data/name.yaml`)."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = directory / "..2026_01_01_00_00_00.000000001"
    payload.mkdir()
    for key, text in config_map["data"].items():
        (payload / key).write_text(text)
    (directory / "..data").symlink_to(payload.name)
    for key in config_map["data"]:
        (directory / key).symlink_to(f"..data/{key}")
    return directory
