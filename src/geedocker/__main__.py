from geedocker.cli.main import main
from geedocker.entrypoint import run_main

run_main(main)
