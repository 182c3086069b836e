#!/usr/bin/env python3
"""Write ``resources/sample-layout``: the OCI layout Spyglass bundles as a demo.

Run ``make sample`` (or this script) to rewrite it; the output is
deterministic, so an unchanged script gives unchanged digests (given the
same zlib). ``make_sample_layout.py DIR`` writes to DIR instead. It holds:

``spyglass-demo:1.0``
    an OCI index of linux/amd64, linux/arm64/v8 and linux/arm/v7 images that
    look like an Alpine-based app built with BuildKit: an arch-specific base
    layer, ``apk add``, a user, and a ``COPY`` of the app (shared by all three).
``tools:2024.1``
    a single linux/amd64 image with Docker schema 2 media types, on the same
    base layer as the amd64 demo image.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.imagebuild import (  # noqa: E402  (after the path is set)
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_tar,
)

OUTPUT = REPO_ROOT / "resources" / "sample-layout"

CREATED_BASE = "2024-01-26T23:44:52Z"
CREATED = "2024-03-01T12:00:00Z"

# (docker/OCI architecture, variant, what `apk --print-arch` says)
PLATFORMS = [("amd64", None, "x86_64"), ("arm64", "v8", "aarch64"), ("arm", "v7", "armv7")]

OS_RELEASE = b"""NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"""

PASSWD = b"""root:x:0:0:root:/root:/bin/ash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""

GROUP = b"""root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
nogroup:x:65533:
nobody:x:65534:
"""

HELLO_SH = b"""#!/bin/sh
# hello.sh - the entry point of the Spyglass demo image.
set -eu

name=world
while [ $# -gt 0 ]; do
    case "$1" in
        --name) name="$2"; shift 2 ;;
        *) echo "usage: hello.sh [--name NAME]" >&2; exit 2 ;;
    esac
done

echo "Hello, $name, from $(uname -m)."
echo "This image was opened in Spyglass; see /usr/share/doc/hello/README."
"""

README = b"""hello - a greeting, in a container image
=========================================

This is the demo image bundled with Spyglass. It is tiny on purpose: every
layer is a few text files, so you can open each one and read it.

Layers:
  1. the base file system (per architecture)
  2. apk add --no-cache hello-doc
  3. a user and group named app
  4. COPY hello.sh /app/ (the same bytes on every architecture)
"""

LABELS = {
    "org.opencontainers.image.title": "spyglass-demo",
    "org.opencontainers.image.description": "The demo image bundled with Spyglass",
    "org.opencontainers.image.version": "1.0",
    "org.opencontainers.image.source": "https://example.org/spyglass/demo",
    "org.opencontainers.image.licenses": "MIT",
}

ENV = [
    "PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
]


def base_layer(apk_arch: str) -> LayerSpec:
    """The per-architecture 'Alpine' root file system, added the classic builder's way."""
    files = {
        "/etc/os-release": OS_RELEASE,
        "/etc/alpine-release": b"3.19.1\n",
        "/etc/apk/arch": f"{apk_arch}\n".encode(),
        "/etc/apk/repositories": (
            b"https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n"
            b"https://dl-cdn.alpinelinux.org/alpine/v3.19/community\n"
        ),
        "/etc/apk/world": b"alpine-baselayout\nbusybox\nmusl\n",
        "/etc/hostname": b"localhost\n",
        "/etc/passwd": PASSWD,
        "/etc/group": GROUP,
        "/etc/shells": b"# valid login shells\n/bin/sh\n/bin/ash\n",
        "/root/.ash_history": b"",
        "/tmp/.keep": b"",
    }
    symlinks = {"/bin/sh": "/bin/busybox", "/bin/ash": "/bin/busybox"}
    files["/bin/busybox"] = f"#!busybox placeholder for {apk_arch}\n".encode()
    layer = LayerSpec(files, symlinks=symlinks, modes={"/bin/busybox": 0o755})
    # The classic builder names the ADDed tarball by the digest of its contents.
    digest = hashlib.sha256(build_tar(layer)).hexdigest()
    layer.created_by = f"/bin/sh -c #(nop) ADD file:{digest} in / "
    return layer


def apk_layer() -> LayerSpec:
    return LayerSpec(
        {
            "/etc/apk/world": b"alpine-baselayout\nbusybox\nhello-doc\nmusl\n",
            "/usr/share/doc/hello/README": README,
        },
        created_by="RUN /bin/sh -c apk add --no-cache hello-doc # buildkit",
    )


