"""/v1/users and /v1/servers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from cinestage.service.accounts import add_user
from cinestage.service.auth import current_caller, current_user
from cinestage.service.context import ApiError, Service, service
from cinestage.service.db import Server, User
from cinestage.service.protocol import Envelope, NewUser, ServerOut, SignUp, UserOut
from cinestage.service.views import ok, server_out, user_out

router = APIRouter()


class SignUpClosed(ApiError):
    status = 403


@router.post("/v1/users", status_code=201, response_model=Envelope[NewUser], tags=["users"])
def sign_up(body: SignUp, svc: Service = Depends(service)):
    """A new user; the token in the answer is shown once (only its hash is kept)."""
    if not svc.settings.signup:
        raise SignUpClosed("POST /v1/users", "sign-up is closed on this server; ask its operator for an account")
    user, token = add_user(svc.sessions, body.name)
    return ok(NewUser(**user_out(user).model_dump(), token=token))


@router.get("/v1/users/me", response_model=Envelope[UserOut], tags=["users"])
def me(user: User = Depends(current_user)):
    return ok(user_out(user))


@router.get("/v1/servers", response_model=Envelope[list[ServerOut]], tags=["servers"])
def servers(_caller: User | Server = Depends(current_caller), svc: Service = Depends(service)):
    """Every render server with its last contact (`last_time`)."""
    with svc.sessions() as session:
        return ok([server_out(s) for s in session.scalars(select(Server).order_by(Server.id))])
