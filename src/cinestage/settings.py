"""One settings object: environment variables with the CINESTAGE_ prefix, overridden by flags."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CINESTAGE_")

    width: int = 640
    height: int = 360
    # H.264 constant-rate factor and x264 preset for every camera stream.
    crf: int = 20
    preset: str = "veryfast"
    # "auto" tries EGL (p3headlessgl) first, then the software renderer p3tinydisplay.
    display: str = "auto"

    # --- the service (cinestage serve / worker) ---
    # Everything the service keeps goes under data_dir unless database_url / storage_url say otherwise.
    data_dir: str = "cinestage-data"
    database_url: str = ""  # default sqlite:///<data_dir>/cinestage.db; postgresql+psycopg://... for PostgreSQL
    storage_url: str = ""  # default <data_dir>/files; any fsspec URL (s3://bucket/prefix, ...)
    max_upload_mb: float = 512.0
    signup: bool = True  # anyone may create an account with POST /v1/users; false: only `cinestage user add`
    lease_s: float = 60.0  # a task whose server has not heartbeaten for this long goes back to the queue
    executor: str = "auto"  # per-camera work: "process" (local pool), "ray", or "auto" (ray when RAY_ADDRESS is set)

    def database(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir).resolve() / 'cinestage.db'}"

    def storage(self) -> str:
        return self.storage_url or str(Path(self.data_dir).resolve() / "files")
