"""Customer.io's own Python client (customerio 3.2.0), unchanged, against Erasure.

The client only speaks HTTPS, so this script puts a TLS terminator with a self-signed
certificate in front of the server (the test's stand-in for a production proxy) and
trusts that certificate through REQUESTS_CA_BUNDLE. It then makes every call of the
client and prints one JSON line per call: its name and "ok", or the error it raised.

Usage: customerio_client.py PLAIN_PORT SITE_ID API_KEY WORKDIR
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from datetime import datetime, timezone


def self_signed_certificate(workdir):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


def pipe(source, sink):
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def tls_terminator(plain_port, cert, key):
    """Listens with TLS on a free port and forwards each connection to plain_port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve():
        while True:
            client, _ = listener.accept()
            try:
                secure = context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", plain_port))
            threading.Thread(target=pipe, args=(secure, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, secure), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def main():
    plain_port, site_id, api_key, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    cert, key = self_signed_certificate(workdir)
    os.environ["REQUESTS_CA_BUNDLE"] = cert
    tls_port = tls_terminator(plain_port, cert, key)

    from customerio import APIClient, CustomerIO, SendEmailRequest
    from customerio.constants import CIOID, EMAIL, ID

    track = CustomerIO(site_id, api_key, host="127.0.0.1", port=tls_port, retries=0)
    app = APIClient(api_key, url=f"https://127.0.0.1:{tls_port}", retries=0)
    when = datetime(2026, 11, 1, tzinfo=timezone.utc)

    calls = [
        ("identify", lambda: track.identify(id="py-1", email="py.one@example.com", name="Py One",
                                            plan="pro", address={"city": "Oslo", "lines": ["a", "b"]})),
        ("identify_second", lambda: track.identify(id="py-2", email="py.two@example.com", tier=2)),
        ("track", lambda: track.track(customer_id="py-1", name="purchase", id="evt-1",
                                         data={"amount": 12, "items": [{"sku": "A1"}]})),
        ("pageview", lambda: track.pageview(customer_id="py-1", page="https://shop.example/pricing", ref="ad")),
        ("backfill", lambda: track.backfill(customer_id="py-1", name="signed_up", timestamp=when, via="web")),
        ("track_anonymous", lambda: track.track_anonymous(anonymous_id="anon-py", name="viewed", data={"page": "home"})),
        ("identify_claiming", lambda: track.identify(id="py-1", anonymous_id="anon-py")),
        ("add_device", lambda: track.add_device(customer_id="py-1", device_id="py-token-1", platform="ios",
                                                last_used=int(when.timestamp()))),
        ("delete_device", lambda: track.delete_device(customer_id="py-1", device_id="py-token-1")),
        ("add_device_again", lambda: track.add_device(customer_id="py-1", device_id="py-token-2", platform="android")),
        ("merge_customers", lambda: track.merge_customers(ID, "py-1", EMAIL, "py.two@example.com")),
        ("identify_third", lambda: track.identify(id="py-3", email="py.three@example.com")),
        ("suppress", lambda: track.suppress(customer_id="py-3")),
        ("identify_suppressed", lambda: track.identify(id="py-3", plan="back")),
        ("unsuppress", lambda: track.unsuppress(customer_id="py-3")),
        ("identify_unsuppressed", lambda: track.identify(id="py-3", plan="new")),
        ("delete", lambda: track.delete(customer_id="py-3")),
        ("merge_by_cio_id", lambda: track.merge_customers(CIOID, "999999", ID, "py-1")),
        ("send_email", lambda: app.send_email(SendEmailRequest(transactional_message_id=1, to="py.one@example.com",
                                                               identifiers={"id": "py-1"}))),
    ]
    for name, call in calls:
        try:
            call()
            print(json.dumps({"call": name, "result": "ok"}), flush=True)
        except Exception as error:  # the client raises CustomerIOException with the answer
            print(json.dumps({"call": name, "result": str(error)}), flush=True)


if __name__ == "__main__":
    main()