def user_layer() -> LayerSpec:
    return LayerSpec(
        {
            "/etc/passwd": PASSWD + b"app:x:100:101:Linux User,,,:/app:/sbin/nologin\n",
            "/etc/group": GROUP + b"app:x:101:app\n",
            "/app/.keep": b"",
        },
        created_by="RUN /bin/sh -c addgroup -S app && adduser -S -G app -h /app app # buildkit",
    )


def app_layer() -> LayerSpec:
    return LayerSpec(
        {"/app/hello.sh": HELLO_SH},
        created_by="COPY hello.sh /app/ # buildkit",
        modes={"/app/hello.sh": 0o755},
    )


def demo_image(arch: str, variant: str | None, apk_arch: str) -> ImageSpec:
    # History positions: 0 ADD, 1 CMD, 2 LABEL, 3 ENV, 4 RUN apk, 5 RUN adduser,
    # 6 WORKDIR, 7 COPY, 8 USER, 9 EXPOSE, 10 ENTRYPOINT, 11 CMD.
    labels = " ".join(f"{k}={v}" for k, v in LABELS.items())
    return ImageSpec(
        architecture=arch,
        variant=variant,
        layers=[base_layer(apk_arch), apk_layer(), user_layer(), app_layer()],
        env=ENV,
        entrypoint=["/app/hello.sh"],
        cmd=["--name", "world"],
        labels=LABELS,
        user="app",
        working_dir="/app",
        exposed_ports=["8080/tcp"],
        created=CREATED,
        empty_history_steps=[
            (1, '/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
            (2, f"LABEL {labels}"),
            (3, "ENV " + " ".join(ENV)),
            (6, "WORKDIR /app"),
            (8, "USER app"),
            (9, "EXPOSE map[8080/tcp:{}]"),
            (10, 'ENTRYPOINT ["/app/hello.sh"]'),
            (11, 'CMD ["--name" "world"]'),
        ],
        annotations={
            "org.opencontainers.image.created": CREATED,
            "org.opencontainers.image.title": "spyglass-demo",
            "org.opencontainers.image.version": "1.0",
        },
    )


def tools_image() -> ImageSpec:
    tool = (
        b"#!/bin/sh\n"
        b"# digest-of - print the sha256 digest of a file, the way registries name blobs\n"
        b'set -eu\nprintf "sha256:%s\\n" "$(sha256sum "$1" | cut -d" " -f1)"\n'
    )
    return ImageSpec(
        architecture="amd64",
        layers=[
            base_layer("x86_64"),
            LayerSpec(
                {
                    "/etc/apk/world": b"alpine-baselayout\nbusybox\nca-certificates\nmusl\n",
                    "/etc/ssl/certs/README": b"CA certificates would live here.\n",
                },
                created_by="/bin/sh -c apk add --no-cache ca-certificates",
            ),
            LayerSpec(
                {"/usr/local/bin/digest-of": tool},
                created_by="/bin/sh -c #(nop) COPY file:digest-of in /usr/local/bin/ ",
                modes={"/usr/local/bin/digest-of": 0o755},
            ),
        ],
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        cmd=["/bin/sh"],
        labels={"org.opencontainers.image.title": "tools", "maintainer": "Spyglass developers"},
        author="Spyglass developers",
        created="2024-01-15T09:30:00Z",
        empty_history_steps=[
            (1, '/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
            (2, "/bin/sh -c #(nop)  MAINTAINER Spyglass developers"),
            (5, '/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
        ],
        docker_media_types=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Write the layout to ``resources/sample-layout``, or to the folder given as argument."""
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0]).resolve() if args else OUTPUT
    if output.exists():
        shutil.rmtree(output)
    builder = LayoutBuilder(output)
    manifests = [builder.add_image(demo_image(*platform)) for platform in PLATFORMS]
    demo = builder.add_index(
        manifests,
        annotations={"org.opencontainers.image.created": CREATED},
    )
    builder.tag(demo, "spyglass-demo:1.0")
    tools = builder.add_image(tools_image())
    builder.tag(tools, "tools:2024.1")

    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    print(f"wrote {output} ({size} bytes)")
    print(f"  spyglass-demo:1.0  {demo['digest']}")
    for descriptor in manifests:
        p = descriptor["platform"]
        platform = "/".join(filter(None, [p["os"], p["architecture"], p.get("variant")]))
        print(f"    {platform:<16} {descriptor['digest']}")
    print(f"  tools:2024.1       {tools['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
