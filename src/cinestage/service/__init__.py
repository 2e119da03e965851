"""The cinestage service: the paper's /v1 REST API, users, database, storage, render workers,
the distributed executor and the web app. Nothing outside this package knows about HTTP or SQL."""
