"""Build AWS Lambda deployment zips (Python 3.12 runtime) for the serverless handler.

`make lambda` runs this. For each architecture it installs the runtime's dependencies (numpy,
Pillow, ai-edge-litert and what they need) as manylinux wheels for that platform with
`pip install --platform ... --only-binary=:all: --target`, adds the `edge` package and its
bundled model, and writes a reproducible zip. Not included: TensorFlow (never needed), typer
(only the CLI uses it) and boto3 (the Lambda Python runtime provides it).

It prints the zipped and unzipped sizes and exits non-zero if the unzipped size is over
Lambda's 250 MB limit. Handler setting: `edge.serverless.handler`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = ROOT / "edge" / "models" / "cats_vs_dogs_int8.tflite"
MIB = 1024 * 1024
UNZIPPED_LIMIT = 250 * MIB  # 262,144,000 bytes, as Lambda counts it
DIRECT_UPLOAD_LIMIT = 50 * MIB
PACKAGES = ("numpy", "pillow", "ai-edge-litert")
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Lambda's python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34): accept every manylinux tag
# up to that, since pip does not treat a newer glibc tag as covering older ones.
GLIBC_MINORS = range(17, 35)
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """A build step failed; the message says what to do."""


def platform_tags(arch: str) -> list[str]:
    machine = ARCHES[arch]
    return [f"manylinux2014_{machine}"] + [f"manylinux_2_{m}_{machine}" for m in GLIBC_MINORS]


def requirements(pin: bool) -> list[str]:
    """The runtime packages, pinned to this environment's versions so tests and zip agree."""
    if not pin:
        return list(PACKAGES)
    pinned = []
    for name in PACKAGES:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return pinned


def pip_install(target: Path, arch: str, python_version: str, packages: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-compile", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", python_version, "--target", str(target)]
    for tag in platform_tags(arch):
        command += ["--platform", tag]
    completed = subprocess.run(command + packages, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BuildError(f"pip could not install {packages} for {arch} / Python "
                         f"{python_version}:\n{completed.stderr.strip()[-3000:]}")


def copy_edge(target: Path, model: Path) -> None:
    """The edge package's modules, subpackages included, and the model as the bundled one."""
    package = target / "edge"
    package.mkdir(parents=True)
    for source in sorted((ROOT / "edge").rglob("*.py")):
        destination = package / source.relative_to(ROOT / "edge")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    (package / "models").mkdir()
    shutil.copy2(model, package / "models" / BUNDLED_MODEL.name)
    # The parity report and the pictures it links, so the report in the zip reads whole.
    for extra in sorted((ROOT / "edge" / "models").iterdir()):
        if extra.suffix in (".md", ".png", ".jpg"):
            shutil.copy2(extra, package / "models" / extra.name)


def write_zip(folder: Path, destination: Path) -> tuple[int, int]:
    """Zip `folder` with sorted names and fixed dates; returns (zipped, unzipped) bytes."""
    unzipped = 0
    destination.unlink(missing_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), ZIP_DATE)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
            unzipped += path.stat().st_size
    return destination.stat().st_size, unzipped


def build(arch: str, model: Path, out: Path, python_version: str, pin: bool) -> Path:
    staging = out / f"package-{arch}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    pip_install(staging, arch, python_version, requirements(pin))
    for cache in staging.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    copy_edge(staging, model)
    destination = out / f"pawlite-lambda-{arch}.zip"
    zipped, unzipped = write_zip(staging, destination)
    print(f"{destination}: {zipped / MIB:.1f} MiB zipped, {unzipped / MIB:.1f} MiB unzipped "
          f"(Lambda's limit: {UNZIPPED_LIMIT / MIB:.0f} MiB unzipped)")
    if zipped > DIRECT_UPLOAD_LIMIT:
        print("  over 50 MiB zipped: upload it to S3 and point the function at it "
              "(aws lambda update-function-code --s3-bucket ... --s3-key ...)")
    if unzipped > UNZIPPED_LIMIT:
        raise BuildError(f"{destination} unzips to {unzipped / MIB:.1f} MiB, over Lambda's "
                         "250 MiB limit: use a container image instead (see docs/serverless.md)")
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=[*ARCHES, "all"], default="all")
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL,
                        help="the .tflite to bundle (default: the bundled edge/models model)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lambda")
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--no-pin", action="store_true",
                        help="latest wheels instead of this environment's versions")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"error: the model {args.model} does not exist: run `make export` first, or pass "
              "--model PATH to a .tflite", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    arches = list(ARCHES) if args.arch == "all" else [args.arch]
    try:
        for arch in arches:
            build(arch, args.model, args.out, args.python_version, not args.no_pin)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
