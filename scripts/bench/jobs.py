"""Driver of scripts/bench-jobs: starts `ocrlty worker` processes against the API replica and
the database the script set up, submits jobs over HTTP and reads the database's timestamps
back from GET /v1/jobs/{id}."""

import datetime
import glob
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

API, DOCS, BIN, TMP = sys.argv[1:5]
N = int(os.environ.get("BENCH_JOBS", "30"))
SEQ = int(os.environ.get("BENCH_SEQUENTIAL", "40"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def submit(name, data):
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"{API}/v1/jobs",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(req) as r:
        assert r.status == 202, r.status
        return json.load(r)["job_id"]


def job(job_id):
    with urllib.request.urlopen(f"{API}/v1/jobs/{job_id}") as r:
        return json.load(r)


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def start_worker(i):
    log_path = f"{TMP}/worker-{i}-{uuid.uuid4().hex[:6]}.log"
    log = open(log_path, "w")
    p = subprocess.Popen(
        [BIN, "worker", "--host", "127.0.0.1", "--threads", "1", "--workers", "1",
         "--health-port", "0"],
        stderr=log,
    )
    deadline = time.time() + 60
    url = None
    while time.time() < deadline and url is None:
        for line in open(log_path):
            if "listening on http://" in line:
                url = "http://" + line.split("listening on http://")[1].split()[0].strip('"')
        time.sleep(0.05)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz") as r:
                if r.status == 200:
                    return p
        except Exception:
            pass
        time.sleep(0.1)
    p.kill()
    sys.exit(f"bench-jobs: worker {i} never became ready (log {log_path})")


def wait_all(ids, timeout=1800):
    deadline = time.time() + timeout
    done = {}
    while len(done) < len(ids):
        for j in ids:
            if j not in done:
                v = job(j)
                if v["status"] in ("succeeded", "failed", "cancelled"):
                    done[j] = v
        if time.time() > deadline:
            sys.exit("bench-jobs: jobs did not end in time")
        time.sleep(0.05)
    return [done[j] for j in ids]


def throughput(workers, docs):
    procs = [start_worker(i) for i in range(workers)]
    try:
        ids = [submit(os.path.basename(d), open(d, "rb").read()) for d in docs]
        jobs = wait_all(ids)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    failed = [j for j in jobs if j["status"] != "succeeded"]
    if failed:
        sys.exit(f"bench-jobs: {len(failed)} jobs did not succeed: {failed[0]}")
    span = max(ts(j["finished_at"]) for j in jobs) - min(ts(j["started_at"]) for j in jobs)
    return len(jobs) / span, span


docs = sorted(glob.glob(f"{DOCS}/*.jpg"))[:N]
print(f"{len(docs)} SROIE dev receipts; each worker: 1 worker loop, 1 OCR thread")
rates = {}
for w in (1, 2):
    rate, span = throughput(w, docs)
    rates[w] = rate
    print(f"BENCH jobs workers={w} docs={len(docs)} seconds={span:.2f} docs_per_s={rate:.3f}")
print(f"BENCH jobs speedup_2_over_1={rates[2] / rates[1]:.2f}")

# Queue overhead: one job at a time to an idle worker (a text-layer PDF, read in milliseconds).
pdf = open(f"{ROOT}/samples/invoice-muster-buerobedarf.pdf", "rb").read()
proc = start_worker(9)
try:
    overheads = []
    for i in range(SEQ):
        j = submit(f"seq-{i}.pdf", pdf + f"\n% seq {i}\n".encode())
        v = wait_all([j])[0]
        overheads.append((ts(v["started_at"]) - ts(v["created_at"])) * 1000)
        time.sleep(0.05)
finally:
    proc.terminate()
    proc.wait()
overheads.sort()
p95 = overheads[min(len(overheads) - 1, int(len(overheads) * 0.95))]
print(
    f"BENCH jobs queue_overhead_ms p50={statistics.median(overheads):.1f} p95={p95:.1f} "
    f"max={overheads[-1]:.1f} (submit to claim, {len(overheads)} jobs, database clock)"
)
