"""Run the shipped deployment on 127.0.0.1: daphne started with the systemd unit's command line, and Debian's nginx
with the shipped site (placeholders filled like envsubst would, one upstream server per daphne process) and a
throw-away TLS certificate (`nginx_in_front`)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shlex
import shutil
import socket
import ssl
import string
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from bartsvoice.tests.servers import free_port, running_daphne, running_process

DEPLOY = Path(settings.BASE_DIR) / "deploy"
SITE_TEMPLATE = DEPLOY / "nginx" / "bartsvoice.conf.template"
WEB_UNIT = DEPLOY / "systemd" / "bartsvoice-web@.service"
APP_DIR = "/srv/bartsvoice"


def unit_exec_start(unit: Path, instance: str) -> list[str]:
    """The unit's ExecStart as argv for this checkout: %i (and the host name, %H) filled in, the venv's programs
    replaced by this venv's."""
    line = next(line for line in unit.read_text().splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart=").replace("%i", instance).replace("%H", socket.gethostname()))
    if argv[0].startswith(f"{APP_DIR}/.venv/bin/"):
        program = Path(argv[0]).name
        argv[0] = sys.executable if program == "python" else str(Path(sys.executable).parent / program)
    return argv


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def client_ssl_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def render_site(
    *, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path, static: Path, access_log: Path
) -> str:
    servers = [f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams]
    values = {
        "ACCESS_LOG": str(access_log),
        "UPSTREAM_SERVERS": "\n".join(servers),
        "HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "SERVER_NAME": "127.0.0.1 localhost",
        "TLS_CERTIFICATE": str(cert),
        "TLS_CERTIFICATE_KEY": str(key),
        "STATIC_ROOT": str(static),
    }
    rendered = string.Template(SITE_TEMPLATE.read_text()).safe_substitute(values)
    missing = [name for name in values if "${" + name + "}" in rendered]
    assert not missing, missing
    return rendered


def accepts_connections(port: int) -> Callable[[], bool]:
    def check() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        return False

    return check


@contextlib.contextmanager
def running_nginx(workdir: Path, site: str, *, listening_on: int) -> Iterator[None]:
    """nginx with `site` until the block ends, entered once it accepts connections on port `listening_on`.

    Its access log (workdir/access.log) names the upstream that served each request: evidence of where nginx
    sent a call."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(site)
    user = "user root root;" if os.geteuid() == 0 else ""  # workers must read the test's private temp files
    (workdir / "nginx.conf").write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {workdir}/access.log upstream;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/site.conf;
}}
"""
    )
    check = subprocess.run([nginx, "-t", "-c", str(workdir / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    with running_process(
        [nginx, "-c", str(workdir / "nginx.conf")],
        env=os.environ,
        log=workdir / "nginx.log",
        ready=accepts_connections(listening_on),
        what="nginx",
        timeout=30,
    ):
        yield


@dataclass(frozen=True)
class Proxy:
    """The shipped site running in front of some daphne processes."""

    public: str  # https://127.0.0.1:PORT, what Twilio and browsers are given
    http: str  # the plain-http listener, which redirects
    ssl: ssl.SSLContext  # trusts the throw-away certificate
    workdir: Path

    def ws_url(self, path: str) -> str:
        return self.public.replace("https://", "wss://", 1) + path


@contextlib.contextmanager
def nginx_in_front(workdir: Path, backends: Sequence[int], *, static: Path | None = None) -> Iterator[Proxy]:
    """Debian's nginx with the shipped site, TLS with a throw-away certificate, its upstream one server line per
    daphne port in `backends` (as DEPLOYMENT.md's one-per-core loop writes it). The daphne processes may start
    before or after it."""
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, https_port = free_port(), free_port()
    cert, key = make_certificate(workdir)
    if static is None:
        static = workdir / "static"
        static.mkdir(exist_ok=True)
    site = render_site(
        upstreams=list(backends),
        http_port=http_port,
        https_port=https_port,
        cert=cert,
        key=key,
        static=static,
        access_log=workdir / "nginx" / "access.log",  # where running_nginx's own log_format writes too
    )
    with running_nginx(workdir / "nginx", site, listening_on=https_port):
        yield Proxy(
            public=f"https://127.0.0.1:{https_port}",
            http=f"http://127.0.0.1:{http_port}",
            ssl=client_ssl_context(cert),
            workdir=workdir / "nginx",
        )


@contextlib.contextmanager
def daphne_from_unit(port: int, env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """daphne on 127.0.0.1:`port`, started with the web unit's ExecStart (bartsvoice/tests/servers.py)."""
    argv = unit_exec_start(WEB_UNIT, str(port))
    with running_daphne(argv, env=env, log=log, base_url=f"http://127.0.0.1:{port}", timeout=timeout) as base:
        yield base
