"""Install the map's browser assets from npm and copy them to static/vendor/ for offline use.

The app serves these files itself (Streamlit static file serving, see
``.streamlit/config.toml``), so the map never loads Leaflet from a CDN and
works with no internet. Run it once after cloning, or whenever
``package.json`` changes::

    python scripts/vendor_assets.py            # npm ci, then copy
    python scripts/vendor_assets.py --no-install   # copy from an existing node_modules/

Which files are copied, and where each lands, is declared once in
:data:`planner.viz.VENDOR_FILES`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.viz import VENDOR_FILES, missing_vendor_files  # noqa: E402  (needs ROOT on sys.path)

NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "static" / "vendor"


def npm_ci() -> None:
    """Install exactly the versions pinned in package-lock.json."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "npm is not installed: install Node.js and npm (Debian: apt-get install npm), "
            "then run this script again."
        )
    cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`npm ci` failed with exit code {done.returncode}")


def copy_assets() -> list[Path]:
    """Copy every declared file or folder from node_modules/ into static/vendor/."""
    missing = [src for src in VENDOR_FILES if not (NODE_MODULES / src).exists()]
    if missing:
        raise SystemExit("node_modules/ lacks " + ", ".join(missing) + ": run without --no-install")
    if TARGET.exists():
        shutil.rmtree(TARGET)
    written = []
    for src, dest in VENDOR_FILES.items():
        source = NODE_MODULES / src
        target = TARGET / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
        written.append(target)
    return written


def write_manifest() -> None:
    """Record the installed package versions beside the files (shown by the app)."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    versions = {
        path.removeprefix("node_modules/"): meta["version"]
        for path, meta in lock.get("packages", {}).items()
        if path.startswith("node_modules/")
    }
    manifest = {"packages": versions, "files": sorted(VENDOR_FILES.values())}
    (TARGET / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Install (unless told not to), copy and check the vendored assets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-install", action="store_true", help="copy from node_modules/ without `npm ci`"
    )
    args = parser.parse_args(argv)
    if not args.no_install:
        npm_ci()
    written = copy_assets()
    write_manifest()
    still_missing = missing_vendor_files(TARGET)
    if still_missing:
        print("missing after copy: " + ", ".join(still_missing), file=sys.stderr)
        return 1
    size_kb = sum(f.stat().st_size for f in TARGET.rglob("*") if f.is_file()) // 1024
    print(f"vendored {len(written)} files/folders ({size_kb} KB) into {TARGET.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
