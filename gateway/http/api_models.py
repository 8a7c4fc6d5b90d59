"""The API's request and response shapes (they are the OpenAPI schema at /api/openapi.json).

Place in the flow: the JSON edge of the same services the console calls. Every string a client
sends is bounded and free of NUL characters (PostgreSQL cannot store them), and every number
fits the database's integers, so a bad request is a 422 with a message, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from gateway.http.actions import PostAction, TriageAction
from workflows.domain import Family, Severity
from workflows.outbound.files import MAX_FILES

NO_NUL = r"^[^\x00]*$"
Line = Annotated[str, StringConstraints(max_length=320, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=100_000, pattern=NO_NUL)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NO_NUL)]
Number = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_NUL)]
PageNo = Annotated[int, Field(ge=1, le=100_000)]
PerPage = Annotated[int, Field(ge=1, le=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    """Every error: ``{"error": {"status": 404, "message": "no case CASE-9"}}``."""

    error: ErrorDetail


class Pagination(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int
    next: str | None = Field(description="the next page's URL, or null on the last page")


class Me(BaseModel):
    email: str
    role: str
    permissions: list[str]


class CaseItem(BaseModel):
    number: str
    subject: str
    organization: str
    status: str
    severity: str
    escalated: bool
    updated_at: dt.datetime
    owner: str | None = None
    unread: bool = Field(False, description="a customer replied since the owner last opened it")
    waiting_on: str | None = Field(None, description="us (open), customer (awaiting info, "
                                   "solution proposed), null (closed)")
    next_deadline: dt.datetime | None = Field(None, description="the earlier due time of the "
                                              "running SLA clocks")


class CaseList(BaseModel):
    items: list[CaseItem]
    pagination: Pagination


class NewCase(Strict):
    organization: Line
    contact: Line
    subject: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
    family: Family = Family.CASE
    severity: Severity = Severity.MEDIUM
    type: Annotated[str, StringConstraints(min_length=1, max_length=64,
                                           pattern=r"^[a-z0-9_-]+$")] = "support"


# A bound on the JSON, not the limit: the domain refuses files over the configured size
# (``post_file_max_bytes``, 10 MB by default) with a 409 that says so.
MAX_BASE64 = 64 * 1024 * 1024


def decode_base64(value: str) -> bytes:
    """Standard base64 (RFC 4648 4); line breaks and spaces, as in MIME, are ignored."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except binascii.Error:
        raise ValueError("not valid base64 (RFC 4648, standard alphabet, padded)") from None


class NewAttachment(Strict):
    """A file sent with the update, its bytes in base64."""

    filename: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
    content_base64: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BASE64),
                              Field(json_schema_extra={"contentEncoding": "base64"})]
    content_type: Line | None = Field(
        None, description="what the client says the file is: labels the mail part only when "
                          "the bytes and the name tell nothing (the desk decides the type)")

    @field_validator("content_base64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        decode_base64(value)
        return value

    def data(self) -> bytes:
        return decode_base64(self.content_base64)


class NewUpdate(Strict):
    body: Body
    action: PostAction = PostAction.POST
    attachments: list[NewAttachment] = Field(
        default_factory=list, max_length=MAX_FILES,
        description="files mailed with the update and kept on the case (10 MB each and 20 MB "
                    "in all by default; an empty or larger file is refused with 409)")
    cc: list[Line] = Field(default_factory=list, max_length=20,
                           description="addresses copied on the thread: this post and every "
                           "later one (a malformed address is 422)")


class CloseBody(Strict):
    cancelled: bool = False


class CaseResultOut(BaseModel):
    number: str
    status: str
    message_id: str | None = None
    sent: bool | None = None


class SentFileOut(BaseModel):
    id: int = Field(description="download it at /cases/{number}/attachments/{id} (console)")
    filename: str
    content_type: str
    size: int
    sha256: str


class PostResultOut(CaseResultOut):
    attachments: list[SentFileOut] = Field(default_factory=list)


class UpdateOut(BaseModel):
    id: int
    kind: str
    direction: str
    author: str
    visible_text: str
    created_at: str | None


class TriageItemOut(BaseModel):
    id: int
    reason: str
    why: str
    state: str
    sender: str | None
    subject: str | None
    mailbox: str
    message_id: str | None
    suggested_case: str | None
    organization: str | None
    created_at: dt.datetime
    trace: list[str]
    notice: str | None = None  # the notice an inquiry asks about


class TriageList(BaseModel):
    items: list[TriageItemOut]
    counts: dict[str, int]
    pagination: Pagination


class AttachmentOut(BaseModel):
    index: int
    filename: str
    content_type: str
    size: int


class TriageDetailOut(TriageItemOut):
    visible_reply: str
    text: str
    headers: list[tuple[str, str]]
    attachments: list[AttachmentOut]


class LinkBody(Strict):
    case: Number
    flip_status: bool = True


class ReopenBody(Strict):
    case: Number | None = None


class ReplyBody(Strict):
    body: Body


class BlockBody(Strict):
    reason: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] = ""


class TriageResultOut(BaseModel):
    item_id: int
    action: TriageAction
    case: str | None
    status: str | None
    message_id: str | None = None
    sent: bool | None = None


class OrganizationOut(BaseModel):
    name: str
    domains: list[str]
    timezone: str
    country: str | None
    notify: list[str]


class OrganizationList(BaseModel):
    items: list[OrganizationOut]
    pagination: Pagination


class ContactOut(BaseModel):
    email: str
    name: str
    organization: str
    designated: bool


class ContactList(BaseModel):
    items: list[ContactOut]
    pagination: Pagination


class NoticeOut(BaseModel):
    reference: str
    kind: str
    state: str
    title: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    organizations: list[str]
    deliveries: dict[str, int]
    created_at: dt.datetime
    sent_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    resolved_at: dt.datetime | None


class NoticeList(BaseModel):
    items: list[NoticeOut]
    pagination: Pagination
