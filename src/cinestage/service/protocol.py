"""The /v1 protocol as typed bodies: what the API accepts and returns, and what a remote render
server sends. The API (service/api.py) and the HTTP worker backend (service/worker_http.py)
both import these, so the two sides cannot drift apart.

Every response is the paper's envelope `{"code": 0, "message": "ok", "data": ...}`; an error is
`{"code": <HTTP status>, "message": "<input>: <problem>", "data": null}` with that HTTP status.

Authentication:
- users: `Authorization: Bearer <token>` (the token `POST /v1/users` returned once);
- render servers: `Authorization: Bearer <credential>` plus `AFS-SERVER-ID: <server_id>`
  (`cinestage server add NAME` creates both).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SERVER_HEADER = "AFS-SERVER-ID"
T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    code: int = 0
    message: str = "ok"
    data: T | None = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- users ---------------------------------------------------------------------------------

class SignUp(Strict):
    name: str = Field(min_length=1, max_length=120)


class UserOut(BaseModel):
    openid: str
    name: str
    created_time: datetime


class NewUser(UserOut):
    token: str  # shown once; only its hash is stored


# --- videos (every upload: reference clips, performance files, BVH motions) ----------------

VideoKindName = Literal["clip", "performance", "motion"]


class VideoOut(BaseModel):
    vid: str
    video_link: str  # download URL (relative to the API root)
    size: float  # bytes
    duration: float  # seconds; 0 for performance and motion files
    thumb: str  # thumbnail URL, "" when there is none
    upload_time: datetime
    openid: str
    kind: VideoKindName
    filename: str


# --- tasks --------------------------------------------------------------------------------

TaskType = Literal["shoot", "demo"]


class CameraParameter(Strict):
    """What to shoot. `shoot` needs the reference clip (`vid`); the performance is an uploaded
    performance file (`performance_vid`, its BVH motions uploaded as `motion` files by the
    same user) or, without one, the built-in duet of `duration` seconds."""

    width: int = Field(384, ge=64, le=1920)
    height: int = Field(216, ge=64, le=1080)
    duration: float = Field(10.0, ge=2.0, le=120.0)
    fps: float = Field(25.0, ge=5.0, le=60.0)
    presets: list[str] | None = Field(None, max_length=16)  # preset rig names; None = the demo's six
    highlights: int = Field(3, ge=0, le=10)


class NewTask(Strict):
    task_type: TaskType = "shoot"
    vid: str | None = Field(None, max_length=64)
    performance_vid: str | None = Field(None, max_length=64)
    camera_parameter: CameraParameter = Field(default_factory=CameraParameter)


class TaskCreated(BaseModel):
    task_id: str


class TaskOut(BaseModel):
    task_id: str
    task_type: str
    status: int  # db.Status: 0 queued, 1 running, 2 done, 3 failed, 4 cancelled
    progress: float  # percent
    results: dict[str, Any]  # return_msg as data: result files (name -> URL) or {"error": ...}
    vid: str | None
    performance_vid: str | None
    camera_parameter: dict[str, Any]
    command: str
    created_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    video_download_link: str | None  # the chosen camera's video, once done
    attempts: int
    server_id: str | None


class TaskPage(BaseModel):
    total: int
    offset: int
    limit: int
    tasks: list[TaskOut]


class VideoPage(BaseModel):
    total: int
    offset: int
    limit: int
    videos: list[VideoOut]


class Report(Strict):
    """POST /v1/tasks/{task_id} from a render server. status 1: claim the task (409 when another
    server holds it) or, when already held, a heartbeat carrying progress; 2 or 3: finish it with
    `return_msg` (result files, or {"error": ...}); 0: give it back to the queue (a server
    shutting down), keeping the files stored so far. Only the server holding the lease may report."""

    status: Literal[0, 1, 2, 3]
    progress: float | None = Field(None, ge=0.0, le=100.0)
    return_msg: dict[str, Any] = Field(default_factory=dict)


class ServerOut(BaseModel):
    server_id: str
    name: str
    last_time: datetime | None
    created_time: datetime


class VideoDeleted(BaseModel):
    vid: str


class TaskDeleted(BaseModel):
    task_id: str
    cancelled: bool  # True: the task was running; it is now status 4 and its server's next report gets 409


class FileStored(BaseModel):
    path: str  # relative to the task's result folder
    size: int  # bytes
