"""Decoding a body into the API's typed structs: what a real server refuses before admission even runs.

kube-apiserver unmarshals JSON into Go structs, so `spec: 5`, a string where an int32 goes or a list where an
object goes never reach a controller: a create or update answers 400 ("cannot be handled as a Pod"), a patch
whose result does not decode answers 422 on the `patch` field. JSON nulls decode to zero values and are not
stored. The schemas below cover the fields the twin's controllers, scheduler and kubelets read; other fields
pass through as sent.
"""
# exercised by tests/cluster/twin/test_admission.py

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from migrate.cluster.quantity import parse_quantity
from migrate.cluster.twin.resources import ResourceType
from migrate.cluster.twin.status import ApiError, bad_request, invalid

Schema = Any  # a token (str), a struct (dict of field -> Schema) or a list ([Schema])
_INT_RANGE = {"int32": 2**31, "int64": 2**63}
_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"

STRINGS = "map:string"
OWNER_REF = {"apiVersion": "string", "kind": "string", "name": "string", "uid": "string", "controller": "bool",
             "blockOwnerDeletion": "bool"}
OBJECT_META = {"name": "string", "generateName": "string", "namespace": "string", "labels": STRINGS,
               "annotations": STRINGS, "finalizers": ["string"], "ownerReferences": [OWNER_REF],
               "resourceVersion": "string", "uid": "string", "generation": "int64",
               "deletionGracePeriodSeconds": "int64", "creationTimestamp": "time", "deletionTimestamp": "time"}
SELECTOR = {"matchLabels": STRINGS,
            "matchExpressions": [{"key": "string", "operator": "string", "values": ["string"]}]}
RESOURCES = {"requests": "map:quantity", "limits": "map:quantity"}
CONTAINER = {"name": "string", "image": "string", "command": ["string"], "args": ["string"],
             "resources": RESOURCES, "imagePullPolicy": "string",
             "ports": [{"name": "string", "containerPort": "int32", "hostPort": "int32", "protocol": "string"}],
             "env": [{"name": "string", "value": "string"}]}
TOLERATION = {"key": "string", "operator": "string", "value": "string", "effect": "string",
              "tolerationSeconds": "int64"}
CONDITION = {"type": "string", "status": "string", "reason": "string", "message": "string",
             "lastTransitionTime": "time", "lastHeartbeatTime": "time", "lastProbeTime": "time"}
POD_SPEC = {"containers": [CONTAINER], "initContainers": [CONTAINER], "nodeName": "string",
            "nodeSelector": STRINGS, "tolerations": [TOLERATION], "restartPolicy": "string",
            "terminationGracePeriodSeconds": "int64", "hostNetwork": "bool", "schedulerName": "string",
            "serviceAccountName": "string", "priority": "int32", "priorityClassName": "string",
            "volumes": [{"name": "string"}]}
POD_STATUS = {"phase": "string", "conditions": [CONDITION], "podIP": "string", "hostIP": "string",
              "startTime": "time", "containerStatuses": [{"name": "string", "ready": "bool",
                                                          "restartCount": "int32"}]}
TEMPLATE = {"metadata": OBJECT_META, "spec": POD_SPEC}
ROLLING = {"maxSurge": "intstr", "maxUnavailable": "intstr", "partition": "int32"}
WORKLOAD_STATUS = {k: "int32" for k in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
                                        "currentReplicas", "fullyLabeledReplicas", "currentNumberScheduled",
                                        "desiredNumberScheduled", "numberMisscheduled", "numberReady",
                                        "numberAvailable", "updatedNumberScheduled", "active", "succeeded",
                                        "failed")} | {"observedGeneration": "int64"}
_WORKLOAD_SPEC = {"replicas": "int32", "selector": SELECTOR, "template": TEMPLATE, "minReadySeconds": "int32",
                  "revisionHistoryLimit": "int32", "paused": "bool", "progressDeadlineSeconds": "int32",
                  "strategy": {"type": "string", "rollingUpdate": ROLLING},
                  "updateStrategy": {"type": "string", "rollingUpdate": ROLLING},
                  "podManagementPolicy": "string", "serviceName": "string", "parallelism": "int32",
                  "completions": "int32", "backoffLimit": "int32", "activeDeadlineSeconds": "int64"}
