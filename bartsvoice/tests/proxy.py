"""Run the shipped deployment on 127.0.0.1: daphne started with the systemd unit's command line, and Debian's nginx
with the shipped site (placeholders filled like envsubst would) and a throw-away TLS certificate."""

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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from bartsvoice.tests.servers import running_daphne

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


def render_site(*, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path, static: Path) -> str:
    servers = [f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams]
    values = {
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


@contextlib.contextmanager
def running_nginx(workdir: Path, site: str) -> Iterator[None]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
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
    access_log {workdir}/access.log;
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
    proc = subprocess.Popen([nginx, "-c", str(workdir / "nginx.conf")], stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def daphne_from_unit(port: int, env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[str]:
    """daphne on 127.0.0.1:`port`, started with the web unit's ExecStart (bartsvoice/tests/servers.py)."""
    argv = unit_exec_start(WEB_UNIT, str(port))
    with running_daphne(argv, env=env, log=log, base_url=f"http://127.0.0.1:{port}", timeout=timeout) as base:
        yield base
