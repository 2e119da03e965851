"""Bad input at scale: schemathesis generates requests from the OpenAPI schema (valid and
invalid, with real credentials and, half the time, real object ids), and our own generator
sends malformed uploads, truncated bodies, huge numbers, wrong types, unknown ids and path
tricks. No request may get a 5xx, and afterwards the storage holds no partial file and the
database no row pointing at a missing file (SQLite only, to stay quick)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from service_support import BVH, PERFORMANCE, data, new_task, report, storage_problems, upload

EXAMPLES = 30  # per operation and generation mode: 19 operations x 2 modes x 30 > 1000 requests
SERVER_ONLY = {"POST /v1/tasks/{task_id}", "PUT /v1/tasks/{task_id}/files/{path}"}
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
OWN = settings(HYPOTHESIS, max_examples=80)  # our generators: 80 x 13 requests


@pytest.fixture
def database(tmp_path):
    return f"sqlite:///{tmp_path / 'cinestage.db'}"


@pytest.fixture
def seeded(client, alice, server, clip, tiny_video):
    """Real objects for the generated requests to hit: uploads, a queued and a running task with a file."""
    perf = data(upload(client, alice, PERFORMANCE, "p.yaml", "performance"), 201)["vid"]
    running = new_task(client, alice, vid=clip["vid"], performance_vid=perf)
    data(report(client, server, running, 1))
    data(client.put(f"/v1/tasks/{running}/files/best.mp4", headers=server.headers, content=tiny_video))
    return {"vid": [clip["vid"], perf], "task_id": [running, new_task(client, alice, task_type="demo")]}


def test_schemathesis_finds_no_server_error(app, alice, server, seeded):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent, statuses = 0, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans(), as_server=st.booleans(),
                   pick=st.integers(0, 1))
            @HYPOTHESIS
            def call(case, real, as_server, pick):
                nonlocal sent
                if real:
                    for name in set(case.path_parameters or {}) & set(seeded):
                        case.path_parameters[name] = seeded[name][pick]
                who = server if operation.label in SERVER_ONLY or as_server else alice
                case.headers = {**(case.headers or {}), **who.headers}
                response = case.call()
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                case.validate_response(response, checks=[not_a_server_error])

            call()
    print(f"schemathesis: {sent} requests, answers {dict(sorted(statuses.items()))}")
    assert sent >= 1000, sent
    assert storage_problems(app) == []


# --- our own malformed requests ------------------------------------------------------------

NUMBERS = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["1e999", "NaN", "-0", "0x10", "", " 1", "1_000", "9" * 400]))
NAMES = st.one_of(st.text(max_size=40), st.sampled_from(["../../x.mp4", "/etc/passwd", "a\x00b.mp4", "..", ".", "",
                                                         "C:\\win.mp4", "x/../../y.mp4", "%2e%2e%2fz", "\u202e4pm.exe"]))
JSON_VALUES = st.recursive(st.none() | st.booleans() | NUMBERS.filter(lambda v: not isinstance(v, str)) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=12)
TASK_FIELDS = st.dictionaries(st.sampled_from(["task_type", "vid", "performance_vid", "camera_parameter", "extra"]),
                              JSON_VALUES | st.sampled_from(["shoot", "demo"]), max_size=4)
URLS = st.sampled_from(["/v1/videos", "/v1/videos/{vid}", "/v1/videos/{vid}/file", "/v1/videos/{vid}/thumb",
                        "/v1/delvideos?vid={vid}", "/v1/tasks", "/v1/tasks/{task_id}", "/v1/tasks/{task_id}/files",
                        "/v1/tasks/{task_id}/files/{name}", "/v1/deltasks?task_id={task_id}", "/v1/users/me", "/v1/servers",
                        "/v1/tasks?all={n}&offset={n}&limit={n}", "/v1/videos?offset={n}&limit={n}"])


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "fuzzboundary") -> bytes:
    out = b""
    for name, filename, body in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode("utf-8", "replace") + body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_malformed_requests_never_break_anything(app, client, alice, server, seeded, tiny_video):
    sent = 0
    statuses: dict[int, int] = {}

    def send(method, url, who=alice, **kwargs):
        nonlocal sent
        response = client.request(method, url, headers={**who.headers, **kwargs.pop("headers", {})}, **kwargs)
        sent += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (method, url, response.status_code, response.text)
        if response.headers.get("content-type") == "application/json" and method != "head":
            assert set(response.json()) == {"code", "message", "data"}
        return response

    multipart = {"Content-Type": "multipart/form-data; boundary=fuzzboundary"}

    @given(body=st.binary(max_size=4096), cut=st.integers(0, len(tiny_video)), name=NAMES,
           kind=st.sampled_from(["clip", "performance", "motion", "", "CLIP", "x" * 300]))
    @OWN
    def uploads(body, cut, name, kind):
        send("post", "/v1/videos", headers=multipart, content=body)  # garbage multipart
        send("post", "/v1/videos", headers=multipart,  # a truncated body
             content=_multipart([("kind", None, kind.encode()), ("file", name, tiny_video)])[: cut + 120])
        send("post", "/v1/videos", files={"file": (name, tiny_video[:cut])}, data={"kind": kind})  # a cut-off clip
        send("post", "/v1/videos", files={"file": (name, body)}, data={"kind": kind})
        send("post", "/v1/videos", files={"file": (name, PERFORMANCE + body)}, data={"kind": "performance"})
        send("post", "/v1/videos", files={"file": (name, BVH[:cut % len(BVH)])}, data={"kind": "motion"})

    @given(fields=TASK_FIELDS, raw=st.binary(max_size=300), status=JSON_VALUES, progress=NUMBERS)
    @OWN
    def bodies(fields, raw, status, progress):
        task_id = seeded["task_id"][0]
        json_type = {"Content-Type": "application/json"}
        send("post", "/v1/tasks", content=json.dumps(fields, allow_nan=True).encode(), headers=json_type)
        send("post", "/v1/tasks", content=raw, headers=json_type)
        send("post", "/v1/users", content=raw, headers=json_type)
        send("post", f"/v1/tasks/{task_id}", who=server, headers=json_type,
             content=json.dumps({"status": status, "progress": progress if not isinstance(progress, str) else None,
                                 "return_msg": fields}, allow_nan=True).encode())
        send("post", f"/v1/tasks/{task_id}", who=server, content=raw, headers=json_type)

    @given(url=URLS, ident=st.one_of(st.sampled_from(seeded["vid"] + seeded["task_id"]), st.text(max_size=40),
                                     st.sampled_from(["0" * 32, "x" * 5000, "%00", "..", "%2e%2e", "%2F"])),
           name=NAMES, n=NUMBERS, method=st.sampled_from(["get", "delete", "put", "post", "patch", "head", "options"]),
           as_server=st.booleans(), payload=st.binary(max_size=2048))
    @OWN
    def urls(url, ident, name, n, method, as_server, payload):
        # Control characters are percent-encoded (a client cannot send them raw); '..', '/', '%' stay.
        ident, name = quote(ident, safe="/%"), quote(name, safe="/%")
        path = url.format(vid=ident, task_id=ident, name=name, n=quote(str(n)))
        who = server if as_server else alice
        content = payload if method in ("put", "post", "patch") else None
        send(method, path, who=who, content=content)
        send("put", f"/v1/tasks/{seeded['task_id'][0]}/files/{name}", who=server, content=payload)

    uploads()
    bodies()
    urls()
    print(f"own malformed requests: {sent}, answers {dict(sorted(statuses.items()))}")
    assert sent >= 1000, sent
    assert storage_problems(app) == []
    assert all(200 <= status < 500 for status in statuses), statuses