SCHEMAS: dict[str, dict[str, Schema]] = {
    "Pod": {"spec": POD_SPEC, "status": POD_STATUS},
    "Node": {"spec": {"taints": [{"key": "string", "value": "string", "effect": "string", "timeAdded": "time"}],
                      "unschedulable": "bool", "podCIDR": "string", "podCIDRs": ["string"],
                      "providerID": "string"},
             "status": {"conditions": [CONDITION], "capacity": "map:quantity", "allocatable": "map:quantity",
                        "addresses": [{"type": "string", "address": "string"}], "nodeInfo": STRINGS}},
    "Service": {"spec": {"type": "string", "clusterIP": "string", "clusterIPs": ["string"], "selector": STRINGS,
                         "ports": [{"name": "string", "port": "int32", "targetPort": "intstr", "protocol": "string",
                                    "nodePort": "int32"}]}},
    "PodDisruptionBudget": {"spec": {"minAvailable": "intstr", "maxUnavailable": "intstr", "selector": SELECTOR,
                                     "unhealthyPodEvictionPolicy": "string"},
                            "status": {k: "int32" for k in ("disruptionsAllowed", "currentHealthy",
                                                            "desiredHealthy", "expectedPods")}},
    "Lease": {"spec": {"holderIdentity": "string", "leaseDurationSeconds": "int32", "acquireTime": "microtime",
                       "renewTime": "microtime", "leaseTransitions": "int32", "strategy": "string",
                       "preferredHolder": "string"}},
    "Namespace": {"spec": {"finalizers": ["string"]}, "status": {"phase": "string"}},
    "ConfigMap": {"data": STRINGS, "binaryData": STRINGS},
    "Secret": {"data": STRINGS, "stringData": STRINGS, "type": "string"},
    "Event": {"involvedObject": {"kind": "string", "name": "string", "namespace": "string", "uid": "string"},
              "reason": "string", "message": "string", "type": "string", "count": "int32"},
}
for _kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
    SCHEMAS[_kind] = {"spec": _WORKLOAD_SPEC, "status": WORKLOAD_STATUS}


class Mismatch(Exception):
    def __init__(self, path: str, value: Any, want: str, detail: str = "") -> None:
        super().__init__(path)
        self.path, self.value, self.want, self.detail = path, value, want, detail

    def text(self, kind: str) -> str:
        if self.detail:
            return self.detail
        number = f"number {self.value}" if _json_type(self.value) == "number" else _json_type(self.value)
        return f"json: cannot unmarshal {number} into Go struct field {kind}.{self.path} of type {self.want}"


def decode(rt: ResourceType, body: Any) -> dict[str, Any]:
    """A create/update body as the server keeps it: nulls dropped, MicroTimes in UTC; 400 when it cannot decode.
    The body must be the caller's own copy: parts that decode to themselves are kept, not copied again."""
    try:
        return _decode(rt, body)
    except Mismatch as bad:
        raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                          f"{bad.text(rt.kind)}") from None


def decode_patched(rt: ResourceType, patched: Any) -> dict[str, Any]:
    """A patch's result: when it does not decode, the API server answers 422 on the `patch` field."""
    try:
        return _decode(rt, patched)
    except Mismatch as bad:
        raise invalid("", "", [("patch", "FieldValueInvalid", f"Invalid value: ...: {bad.text(rt.kind)}")]) from None


_TOP: dict[str, dict[str, Schema]] = {}  # kind -> the schema of its top-level fields, built once


