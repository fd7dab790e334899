"""The API's response models (pydantic, at the edge: no ORM object leaves the server)
and the JSON schema of the pushed payload shown in ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field

__all__ = ["RunOut", "RunList", "RunDetail", "IngestOut", "MeOut", "SummaryGroup",
           "SummaryOut", "ErrorOut", "PAYLOAD_SCHEMA", "ERRORS", "FORBIDDEN",
           "json_errors"]


class ErrorOut(BaseModel):
    detail: Any = Field(description="what was wrong, in words")


class RunOut(BaseModel):
    id: str
    name: Optional[str]
    project: str = Field(description="the server project (the pushing token's)")
    local_project: Optional[str] = Field(description="the run's project in its local "
                                         "ledger, when it differs")
    user: Optional[str]
    host: str
    status: str
    started_at: str = Field(description="ISO 8601, UTC")
    ended_at: Optional[str]
    duration_s: float
    energy_j: float = Field(description="IT energy of the counted devices (see basis)")
    energy_low_j: float
    energy_high_j: float
    basis: str = Field(description="measured, modelled, mixed or none")
    measured_energy_j: float = Field(description="the part of energy_j measured by sensors")
    facility_energy_j: float = Field(description="energy_j x PUE (estimated)")
    co2e_g: float = Field(description="CO2e, location-based (estimated)")
    co2e_market_g: float = Field(description="CO2e, market-based (estimated)")
    cost: Optional[float] = Field(description="facility energy x price (null: no price)")
    currency: Optional[str]
    water_l: Optional[float] = Field(description="water, on-site + off-site (estimated)")
    accelerator: str
    zone: Optional[str]
    tags: list[str]
    job: Optional[str] = Field(description="distributed job id, when the run is a part")
    complete: bool = Field(description="every pushed chunk of the run has arrived")


class RunList(BaseModel):
    runs: list[RunOut]
    next_cursor: Optional[str] = Field(description="pass as cursor= for the next page; "
                                       "null on the last page")


class PowerSeries(BaseModel):
    device: int
    name: str
    t: list[float] = Field(description="seconds from the run's start")
    power_w: list[float]


class RunDetail(RunOut):
    command: Optional[list[str]]
    mode: Optional[str]
    exit_code: Optional[int]
    end_reason: Optional[str]
    warnings: list[str]
    settings: dict[str, Any]
    devices: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    counters: dict[str, float]
    accounting: dict[str, Any] = Field(description="zone, PUE, intensities and sources")
    power: list[PowerSeries] = Field(description="downsampled power per device (measured "
                                     "or modelled as the device's kind says)")


class IngestOut(BaseModel):
    id: str
    chunk: int
    complete: bool
    digest: str


class MeOut(BaseModel):
    role: str = Field(description="admin, write or read")
    project: Optional[str] = Field(description="null for an admin token")
    token: str = Field(description="the token's prefix")


class SummaryGroup(BaseModel):
    key: Optional[str]
    runs: int
    energy_j: float
    facility_energy_j: float
    co2e_g: float
    co2e_market_g: float
    cost: Optional[float] = Field(description="null when no run has a price, or the "
                                  "runs' currencies differ")
    currency: Optional[str] = Field(description="'mixed' when the runs' currencies differ")
    water_l: float
    measured_share: float = Field(description="share of energy_j measured by sensors")


class SummaryOut(BaseModel):
    group_by: str
    groups: list[SummaryGroup]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no token, or an unknown or revoked one"},
    422: {"model": ErrorOut, "description": "a parameter or body that breaks its rule"},
}

FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "a project filter naming another project "
          "than the token's"}}



def json_errors(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The same error responses, documented as JSON on a route whose own responses are
    another media type (HTML pages answer errors in JSON)."""
    schema = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}
    return {code: {"description": r["description"],
                   "content": {"application/json": {"schema": schema}}}
            for code, r in responses.items()}


_NUM = {"type": "number"}
_STR = {"type": "string"}
PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "one chunk of a run payload, format wattprint.run/1 (wattprint.wire)",
    "required": ["format", "digest", "chunk", "run"],
    "properties": {
        "format": {"type": "string", "enum": ["wattprint.run/1"]},
        "digest": {"type": "string", "pattern": "^[0-9a-f]{16,128}$"},
        "chunk": {"type": "object", "required": ["index", "count"], "properties": {
            "index": {"type": "integer", "minimum": 0},
            "count": {"type": "integer", "minimum": 1}}},
        "run": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-z][0-9a-z_.-]{0,63}$"},
            "name": _STR, "project": _STR, "user": _STR, "host": _STR, "status": _STR,
            "started_at": _STR, "ended_at": _STR, "duration_s": _NUM, "energy_j": _NUM,
            "zone": _STR, "tags": {"type": "array", "items": _STR},
            "settings": {"type": "object"}}},
        "devices": {"type": "array", "items": {"type": "object"}},
        "phases": {"type": "array", "items": {"type": "object"}},
        "counters": {"type": "object", "additionalProperties": _NUM},
        "power": {"type": "array", "items": {"type": "object", "properties": {
            "device": {"type": "integer"}, "t": {"type": "array", "items": _NUM},
            "power_w": {"type": "array", "items": _NUM},
            "energy_j": {"type": "array", "items": _NUM}}}},
    },
}
