"""Render case reports (or any HTML) to PNG screenshots with headless Chromium, to look at them.

    python scripts/render_case_report.py REPORT.html [MORE.html ...] [--out runs/reports_png] [--height 4200]

Needs Debian's ``chromium`` (``apt-get install -y chromium``). The page is loaded from disk with
no network (a case report must not need one), at 1200 px wide. The last stdout line is one JSON
object: ``{"screenshots": [...], "chromium": "<version>"}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("chromium not found: apt-get install -y chromium")


def render(browser: str, page: Path, target: Path, height: int) -> Path:
    """Screenshot ``page`` into ``target`` (PNG, 1200 x ``height``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--screenshot={target.resolve()}",
        f"--window-size=1200,{height}",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not target.is_file():
        sys.exit(f"{page}: chromium wrote no screenshot")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("runs/reports_png"))
    parser.add_argument("--height", type=int, default=4200)
    args = parser.parse_args()
    browser = chromium()
    version = subprocess.run([browser, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    shots = [str(render(browser, page, args.out / f"{page.stem}.png", args.height)) for page in args.pages]
    for shot in shots:
        print(shot)
    print(json.dumps({"screenshots": shots, "chromium": version}))


if __name__ == "__main__":
    main()
