import sys

from kinetics.cli.main import main

sys.exit(main())
