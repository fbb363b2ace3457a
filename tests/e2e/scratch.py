"""Scratch copies of the committed tree for real-Terraform tests.

Everything here writes only under the scratch directory; the committed tree
(envs/, modules/, dist/) is read, never written.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("primary", "dr", "global")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def roots(envs: list[str] | None = None) -> list[tuple[str, str]]:
    """(env, layer) for every generated root envs/<env>/<layer>."""
    out = []
    for env_dir in sorted((ROOT / "envs").iterdir()):
        if not env_dir.is_dir() or (envs and env_dir.name not in envs):
            continue
        for layer in LAYERS:
            if (env_dir / layer).is_dir():
                out.append((env_dir.name, layer))
    return out


def make_scratch(dest: Path, with_dist: bool = True, env: str | None = None) -> Path:
    """Copy envs/ (or only envs/<env>), modules/ (and dist/) to dest, without
    Terraform leftovers."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "tfplan", "*.tfstate*")
    if env is None:
        shutil.copytree(ROOT / "envs", dest / "envs", ignore=ignore)
    else:
        shutil.copytree(ROOT / "envs" / env, dest / "envs" / env, ignore=ignore)
    shutil.copytree(ROOT / "modules", dest / "modules", ignore=ignore)
    if with_dist and (ROOT / "dist").is_dir():
        shutil.copytree(ROOT / "dist", dest / "dist")
    return dest
