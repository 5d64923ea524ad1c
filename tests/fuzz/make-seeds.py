#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).

Seeds are valid or nearly valid inputs the fuzzer mutates from: every
framing of an InferenceResult (JSON, single-object Avro, Confluent with each
writer schema fuzz_codec.c's registry serves), the pipeline's own messages,
and bearer tokens. Crashes found later are added to the same directories by
hand (named crash-<what>), never rewritten by this script. Pure Python; the
Avro encoding is tests/fixtures/codec/make-fixtures.py's.
"""
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "fixtures", os.path.join(HERE, "..", "fixtures", "codec", "make-fixtures.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)


def confluent(schema_id, body):
    return b"\x00" + struct.pack(">i", schema_id) + body


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def codec_seeds():
    body = fx.inference_v2(1280, 720)  # the bundled schema, version 2
    write("codec", "single_object", fx.single(body, fx.FP_INFERENCE_V2))
    write("codec", "single_object_v1", fx.single(fx.inference()))  # an older producer
    write("codec", "confluent_1_bundled", confluent(1, body))
    reordered = (fx.string("fall") + fx.string("cam-1") + fx.string("gpu0") + fx.string("m")
                 + fx.long(1795000000000000) + fx.double(0.9))
    write("codec", "confluent_2_reordered", confluent(2, reordered))
    other = (fx.string("cam-1") + fx.string("m") + fx.long(1795000000000000) + fx.string("fall")
             + struct.pack("<f", 0.75) + fx.long(1) + fx.box() + fx.long(0)
             + fx.long(1) + fx.string("zone") + fx.string("a") + fx.long(0) + fx.opt(None))
    write("codec", "confluent_3_other_producer", confluent(3, other))
    nested = (fx.string("cam-1") + fx.string("m") + fx.long(1795000000000000) + fx.string("fall")
              + fx.long(2) + fx.long(1) + fx.long(1) + b"abc" + fx.long(1) + fx.string("k")
              + fx.string("v") + fx.long(0) + fx.long(0) + fx.long(1) + fx.long(0) + fx.long(0)
              + fx.long(0) + fx.double(0.5))
    write("codec", "confluent_4_nested", confluent(4, nested))
    write("codec", "confluent_unknown_id", confluent(99, body))
    write("codec", "json_minimal", json.dumps({
        "camera_id": "cam-1", "model_id": "fall_detection", "timestamp": "2026-01-13T10:30:00.000Z",
        "event_type": "fall", "confidence": 0.91}))
    write("codec", "json_full", json.dumps({
        "camera_id": "cam-1", "model_id": "ppe", "timestamp": "2026-01-13T10:30:00Z",
        "event_type": "no_helmet", "confidence": 0.8, "frame_id": "f-7", "stream_id": "s-1",
        "model_version": "1.2.0", "inference_ms": 12.5,
        "bounding_boxes": [{"x": 10, "y": 20, "width": 30, "height": 40, "label": "person",
                            "confidence": 0.8}],
        "attributes": {"zone": "dock"}, "result_id": "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab"}))


def msgs_seeds():
    # First byte odd: EvidenceRequest; even: ViolationChange (fuzz_codec_msgs.c).
    write("codec_msgs", "evidence_request_json", b"\x01" + json.dumps({
        "violation_id": "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab", "camera_id": "cam-1",
        "stream_id": None, "kind": "bookmark", "center_timestamp": 1795000000000000,
        "before_seconds": 5, "after_seconds": 10, "attempt": 1}).encode())
    write("codec_msgs", "violation_change_json", b"\x00" + json.dumps({
        "violation_id": "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab", "change": "opened",
        "occurred_at": 1795000000000000, "version": 1}).encode())


def ingest_seeds():
    one = {"camera_id": "cam-1", "model_id": "fall_detection",
           "timestamp": "2026-01-13T10:30:00.000Z", "event_type": "fall", "confidence": 0.91}
    write("ingest_items", "one_object", json.dumps(one))
    write("ingest_items", "batch_of_three", json.dumps([one, dict(one, camera_id="cam-2"),
                                                        dict(one, note="a \"quoted\" ],{")]))
    write("ingest_items", "batch_with_non_object", '[{"camera_id":"c"}, 7, "x", [1,[2]], null]')
    write("ingest_items", "empty_batch", "[]")


def cursor_seeds():
    # First byte: the sort column's kind (fuzz_cursor.c); the rest: the cursor.
    row = "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab"
    for name, kind, key in (("micros", "i", "1764000000000000"), ("confidence", "f", "0.875"),
                            ("text", "s", "open"), ("overflow", "i", "9223372036854775807"),
                            ("underflow", "f", "1e-400")):
        write("cursor", name, kind + b64(("created_at|%s|%s" % (key, row)).encode()))


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_seeds():
    key = b"fuzz-signing-key-0123456789abcdef"  # fuzz_jwt.c's KEY
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    for name, claims in {
        "valid_operator": {"sub": "op-1", "role": "operator", "exp": 1764003600,
                           "iat": 1764000000},
        "expired": {"sub": "op-1", "role": "viewer", "exp": 1700000000},
        "huge_exp": {"sub": "a", "role": "admin", "exp": 9223372036854775807},
        "no_role": {"sub": "a", "exp": 1764003600},
    }.items():
        signing = head + "." + b64(json.dumps(claims).encode())
        sig = b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())
        write("jwt", name, signing + "." + sig)
    write("jwt", "alg_none", b64(b'{"alg":"none"}') + "." + b64(b'{"sub":"a","role":"admin"}') + ".")


if __name__ == "__main__":
    codec_seeds()
    msgs_seeds()
    ingest_seeds()
    cursor_seeds()
    jwt_seeds()
