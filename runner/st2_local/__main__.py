import sys

from st2_local.cli import main

sys.exit(main())
