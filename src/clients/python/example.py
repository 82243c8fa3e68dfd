#!/usr/bin/python3
"""A small Sluice consumer in Python over gRPC (grpcio).

Streams a destination with CanalService.Stream, acks each batch with the session from
`subscribed`, and prints each row as a JSON line once its batch is acked. When the stream ends
with UNAVAILABLE (failover, restart) it opens it again and resumes after the durable cursor.

Environment: SLUICE_ADDR (host:port, default 127.0.0.1:11113), SLUICE_DESTINATION (example),
SLUICE_CLIENT_ID (1001), SLUICE_FILTER, SLUICE_MAX_ROWS (stop after that many rows),
SLUICE_TOKEN or SLUICE_TOKEN_FILE (a bearer token, sent with every call).
TLS: SLUICE_CA (PEM file of the CA the server's certificate chains to; SLUICE_TLS=1 trusts the
system's CAs instead), SLUICE_CERT and SLUICE_KEY (a client certificate, for a server that asks
for one).
"""
import json
import os
import sys
import time

# The generated package (sluice/v1/*_pb2.py) sits next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from sluice.v1 import canal_service_pb2 as canal  # noqa: E402
from sluice.v1 import canal_service_pb2_grpc as canal_grpc  # noqa: E402
from sluice.v1 import entry_pb2 as entry  # noqa: E402


def token_metadata():
    """("authorization", "Bearer ...") from SLUICE_TOKEN or the file SLUICE_TOKEN_FILE names."""
    token = os.environ.get("SLUICE_TOKEN", "").strip()
    if not token and os.environ.get("SLUICE_TOKEN_FILE"):
        with open(os.environ["SLUICE_TOKEN_FILE"], encoding="utf-8") as f:
            token = f.read().strip()
    return [("authorization", f"Bearer {token}")] if token else []


def image(columns):
    """Column name -> value text (None for SQL NULL); omitted columns are left out."""
    if not columns:
        return None
    return {c.name: (None if c.is_null else c.value) for c in columns if not c.omitted}


def rows(entries):
    for e in entries:
        if e.entry_type != entry.ENTRY_TYPE_ROWDATA or not e.HasField("row_change"):
            continue
        change = e.row_change
        if change.is_ddl:
            continue
        kind = entry.EventType.Name(change.event_type)[len("EVENT_TYPE_"):]
        for r in change.row_datas:
            row = {"table": f"{e.header.schema_name}.{e.header.table_name}", "type": kind}
            if r.after_columns:
                row["after"] = image(r.after_columns)
            if r.before_columns:
                row["before"] = image(r.before_columns)
            yield row


def consume(stub, destination, client_id, progress, limit, metadata):
    """Opens one stream and acks its batches until `limit` rows are printed in all (None: no
    limit); progress["printed"] counts them."""
    # The hold's token, kept across streams in progress["session"]: reopening with it through a
    # gateway takes the hold over (e.g. after a gateway restart) instead of already_exists.
    session = progress.get("session", "")
    responses = stub.Stream(
        canal.StreamRequest(
            destination=destination,
            client_id=client_id,
            filter=os.environ.get("SLUICE_FILTER", ""),
            batch_size=100,
            window=4,
            session=session,
        ),
        metadata=metadata,
    )
    try:
        for msg in responses:
            if msg.HasField("subscribed"):
                session = msg.subscribed.session
                progress["session"] = session
                continue
            batch = msg.batch
            # Ack first, print after: what is printed is exactly what was consumed. If the ack
            # fails, the batch is delivered again on the next stream.
            stub.Ack(
                canal.AckRequest(
                    destination=destination,
                    client_id=client_id,
                    batch_id=batch.batch_id,
                    session=session,
                ),
                timeout=30,
                metadata=metadata,
            )
            for row in rows(batch.entries):
                print(json.dumps(row), flush=True)
                progress["printed"] += 1
            if limit is not None and progress["printed"] >= limit:
                return
    finally:
        responses.cancel()  # ending the stream gives unacked batches back to the server
    raise grpc.RpcError("the server ended the stream")


def channel_to(addr):
    """TLS when SLUICE_CA or SLUICE_TLS says so, else cleartext (h2c)."""
    ca, cert, key = (os.environ.get(n) for n in ("SLUICE_CA", "SLUICE_CERT", "SLUICE_KEY"))
    if not ca and not os.environ.get("SLUICE_TLS"):
        return grpc.insecure_channel(addr)

    def read(name):
        with open(name, "rb") as f:
            return f.read()

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(ca) if ca else None,
        private_key=read(key) if key else None,
        certificate_chain=read(cert) if cert else None,
    )
    return grpc.secure_channel(addr, credentials)


def main():
    addr = os.environ.get("SLUICE_ADDR", "127.0.0.1:11113")
    destination = os.environ.get("SLUICE_DESTINATION", "example")
    client_id = os.environ.get("SLUICE_CLIENT_ID", "1001")
    max_rows = int(os.environ["SLUICE_MAX_ROWS"]) if os.environ.get("SLUICE_MAX_ROWS") else None
    progress = {"printed": 0}
    metadata = token_metadata()
    with channel_to(addr) as channel:
        stub = canal_grpc.CanalServiceStub(channel)
        while max_rows is None or progress["printed"] < max_rows:
            try:
                consume(stub, destination, client_id, progress, max_rows, metadata)
            except grpc.RpcError as err:
                code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNAVAILABLE
                # UNAVAILABLE: failover, restart, a connection lost; FAILED_PRECONDITION: the
                # batch or session is stale. Both: open the stream again, resume after the
                # durable cursor.
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.FAILED_PRECONDITION):
                    print(f"stream: {err}", file=sys.stderr)
                    return 1
                print(f"stream ended ({err}); opening it again", file=sys.stderr)
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
