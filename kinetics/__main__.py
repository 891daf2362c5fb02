import sys

from kinetics.cli.main import main

if __name__ == "__main__":  # spawned pool workers must not run the CLI again (see kinetics.executors.main_guard)
    sys.exit(main())
