"""``planner network build``: a road network from an OpenStreetMap file, saved beside a workspace.

The app's Routes page and ``planner route --workspace`` look for
``NAME_roads.graphml.gz`` next to ``NAME.gpkg``; this command writes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from planner.access import scope_for
from planner.cli import add_json_flag, emit
from planner.errors import InputError, Problem
from planner.routing.network import build_network, save_network
from planner.services.rep_accounts import network_file_for
from planner.workspace import open_workspace

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``network`` command group."""
    p = sub.add_parser("network", help="road networks for routing")
    group = p.add_subparsers(dest="network_command", required=True)
    b = group.add_parser(
        "build",
        help="build the drivable network of an OSM file and save it beside a workspace",
        description="Read an OpenStreetMap extract (.osm.pbf, .osm or .graphml), keep its "
        "drivable roads, and save them as NAME_roads.graphml.gz beside the workspace NAME.gpkg "
        "(or to --out).",
    )
    b.add_argument("osm", help="the OpenStreetMap file")
    where = b.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", "-w", help="the workspace .gpkg the network belongs to")
    where.add_argument("--out", help="the .graphml.gz file to write")
    b.add_argument("--as-user", help="who builds it: needs the import_data right in the workspace")
    add_json_flag(b)
    b.set_defaults(handler=_build)


def _target(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    workspace = Path(args.workspace)
    if workspace.suffix.lower() != ".gpkg":
        raise InputError(
            f"{workspace} is not a workspace file",
            [Problem("the network is saved beside a .gpkg workspace", fix="give the .gpkg path")],
        )
    return network_file_for(workspace)


def _build(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.as_user and args.workspace:
        scope_for(open_workspace(args.workspace), args.as_user).require("import_data")
    if not Path(args.osm).is_file():
        raise InputError(
            f"{args.osm} does not exist", [Problem(f"no file {args.osm}", fix="check the path")]
        )

    def progress(fraction: float, message: str, /) -> None:
        if args.verbose:
            print(f"{fraction:4.0%} {message}", file=sys.stderr)

    network = build_network(args.osm, progress=progress)
    path = save_network(network, target)
    report = network.report
    payload = {
        "ok": True,
        "nodes": network.n_nodes,
        "file": str(path),
        "dropped": None if report is None else report.to_dict(),
    }
    text = f"saved {network.n_nodes:,} road junctions to {path}"
    if report is not None:
        text += (
            "\n"
            + report.summary()
            + "".join(
                f"\n  dropped: {p.nodes:,} junctions, {p.edges:,} segments, around "
                f"{p.centroid[0]:.5f},{p.centroid[1]:.5f}"
                for p in report.dropped_parts[:10]
            )
        )
    emit(args, payload, text)
    return 0
