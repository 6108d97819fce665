import sys

from pihamno.cli import main

sys.exit(main())
