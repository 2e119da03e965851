"""`cinestage server add` and `cinestage user add`: the printed secrets sign in to the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cinestage.cli.main import app as cli
from cinestage.service.api import create_app
from cinestage.settings import Settings


def test_server_and_user_add(tmp_path, monkeypatch):
    monkeypatch.setenv("CINESTAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CINESTAGE_DATABASE_URL", raising=False)
    runner = CliRunner()
    server = runner.invoke(cli, ["server", "add", "gpu-box"])
    user = runner.invoke(cli, ["user", "add", "dana"])
    assert server.exit_code == 0 and user.exit_code == 0, (server.output, user.output)
    server_id, credential = re.search(r"server_id: (\w+)\ncredential: (\S+)", server.stdout).groups()
    openid, token = re.search(r"openid: (\w+)\ntoken: (\S+)", user.stdout).groups()
    with TestClient(create_app(Settings())) as client:
        me = client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json()["data"]
        assert (me["openid"], me["name"]) == (openid, "dana")
        servers = client.get("/v1/tasks?all=0", headers={"Authorization": f"Bearer {credential}",
                                                          "AFS-SERVER-ID": server_id})
        assert servers.status_code == 200
    bad = runner.invoke(cli, ["user", "add", "   "])
    assert bad.exit_code == 2 and "a name needs 1 to 120 characters" in bad.output
