#!/usr/bin/python3
"""The Python consumer of bench/delivery: the generated client (grpcio), as a user writes it.

Streams with CanalService.Stream, reads every column value of every row, acks each batch with
the session from `subscribed`, until BENCH_ROWS row changes of BENCH_TABLES have come. Run by
bench/delivery/run.ts with Debian's python3-grpcio; configured by the environment variables of
bench/delivery/consumer-env.ts; prints one result line (JSON, bench/delivery/check.ts's
ConsumerResult), with ids merged into runs by the same rule as RunRecorder there.
"""
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src", "clients", "python"))

import grpc  # noqa: E402

from sluice.v1 import canal_service_pb2 as canal  # noqa: E402
from sluice.v1 import canal_service_pb2_grpc as canal_grpc  # noqa: E402
from sluice.v1 import entry_pb2 as entry  # noqa: E402

# The gateway relays messages of up to 64 MiB; grpcio's default limit is 4 MB, less than a
# batch of 1000 entries of 100-row events.
MAX_MESSAGE = 64 * 1024 * 1024
KIND = {entry.EVENT_TYPE_INSERT: "I", entry.EVENT_TYPE_UPDATE: "U", entry.EVENT_TYPE_DELETE: "D"}


def main():
    env = os.environ
    target_rows = int(env["BENCH_ROWS"])
    counted = set(env["BENCH_TABLES"].split(","))
    who = {"destination": env["BENCH_DESTINATION"], "client_id": env["BENCH_CLIENT_ID"]}
    runs = []
    last_run = None
    rows = batches = digest = 0
    first = last = 0.0
    cpu0 = time.process_time()
    options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
    with grpc.insecure_channel(env["BENCH_URL"], options=options) as channel:
        stub = canal_grpc.CanalServiceStub(channel)
        responses = stub.Stream(
            canal.StreamRequest(
                batch_size=int(env["BENCH_BATCH_SIZE"]), window=int(env["BENCH_WINDOW"]), **who
            ),
            timeout=int(env["BENCH_TIMEOUT_MS"]) / 1000,
        )
        session = ""
        try:
            for msg in responses:
                if msg.HasField("subscribed"):
                    session = msg.subscribed.session
                    continue
                batch = msg.batch
                if first == 0.0:
                    first = time.perf_counter()
                batches += 1
                for e in batch.entries:
                    if e.entry_type != entry.ENTRY_TYPE_ROWDATA or not e.HasField("row_change"):
                        continue
                    change = e.row_change
                    table = e.header.table_name
                    kind = KIND.get(change.event_type, "?")
                    for r in change.row_datas:
                        row_id = None
                        d = 0
                        for columns in (r.before_columns, r.after_columns):
                            for c in columns:
                                if c.omitted:
                                    continue
                                v = c.value
                                d += len(v)
                                if c.name == "id":
                                    row_id = int(v)
                        if table not in counted or rows >= target_rows:
                            continue
                        digest += d
                        rows += 1
                        if (
                            last_run is not None
                            and last_run[0] == table
                            and last_run[1] == kind
                            and row_id == last_run[2] + last_run[3]
                        ):
                            last_run[3] += 1
                        else:
                            last_run = [table, kind, row_id, 1]
                            runs.append(last_run)
                stub.Ack(canal.AckRequest(batch_id=batch.batch_id, session=session, **who), timeout=30)
                last = time.perf_counter()
                if rows >= target_rows:
                    break
        finally:
            responses.cancel()
    if rows < target_rows:
        raise RuntimeError(f"the stream ended after {rows} rows")
    return {
        "ok": True,
        "rows": rows,
        "batches": batches,
        "runs": runs,
        "digest": digest,
        "seconds": last - first,
        "cpuSeconds": time.process_time() - cpu0,
    }


if __name__ == "__main__":
    try:
        result = main()
    except Exception as err:  # noqa: BLE001 - reported to the bench, which fails the run
        result = {
            "ok": False,
            "error": f"{err}\n{traceback.format_exc()}",
            "rows": 0,
            "batches": 0,
            "runs": [],
            "digest": 0,
            "seconds": 0,
            "cpuSeconds": 0,
        }
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.exit(0 if result["ok"] else 1)
