"""`python -m cinestage`: the same as the `cinestage` command."""

from cinestage.cli.main import main

main()