def _decode(rt: ResourceType, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Mismatch("", body, rt.kind, f"json: cannot unmarshal {_json_type(body)} into Go value of type "
                                          f"struct {{ APIVersion string; Kind string }}")
    schema = _TOP.get(rt.kind)
    if schema is None:
        schema = _TOP[rt.kind] = {"metadata": OBJECT_META, **SCHEMAS.get(rt.kind, {"spec": {}, "status": {}})}
    # always a new top level (callers add to it); below it, what decodes to itself is kept, not copied
    return _struct({k: v for k, v in body.items() if v is not None}, schema)


def _check(value: Any, schema: Schema) -> Any:
    """The value as decoded: itself when nothing in it changes (no null to drop, no time to re-encode).
    A Mismatch leaves with its path from here down; each struct above adds its field's name on the way up, so a
    path is only ever built for an error."""
    if type(schema) is dict:
        if not isinstance(value, dict):
            raise Mismatch("", value, "struct")
        return _struct({k: v for k, v in value.items() if v is not None} if None in value.values() else value,
                       schema)
    if type(schema) is list:
        if not isinstance(value, list):
            raise Mismatch("", value, "[]" + _go_name(schema[0]))
        item = schema[0]
        return [_check(v, item) for v in value if v is not None]
    return _scalar(value, schema)


def _struct(value: dict[str, Any], schema: dict[str, Schema]) -> dict[str, Any]:
    """The fields the schema covers, in its order (the first mismatch is the one named); a field that decodes to
    something else goes into a copy, so `value` itself is never changed."""
    out = value
    for name, sub in schema.items():
        if name in value:
            field = value[name]
            try:
                decoded = _check(field, sub)
            except Mismatch as bad:
                bad.path = f"{name}.{bad.path}" if bad.path else name
                raise
            if decoded is not field:
                if out is value:
                    out = dict(value)
                out[name] = decoded
    return out


def _scalar(value: Any, token: str) -> Any:
    if token in ("string", "time", "microtime"):
        if not isinstance(value, str):
            raise Mismatch("", value, "string")
        if token == "microtime":
            if not _MICRO.match(value):
                raise Mismatch("", value, token, f'parsing time "{value}" as "{RFC3339_MICRO}": cannot parse '
                                                 f'"{value[19:]}" as ".000000"')
            return _utc_micro(value)
        if token == "time" and not _TIME.match(value):
            raise Mismatch("", value, token, f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": '
                                             f'cannot parse "{value}" as "2006"')
        return value
    if token == "bool":
        if not isinstance(value, bool):
            raise Mismatch("", value, "bool")
        return value
    if token in _INT_RANGE:
        if isinstance(value, bool) or not isinstance(value, int) or not -_INT_RANGE[token] <= value < _INT_RANGE[token]:
            raise Mismatch("", value, token)
        return value
    if token == "intstr":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise Mismatch("", value, "intstr.IntOrString", "intstr: cannot unmarshal "
                           f"{_json_type(value)} into an int or a string")
        return value
    if token == "quantity":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not _is_quantity(value):
            raise Mismatch("", value, "resource.Quantity", "quantities must match the regular expression "
                           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        return value
    if token.startswith("map:"):
        if not isinstance(value, dict):
            raise Mismatch("", value, _go_name(token))
        entry = token[4:]
        if entry == "string" and None not in value.values():  # nothing to default, nothing to re-encode
            for v in value.values():
                if not isinstance(v, str):
                    raise Mismatch("", v, "string")
            return value
        return {k: _scalar("" if v is None else v, entry) for k, v in value.items()}
    raise ApiError(500, "InternalError", f"twin: unknown schema token {token}")


@lru_cache(maxsize=4096, typed=True)
def _is_quantity(value: int | float | str) -> bool:
    """The same few quantities ("100m", "128Mi") come with every pod a controller creates: each is parsed once."""
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True


def _utc_micro(value: str) -> str:
    """MicroTime is stored as the server re-encodes it: UTC, six fraction digits."""
    if value.endswith("Z"):
        return value
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _go_name(schema: Schema) -> str:
    if isinstance(schema, dict):
        return "struct"
    if isinstance(schema, list):
        return "[]" + _go_name(schema[0])
    return {"map:string": "map[string]string", "map:quantity": "v1.ResourceList", "intstr": "intstr.IntOrString",
            "time": "v1.Time", "microtime": "v1.MicroTime"}.get(schema, schema)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"
