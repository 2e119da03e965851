"""One settings object: environment variables with the CINESTAGE_ prefix, overridden by flags."""

from __future__ import annotations

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
